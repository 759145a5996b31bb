"""Differential: Dovecot's view of messages mailwire built (BODYSTRUCTURE).

Each message is appended to the lab Dovecot over IMAP (imaplib, until
mailwire's IMAP client lands) and fetched back as BODYSTRUCTURE (RFC 3501
§7.4.2). The server's tree must be the one we meant: the same types and
subtypes, parameters, Content-ID, transfer encodings, body sizes in octets,
and text line counts, for every part, in every transport mode.
"""

from __future__ import annotations

import imaplib
import re
import urllib.parse
import uuid
from typing import Any

import pytest

from mailwire import mime
from mailwire.mime.entity import Entity
from tests.lab import ALICE, DovecotLab

pytestmark = pytest.mark.lab

_TOKEN = re.compile(rb'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|\{(\d+)\}\r\n|([^\s()"]+))')


def _sexp(data: bytes) -> Any:
    """Read one IMAP parenthesised list (strings, NIL, numbers, literals)."""
    stack: list[list[Any]] = [[]]
    pos = 0
    while pos < len(data):
        match = _TOKEN.match(data, pos)
        if match is None:
            break
        pos = match.end()
        opening, closing, quoted, literal, atom = match.groups()
        if opening:
            stack.append([])
        elif closing:
            done = stack.pop()
            stack[-1].append(done)
            if len(stack) == 1:
                break
        elif quoted is not None:
            stack[-1].append(re.sub(rb"\\(.)", rb"\1", quoted).decode())
        elif literal is not None:
            size = int(literal)
            stack[-1].append(data[pos : pos + size].decode())
            pos += size
        else:
            stack[-1].append(None if atom == b"NIL" else atom.decode())
    return stack[0][0]


def _params(value: Any) -> dict[str, str]:
    """The server's parameters; Dovecot joins RFC 2231 sections but leaves
    an extended value encoded (``name*`` = ``charset'lang'%XX``), decoded here."""
    if value is None:
        return {}
    out = {}
    for i in range(0, len(value), 2):
        name, text = value[i].lower(), value[i + 1]
        if name.endswith("*"):
            charset, _language, encoded = text.split("'", 2)
            name, text = name[:-1], urllib.parse.unquote(encoded, encoding=charset)
        out[name] = text
    return out


def _compare(entity: Entity, structure: list[Any]) -> None:
    if isinstance(structure[0], list):  # multipart: parts..., subtype, params
        count = next(i for i, item in enumerate(structure) if not isinstance(item, list))
        children = structure[:count]
        subtype = structure[count]
        assert entity.content_type == f"multipart/{subtype.lower()}"
        assert _params(structure[count + 1]) == entity.params
        assert len(children) == len(entity.parts)
        for part, child in zip(entity.parts, children, strict=True):
            _compare(part, child)
        return
    kind, subtype, params, content_id, _description, encoding, size = structure[:7]
    assert entity.content_type == f"{kind}/{subtype}".lower()
    assert _params(params) == entity.params
    assert (content_id or "").strip("<>") == (entity.content_id or "")
    assert encoding.lower() == entity.transfer_encoding
    assert int(size) == len(entity.body_bytes)
    if kind.lower() == "text":
        # Dovecot counts line ends; a last line without one is not counted.
        assert int(structure[7]) == entity.body_bytes.count(b"\n")


def _messages() -> list[mime.Message]:
    plain = mime.Message(sender="a@example.org", to=ALICE.address, subject="plain", text="hi\n")
    rich = mime.Message(
        sender=("Jörg Müller", "joerg@bücher.example"),
        to=[("Evil, Inc.", ALICE.address)],
        subject="Grüße, a long subject that needs folding and encoding " * 3,
        text="naïve café\n" * 40 + "x" * 1200,
        html="<p>日本語 <img src='cid:logo'></p>",
    )
    rich.attach(b"GIF89a" + bytes(range(256)), filename="logo.gif", inline=True, content_id="logo")
    rich.attach(bytes(range(256)) * 50, filename="données très longues " * 4 + ".bin")
    rich.attach(b"Subject: inner\r\n\r\nbody\r\n", content_type="message/rfc822")
    return [plain, rich]


@pytest.mark.parametrize("transport", [{}, {"eight_bit": True}], ids=["7bit", "8bitmime"])
def test_dovecot_sees_the_structure_we_built(
    dovecot_lab: DovecotLab, transport: dict[str, bool]
) -> None:
    imap = imaplib.IMAP4(dovecot_lab.host, dovecot_lab.imap_port, timeout=10)
    try:
        imap.starttls(ssl_context=dovecot_lab.client_context())
        imap.login(ALICE.name, ALICE.password)
        folder = f"mw-{uuid.uuid4().hex[:8]}"
        assert imap.create(folder)[0] == "OK"
        built = [message.as_bytes(**transport) for message in _messages()]
        for data in built:
            assert imap.append(folder, None, None, data)[0] == "OK"
        imap.select(folder, readonly=True)
        typ, items = imap.fetch(f"1:{len(built)}", "(BODYSTRUCTURE)")
        assert typ == "OK"
        responses = [
            item if isinstance(item, bytes) else item[0] + item[1]
            for item in items
            if item not in (b")",)
        ]
        assert len(responses) == len(built)
        for data, response in zip(built, responses, strict=True):
            start = response.index(b"BODYSTRUCTURE ") + len(b"BODYSTRUCTURE ")
            _compare(mime.parse(data), _sexp(response[start:]))
        imap.close()
        imap.delete(folder)
    finally:
        imap.logout()
