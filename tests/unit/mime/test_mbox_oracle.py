"""The MimeKit mbox oracles: entity offsets and MIME trees, LF and CRLF.

``*.unix-offsets.json`` / ``*.dos-offsets.json`` give, for every message of
an mbox and every entity inside it, where its headers start, where its body
starts and where it ends (the line break before a delimiter belongs to the
delimiter, RFC 2046 §5.1.1), and ``*-summary.txt`` the tree of content types.
The messages are cut out of the mbox by their ``From `` lines (RFC 4155: the
line break before a ``From `` line belongs to the separator).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mailwire import mime
from mailwire.mime.entity import Entity
from tests.unit.mime.corpus import MIMEKIT

MBOX = MIMEKIT / "mbox"
pytestmark = pytest.mark.skipif(not MBOX.is_dir(), reason="shared corpora not beside the checkout")
NAMES = ["content-length", "issue1189"]


def _messages(name: str, dos: bool) -> tuple[bytes, list[dict[str, Any]]]:
    data = (MBOX / f"{name}.mbox.txt").read_bytes()
    if dos:
        data = data.replace(b"\n", b"\r\n")
    kind = "dos" if dos else "unix"
    oracle = json.loads((MBOX / f"{name}.{kind}-offsets.json").read_text())
    return data, oracle


def _compare(entity: Entity, base: int, expected: dict[str, Any], path: str) -> None:
    assert entity.start + base == expected["beginOffset"], path
    assert entity.body_start + base == expected["headersEndOffset"], path
    assert entity.end + base == expected["endOffset"], path
    if "mimeType" in expected:
        assert entity.content_type == expected["mimeType"].lower(), path
    if "octets" in expected:
        assert entity.end - entity.body_start == expected["octets"], path
    if "body" in expected:  # a message: its body entry describes the same entity
        return
    children = expected.get("children")
    if children is not None:
        assert len(entity.parts) == len(children), path
        for index, (part, child) in enumerate(zip(entity.parts, children, strict=True)):
            _compare(part, base, child, f"{path}.{index + 1}")
    elif "message" in expected:
        [inner] = entity.parts
        _compare(inner, base, expected["message"], f"{path}.message")
        _compare(inner, base, expected["message"]["body"], f"{path}.message.body")
        return
    else:
        assert entity.parts == [], path


def _issue1189_attachment(data: bytes, oracle: list[dict[str, Any]]) -> None:
    """Put our reading into the one entry where MimeKit reads differently.

    issue1189 message 2, part 2: its three header lines are followed by a
    base64 line with no empty line between them. RFC 5322 §2.2 makes a field
    a name, a colon and a value, so a line without a colon cannot be a field
    and the header block has ended (§2.1: the body follows the fields): the
    body starts at that line and the attachment decodes. ``email`` reads it
    the same way (MissingHeaderBodySeparatorDefect). MimeKit takes the line
    for a broken field and gives the part an empty body; we record a
    ``missing-header-separator`` defect instead.
    """
    part = oracle[1]["body"]["children"][1]
    assert part["octets"] == 0  # MimeKit's reading, replaced below
    pos = part["beginOffset"]
    for _ in range(3):
        pos = data.index(b"\n", pos) + 1
    assert data[pos : pos + 4] == b"N3q8"  # the base64 of a 7-Zip archive
    part["headersEndOffset"] = pos
    part["octets"] = part["endOffset"] - pos


@pytest.mark.parametrize("dos", [False, True], ids=["LF", "CRLF"])
@pytest.mark.parametrize("name", NAMES)
def test_offsets_match_the_oracle(name: str, dos: bool) -> None:
    data, oracle = _messages(name, dos)
    if name == "issue1189":
        _issue1189_attachment(data, oracle)
    newline = 2 if dos else 1
    for number, expected in enumerate(oracle):
        begin = expected["beginOffset"]
        assert data.startswith(b"From ", expected["mboxMarkerOffset"])
        if number + 1 < len(oracle):
            end = oracle[number + 1]["mboxMarkerOffset"] - newline
        else:
            end = len(data)
        assert end == expected["endOffset"]
        message = mime.parse(data[begin:end])
        _compare(message, begin, expected, f"message {number}")
        _compare(message, begin, expected["body"], f"message {number} body")


def _summary_trees(name: str) -> list[list[str]]:
    trees: list[list[str]] = []
    for block in (MBOX / f"{name}-summary.txt").read_text().split("\nFrom ")[0:]:
        lines = [line for line in block.splitlines() if line.lstrip().startswith("Content-Type:")]
        trees.append(
            [
                f"{(len(line) - len(line.lstrip())) // 3}:{line.split(':', 1)[1].strip().lower()}"
                for line in lines
            ]
        )
    return trees


def _tree(message: Entity) -> list[str]:
    out: list[str] = []
    stack: list[tuple[Entity, int]] = [(message, 0)]
    while stack:
        entity, level = stack.pop()
        out.append(f"{level}:{entity.content_type}")
        # An embedded message is listed by its own Content-Type, one level in.
        stack.extend((child, level + 1) for child in reversed(entity.parts))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_trees_match_the_summary(name: str) -> None:
    data, oracle = _messages(name, dos=False)
    trees = _summary_trees(name)
    assert len(trees) == len(oracle)
    for number, expected in enumerate(oracle):
        end = oracle[number + 1]["mboxMarkerOffset"] - 1 if number + 1 < len(oracle) else len(data)
        message = mime.parse(data[expected["beginOffset"] : end])
        assert _tree(message) == trees[number], f"message {number}"
