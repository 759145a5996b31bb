"""Renderings of a transcript: C:/S: text, annotated text, raw records, JSON Lines.

Theory of the text format
-------------------------
The "text" style is both what a person reads and what ``Transcript.load``
reads back (the test-script format). It shows the application bytes, one
output line per wire line, each placed where its last byte was recorded:

* ``C: `` and ``S: `` prefix client and server lines sent in the clear, where
  anyone on the path could have read or changed them; ``C*: `` and ``S*: ``
  prefix lines carried inside TLS.
* A line ending in CRLF is shown without its terminator. A bare LF shows as a
  trailing ``\\n``; a line with no terminator (the data stopped, TLS started, or
  the connection ended) ends in ``<no end of line>``. Everything else uses the
  escapes of :mod:`mailwire._transcript_escape`, so the bytes come back exactly.
* A line is never carried across a change of TLS state: the part before is
  shown as a line of its own, without an end of line.
* Secrets are shown in place, on the line where they occur, as
  ``<redacted N bytes>`` (or ``<secret ...>`` when revealed); bytes the
  transcript did not keep (``max_data_bytes``) as ``<dropped N bytes>``.
  A line break is never taken from inside either.
* Every other record is a comment: ``# kind[ C|S][: note]``. A line open at
  a connect, TLS, timeout, error or close record ends there (without an end
  of line), so the comment stands after what preceded it on the wire; an
  event comment may fall inside a line, which then shows after it. Raw TLS
  records are not shown; the "annotated" and "raw" styles show them.

Colour
------
With ``color=True`` each line after the legend is wrapped in one ANSI SGR
code and a reset (``ESC [ code m ... ESC [ 0 m``), chosen by :func:`line_class`:
the client's lines, the server's status lines by reply class, ``#`` lines
dimmed, other server lines (message data, untagged data) uncoloured. The
renderings never hold a raw ESC of their own (every control byte is
escaped), so removing ``ESC [ ... m`` sequences gives the plain rendering.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Sequence

from mailwire._transcript_escape import (
    NO_END_OF_LINE,
    dropped,
    escape_bytes,
    escape_line_data,
    escape_secret,
    escape_text,
    redacted,
)
from mailwire.transcript import Direction, Kind, Record

__all__ = ["COLORS", "STYLES", "colorize", "line_class", "render", "strip_color", "to_jsonl"]

STYLES = ("text", "annotated", "raw")

LEGEND_TEXT = (
    "# mailwire transcript. C: S: client and server in the clear (unauthenticated); "
    "C*: S*: inside TLS. A line ends in CRLF unless it ends in \\n (bare LF) or "
    "<no end of line>. \\r \\t \\\\ \\xNN (a byte) \\uNNNN (a code point) are escapes."
)
LEGEND_ANNOTATED = (
    "# mailwire annotated transcript: seconds since the first record, then the line. "
    "C: S: client and server in the clear (anyone on the path may read or alter them); "
    "C*: S*: inside TLS. Lines end in CRLF unless marked \\n (bare LF) or <no end of line>; "
    "\\xNN is a byte, \\uNNNN a code point. ! flags a refusal or error reply. "
    "# lines say what happened."
)
LEGEND_RAW = (
    "# mailwire raw records: seq, seconds since the first record, kind, direction, "
    "flags (t = inside TLS, s = sensitive), size, bytes in hex, # note"
)

#: SGR parameters by line class. SMTP (RFC 5321 §4.2.1): positive (2xx),
#: intermediate (3xx), transient (4xx), permanent (5xx). POP3 (RFC 1939 §3):
#: ok (+OK), err (-ERR), continuation (+, RFC 5034). IMAP (RFC 9051 §7.1): ok
#: (OK, PREAUTH), no, bad, bye, continuation (+).
COLORS: dict[str, str] = {
    "client": "34",  # blue
    "positive": "32",  # green
    "intermediate": "36",  # cyan
    "transient": "33",  # yellow
    "permanent": "31",  # red
    "ok": "32",
    "err": "31",
    "no": "31",
    "bad": "1;31",  # bold red
    "bye": "35",  # magenta
    "continuation": "36",
    "comment": "2",  # dim
}

_SMTP_REPLY = re.compile(r"([2-5])[0-9][0-9](?:[ -]|$)")
_SMTP_CLASS = {"2": "positive", "3": "intermediate", "4": "transient", "5": "permanent"}
_IMAP_STATUS = re.compile(r"(?:\*|[^ ]+) (OK|NO|BAD|BYE|PREAUTH)(?: |$)", re.I)
_SGR = re.compile("\x1b\\[[0-9;]*m")


def line_class(marker: str, text: str, protocol: str | None = None) -> str | None:
    """The colour class of a rendered line: ``marker`` ``C``/``S``/``C*``/``S*``/``#``.

    ``text`` is the line as rendered, after the marker (escaped; a trailing
    space shown as ``\\x20``).

    ``protocol`` (``"smtp"``, ``"lmtp"``, ``"pop3"``, ``"imap"``) restricts the
    server forms tried; ``None`` tries all three. ``None`` is returned for a
    server line that is not a status line (message data, untagged data).
    """
    if marker.startswith("#"):
        return "comment"
    if marker.startswith("C"):
        return "client"
    if text.endswith("\\x20"):  # a trailing space, written visibly ("+ ", "334 ")
        text = text[:-4] + " "
    if protocol in (None, "smtp", "lmtp"):
        match = _SMTP_REPLY.match(text)
        if match:
            return _SMTP_CLASS[match[1]]
    if protocol in (None, "pop3"):
        if text.startswith("+OK"):
            return "ok"
        if text.startswith("-ERR"):
            return "err"
    if protocol in (None, "pop3", "imap") and (text == "+" or text.startswith("+ ")):
        return "continuation"
    if protocol in (None, "imap"):
        match = _IMAP_STATUS.match(text)
        if match:
            status = match[1].upper()
            return "ok" if status == "PREAUTH" else status.lower()
    return None


def colorize(text: str, kind: str | None) -> str:
    """``text`` wrapped in the SGR code of ``kind`` (unchanged for ``None``)."""
    if kind is None or not text:
        return text
    return f"\x1b[{COLORS[kind]}m{text}\x1b[0m"


def strip_color(text: str) -> str:
    """``text`` without SGR sequences: the plain rendering of a coloured one."""
    return _SGR.sub("", text)


#: Server line classes that the annotated view flags with ``!``: a refusal,
#: an error or a goodbye, where the client hoped for a positive answer.
FLAGGED = frozenset({"transient", "permanent", "err", "no", "bad", "bye"})


def _flag(line: str, protocol: str | None) -> str:
    """``" !"`` before a server status line of a class in :data:`FLAGGED`, else two spaces."""
    marker, _, rest = strip_color(line).partition(" ")
    if not marker.startswith("S"):
        return "  "
    return " !" if line_class(marker.rstrip(":"), rest, protocol) in FLAGGED else "  "


def _color_line(line: str, protocol: str | None) -> str:
    marker, _, rest = line.partition(" ")
    if marker.endswith(":"):
        return colorize(line, line_class(marker[:-1], rest, protocol))
    return colorize(line, line_class(marker, rest, protocol))


# At these records a line still open ends (shown without an end of line): the
# comment must not appear to come before bytes that were on the wire ahead of it.
_FLUSHING = frozenset({Kind.CONNECT, Kind.TLS, Kind.TIMEOUT, Kind.ERROR, Kind.CLOSE})


@dataclasses.dataclass(slots=True)
class _Part:
    """A run of one line: plain data, a revealed secret, or a placeholder."""

    kind: str  # "data" | "secret" | "redacted" | "dropped"
    data: bytearray
    size: int = 0

    def render(self) -> str:
        if self.kind == "data":
            return escape_line_data(bytes(self.data))
        if self.kind == "secret":
            return f"<secret {escape_secret(bytes(self.data))}>"
        if self.kind == "redacted":
            return redacted(self.size)
        return dropped(self.size)


# Where an output line goes: (index of its last record, its rank among the
# lines that record ends). Comments go at (their index, 0).
_Place = tuple[int, int]


@dataclasses.dataclass(slots=True)
class _Line:
    tls: bool
    parts: list[_Part]
    place: _Place = (0, 0)
    time: float = 0.0

    def add(self, kind: str, data: bytes = b"", size: int = 0) -> None:
        # Runs of one kind merge, so a rendering loaded back renders the same.
        if self.parts and self.parts[-1].kind == kind:
            self.parts[-1].data += data
            self.parts[-1].size += size
        else:
            self.parts.append(_Part(kind, bytearray(data), size))


def _close_space(text: str) -> str:
    # Editors strip trailing blanks; a trailing space that is data survives as \x20.
    return text[:-1] + "\\x20" if text.endswith(" ") else text


class _Lines:
    """Cuts the DATA records of both directions into wire lines.

    A line is placed where its last byte was recorded. Loading a rendering
    back gives one run of records per line, at that same place, which is
    why rendering it again gives the same text.
    """

    def __init__(self, reveal_secrets: bool) -> None:
        self._reveal = reveal_secrets
        self._open: dict[Direction, _Line] = {}
        self.done: list[tuple[_Place, float, str]] = []

    def feed(self, index: int, record: Record) -> None:
        """Take the DATA record at ``index``."""
        if record.size == 0:
            return  # nothing to show, so no effect on the open line either
        direction = record.direction
        line = self._open.get(direction)
        if line is not None and line.tls != record.tls:
            self.flush(direction)
            line = None
        if line is None:
            line = self._open[direction] = _Line(record.tls, [])
        rank = 0
        kept = len(record.data) == record.size
        if record.sensitive:
            if self._reveal and kept:
                line.add("secret", record.data)
            else:
                line.add("redacted", size=record.size)
        elif not kept:
            line.add("dropped", size=record.size)
        else:
            data = record.data
            start = 0
            while (end := data.find(b"\n", start)) != -1:
                line.add("data", data[start : end + 1])
                line.place, line.time = (index, rank), record.time
                self._finish(direction, line, complete=True)
                rank += 1
                line = self._open[direction] = _Line(record.tls, [])
                start = end + 1
            if start < len(data):
                line.add("data", data[start:])
        if line.parts:
            line.place, line.time = (index, rank), record.time
        else:
            del self._open[direction]

    def flush(self, direction: Direction) -> None:
        """End the open line of ``direction``, if any, as having no end of line."""
        line = self._open.pop(direction, None)
        if line is not None:
            self._finish(direction, line, complete=False)

    def flush_all(self) -> None:
        self.flush(Direction.CLIENT)
        self.flush(Direction.SERVER)

    def _finish(self, direction: Direction, line: _Line, *, complete: bool) -> None:
        parts = line.parts
        ending = NO_END_OF_LINE
        if complete:
            last = parts[-1].data  # a data run ending in LF
            if last.endswith(b"\r\n"):
                del last[-2:]
                ending = ""
            else:
                del last[-1:]
                ending = "\\n"
            if not last:
                parts.pop()
        content = _close_space("".join(part.render() for part in parts) + ending)
        marker = direction.value + ("*:" if line.tls else ":")
        self.done.append((line.place, line.time, f"{marker} {content}" if content else marker))


def _comment(record: Record, detail: str | None = None) -> str:
    head = f"# {record.kind.value}"
    if record.direction is not Direction.LOCAL:
        head += f" {record.direction.value}"
    note = record.note if detail is None else detail
    if note is None:
        return head
    shown = _close_space(escape_text(note) if detail is None else note)
    return f"{head}: {shown}" if shown else f"{head}:"


def _tls_record_summary(record: Record) -> str:
    detail = f"{record.size} {'byte' if record.size == 1 else 'bytes'}"
    if record.note is not None:
        detail += f" ({escape_text(record.note)})"
    return _comment(record, detail)


def _render_lines(
    records: Sequence[Record],
    reveal_secrets: bool,
    annotated: bool,
    color: bool = False,
    protocol: str | None = None,
) -> str:
    lines = _Lines(reveal_secrets)
    items = lines.done  # (place, time, text); comments join the lines here
    for index, record in enumerate(records):
        if record.kind is Kind.DATA and record.direction is not Direction.LOCAL:
            lines.feed(index, record)
        elif record.kind is Kind.TLS_RECORD:
            if annotated:
                items.append(((index, 0), record.time, _tls_record_summary(record)))
        else:
            if record.kind in _FLUSHING:
                lines.flush_all()
            items.append(((index, 0), record.time, _comment(record)))
    lines.flush_all()
    items.sort(key=lambda item: item[0])
    out = [LEGEND_ANNOTATED if annotated else LEGEND_TEXT]
    if color:
        items = [(place, time, _color_line(text, protocol)) for place, time, text in items]
    if annotated:
        base = records[0].time if records else 0.0
        out.extend(f"{time - base:9.3f}{_flag(text, protocol)}{text}" for _, time, text in items)
    else:
        out.extend(text for _, _, text in items)
    return "\n".join(out) + "\n"


def _shown_data(record: Record, reveal_secrets: bool) -> bytes | None:
    """The bytes a rendering may show, or None (redacted, or not kept)."""
    if record.sensitive and not reveal_secrets:
        return None
    if len(record.data) != record.size:
        return None
    return record.data


def _raw_class(record: Record, shown: bytes | None, protocol: str | None) -> str | None:
    if record.kind is not Kind.DATA:
        return "comment"
    if record.direction is Direction.CLIENT:
        return "client"
    if not shown:
        return None
    first = shown.split(b"\n", 1)[0].rstrip(b"\r")
    return line_class("S", escape_bytes(first), protocol)


def _render_raw(
    records: Sequence[Record],
    reveal_secrets: bool,
    color: bool = False,
    protocol: str | None = None,
) -> str:
    out = [LEGEND_RAW]
    base = records[0].time if records else 0.0
    for record in records:
        shown = _shown_data(record, reveal_secrets)
        if shown is not None:
            payload = shown.hex() if shown else "-"
        elif record.sensitive:
            payload = redacted(record.size)
        else:
            payload = dropped(record.size)
        flags = ("t" if record.tls else "-") + ("s" if record.sensitive else "-")
        line = (
            f"{record.seq:>5} {record.time - base:11.6f} {record.kind.value:<10} "
            f"{record.direction.value} {flags} {record.size:>7} {payload}"
        )
        if record.note is not None:
            line += f"  # {escape_text(record.note)}"
        if color:
            line = colorize(line, _raw_class(record, shown, protocol))
        out.append(line)
    return "\n".join(out) + "\n"


def render(
    records: Sequence[Record],
    style: str,
    reveal_secrets: bool,
    *,
    color: bool = False,
    protocol: str | None = None,
) -> str:
    """Render ``records`` in ``style``; see ``Transcript.render``."""
    if style == "text":
        return _render_lines(records, reveal_secrets, False, color, protocol)
    if style == "annotated":
        return _render_lines(records, reveal_secrets, True, color, protocol)
    if style == "raw":
        return _render_raw(records, reveal_secrets, color, protocol)
    raise ValueError(f"unknown transcript style {style!r}; expected one of {', '.join(STYLES)}")


def to_jsonl(records: Sequence[Record], reveal_secrets: bool) -> str:
    """One JSON object per record; see ``Transcript.to_jsonl``."""
    rows = []
    for record in records:
        shown = _shown_data(record, reveal_secrets)
        row = {
            "seq": record.seq,
            "time": record.time,
            "kind": record.kind.value,
            "direction": record.direction.value,
            "tls": record.tls,
            "sensitive": record.sensitive,
            "note": record.note,
            "size": record.size,
            "data": None if shown is None else base64.b64encode(shown).decode("ascii"),
            "text": escape_bytes(shown) if shown is not None and record.kind is Kind.DATA else None,
        }
        # ensure_ascii (the default): no raw control or bidi character in the file.
        rows.append(json.dumps(row) + "\n")
    return "".join(rows)
