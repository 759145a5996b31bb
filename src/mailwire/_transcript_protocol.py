"""Which protocol a saved transcript speaks, for replay and export.

A live transcript knows (the client sets ``Transcript.protocol``); one loaded
from a file may not, since neither the C:/S: text nor JSON Lines carries it.
The first words each side wrote tell it apart:

- the server's greeting: ``+OK``/``-ERR`` is POP3 (RFC 1939 §4), ``* OK``,
  ``* PREAUTH`` or ``* BYE`` is IMAP (RFC 9051 §7.1), three digits are SMTP
  (RFC 5321 §4.2), or LMTP when the client then says LHLO (RFC 2033 §4.1);
- without a greeting, the client's first command: EHLO/HELO, LHLO, a POP3
  keyword (CAPA, USER, APOP, STLS, AUTH ...), or a tag followed by an IMAP
  command;
- last, the port in the connect note (25/465/587, 24, 110/995, 143/993).
"""

from __future__ import annotations

import re

from mailwire.transcript import Direction, Kind, Transcript

__all__ = ["PROTOCOLS", "guess_protocol"]

PROTOCOLS = ("smtp", "lmtp", "pop3", "imap")

_POP3_VERBS = {
    b"CAPA",
    b"USER",
    b"PASS",
    b"APOP",
    b"STLS",
    b"AUTH",
    b"STAT",
    b"LIST",
    b"UIDL",
    b"RETR",
    b"TOP",
    b"DELE",
    b"NOOP",
    b"RSET",
    b"QUIT",
    b"UTF8",
    b"LANG",
}
_IMAP_COMMAND = re.compile(rb"[^\s(){%*\"\\\]+]+ (?:UID )?([A-Za-z]+)", re.IGNORECASE)
_PORT = re.compile(r":(\d{1,5})\b")
_BY_PORT = {
    25: "smtp",
    465: "smtp",
    587: "smtp",
    24: "lmtp",
    110: "pop3",
    995: "pop3",
    143: "imap",
    993: "imap",
}


def _first_line(transcript: Transcript, direction: Direction) -> bytes:
    data = bytearray()
    for record in transcript.records:
        if record.kind is Kind.DATA and record.direction is direction:
            data += record.data if record.data or not record.size else b"*" * record.size
            if b"\n" in data:
                break
    return bytes(data).split(b"\n", 1)[0].rstrip(b"\r")


def _says_lhlo(transcript: Transcript) -> bool:
    client = transcript.client_bytes(redact=b"*").upper()
    return client.startswith(b"LHLO") or b"\nLHLO" in client


def guess_protocol(transcript: Transcript) -> str | None:
    """``"smtp"``, ``"lmtp"``, ``"pop3"`` or ``"imap"``, or ``None`` if unknown.

    ``transcript.protocol`` wins when it is set.
    """
    if transcript.protocol in PROTOCOLS:
        return transcript.protocol
    greeting = _first_line(transcript, Direction.SERVER)
    if greeting[:3].upper() == b"+OK" or greeting[:4].upper() == b"-ERR":
        return "pop3"
    if re.match(rb"\* (OK|PREAUTH|BYE)\b", greeting, re.IGNORECASE):
        return "imap"
    if re.match(rb"\d{3}[ -]", greeting + b" "):
        return "lmtp" if _says_lhlo(transcript) else "smtp"
    command = _first_line(transcript, Direction.CLIENT)
    verb = command.split(b" ", 1)[0].upper()
    if verb in (b"EHLO", b"HELO"):
        return "smtp"
    if verb == b"LHLO":
        return "lmtp"
    if verb in _POP3_VERBS:
        return "pop3"
    imap_command = _IMAP_COMMAND.match(command)
    if imap_command is not None:
        from mailwire.imap._state import SEND_TABLE

        if imap_command[1].upper().decode() in SEND_TABLE:
            return "imap"
    for record in transcript.records:
        if record.kind is Kind.CONNECT and record.note:
            port = _PORT.search(record.note)
            if port is not None and int(port[1]) in _BY_PORT:
                return _BY_PORT[int(port[1])]
    return None
