"""Reading transcripts back: the C:/S: text rendering and JSON Lines.

The format is told by the first line that is not blank: a JSON object starts
with ``{``; anything else is text. Text carries no times (records come back
at time 0.0), no raw TLS records, and no data for redacted or dropped spans
(their sizes come back); JSON Lines carries everything it was given.
"""

from __future__ import annotations

import base64
import json
import re

from mailwire._transcript_escape import unescape_bytes, unescape_text
from mailwire.transcript import Direction, Kind, Record

__all__ = ["parse"]

_DATA_LINE = re.compile(r"(?P<dir>[CS])(?P<tls>\*?):(?P<content>.*)", re.DOTALL)
_COMMENT_KINDS = "|".join(re.escape(kind.value) for kind in Kind if kind is not Kind.TLS_RECORD)
_COMMENT_LINE = re.compile(
    rf"# (?P<kind>{_COMMENT_KINDS})(?: (?P<dir>[CS]))?(?P<colon>:(?: (?P<note>.*))?)?",
    re.DOTALL,
)
# One token of line content; the text between tokens is literal.
_TOKEN = re.compile(
    r"(?P<esc>\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.?))"
    r"|<redacted (?P<redacted>[0-9]+) bytes?>"
    r"|<dropped (?P<dropped>[0-9]+) bytes?>"
    r"|<secret (?P<secret>[^<>]*)>"
    r"|(?P<noend><no end of line>)\Z",
    re.DOTALL,
)


class _Builder:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def add(
        self,
        kind: Kind,
        direction: Direction,
        data: bytes = b"",
        *,
        size: int | None = None,
        sensitive: bool = False,
        note: str | None = None,
        tls: bool = False,
    ) -> None:
        self.records.append(
            Record(
                seq=len(self.records),
                time=0.0,
                kind=kind,
                direction=direction,
                data=data,
                sensitive=sensitive,
                note=note,
                tls=tls,
                size=len(data) if size is None else size,
            )
        )

    def data_line(self, direction: Direction, tls: bool, content: str) -> None:
        """Turn the content of one C:/S: line into DATA records."""
        pending: list[str] = []  # literal text and escapes of the current plain run
        runs: list[tuple[str, bytes, int]] = []  # (kind, data, size)

        def close_plain() -> None:
            if pending:
                runs.append(("data", unescape_bytes("".join(pending)), 0))
                pending.clear()

        pos = 0
        ended = True
        for match in _TOKEN.finditer(content):
            pending.append(content[pos : match.start()])
            pos = match.end()
            if match["esc"] is not None:
                pending.append(match["esc"])
                continue
            close_plain()
            if match["redacted"] is not None:
                runs.append(("redacted", b"", int(match["redacted"])))
            elif match["dropped"] is not None:
                runs.append(("dropped", b"", int(match["dropped"])))
            elif match["secret"] is not None:
                runs.append(("secret", unescape_bytes(match["secret"]), 0))
            else:
                ended = False
        pending.append(content[pos:])
        close_plain()
        if ended and not (runs and runs[-1][0] == "data" and runs[-1][1].endswith(b"\n")):
            # No explicit ending: the line ended in CRLF.
            if runs and runs[-1][0] == "data":
                runs[-1] = ("data", runs[-1][1] + b"\r\n", 0)
            else:
                runs.append(("data", b"\r\n", 0))
        for kind, data, size in runs:
            if kind == "data":
                self.add(Kind.DATA, direction, data, tls=tls)
            elif kind == "secret":
                self.add(Kind.DATA, direction, data, sensitive=True, tls=tls)
            else:
                self.add(Kind.DATA, direction, size=size, sensitive=kind == "redacted", tls=tls)


def _parse_text(lines: list[str]) -> list[Record]:
    builder = _Builder()
    tls = False  # for comments: the TLS state of the last data line
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            if line.startswith("#"):
                comment = _COMMENT_LINE.fullmatch(line)
                if comment is None:
                    continue  # the legend, or a note written by hand
                note = comment["note"]
                builder.add(
                    Kind(comment["kind"]),
                    Direction(comment["dir"]) if comment["dir"] else Direction.LOCAL,
                    note=None if not comment["colon"] else unescape_text(note or ""),
                    tls=tls,
                )
                continue
            data_line = _DATA_LINE.fullmatch(line)
            if data_line is None:
                raise ValueError("not a C:/S: line or a # comment")
            content = data_line["content"]
            tls = bool(data_line["tls"])
            builder.data_line(
                Direction(data_line["dir"]),
                tls,
                content[1:] if content.startswith(" ") else content,
            )
        except ValueError as exc:
            raise ValueError(f"transcript line {number}: {exc}") from exc
    return builder.records


def _typed(row: dict[str, object], name: str, kinds: tuple[type, ...]) -> object:
    value = row.get(name)
    # bool is an int to isinstance; a JSON true is never a number or a string here.
    if value is not None and (
        not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
    ):
        raise ValueError(f"{name!r} should not be {type(value).__name__}")
    return value


def _str(row: dict[str, object], name: str) -> str | None:
    value = _typed(row, name, (str,))
    return value if isinstance(value, str) else None


def _int(row: dict[str, object], name: str, default: int) -> int:
    value = _typed(row, name, (int,))
    return value if isinstance(value, int) else default


def _flag(row: dict[str, object], name: str) -> bool:
    return _typed(row, name, (bool,)) is True


def _record_from_json(row: dict[str, object], seq: int) -> Record:
    encoded = _str(row, "data")
    text = _str(row, "text")
    if encoded is not None:
        try:
            data = base64.b64decode(encoded, validate=True)
        except ValueError as exc:  # binascii.Error, or text outside ASCII
            raise ValueError(f"'data' is not base64: {exc}") from exc
    elif text is not None:
        data = unescape_bytes(text)  # a record written by hand
    else:
        data = b""
    when = _typed(row, "time", (int, float))
    size = _int(row, "size", len(data))
    if data and size != len(data):
        raise ValueError(f"'size' is {size} but 'data' holds {len(data)} bytes")
    return Record(
        seq=_int(row, "seq", seq),
        time=float(when) if isinstance(when, int | float) else 0.0,
        kind=Kind(_str(row, "kind") or Kind.DATA.value),
        direction=Direction(_str(row, "direction") or Direction.LOCAL.value),
        data=data,
        sensitive=_flag(row, "sensitive"),
        note=_str(row, "note"),
        tls=_flag(row, "tls"),
        size=size,
    )


def _parse_jsonl(lines: list[str]) -> list[Record]:
    records: list[Record] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            records.append(_record_from_json(row, len(records)))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"transcript line {number}: {exc}") from exc
    return records


def parse(text: str) -> list[Record]:
    """Read the records of a text or JSON Lines transcript.

    Raises:
        ValueError: a line that is neither, with its number.
    """
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("{"):
        return _parse_jsonl(lines)
    return _parse_text(lines)
