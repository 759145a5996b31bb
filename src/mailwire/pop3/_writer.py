"""Turning POP3 commands into bytes (RFC 1939 §3, RFC 2449 §4, RFC 5034 §4).

A command line is a keyword and its arguments separated by single spaces,
ended by CRLF, at most 255 octets in all (RFC 2449 §4; RFC 1939 allowed 47).
The whole line is built and checked before any of it reaches the outbound
buffer, so a refused command leaves nothing behind.

Text is ASCII, except the arguments of USER, PASS and APOP when the server
announced ``UTF8 USER`` (RFC 6856 §2.2: "Clients MUST NOT use UTF-8
characters when authenticating if the server did not include the USER
argument"). SASL payloads are base64 (RFC 5034 §4) and, like the PASS
argument and the APOP digest, written as secret spans so the transcript can
redact them (security.md S40).
"""

from __future__ import annotations

import base64

from mailwire._core import Outbound
from mailwire.pop3.commands import (
    Apop,
    Auth,
    AuthCancel,
    AuthResponse,
    Command,
    Dele,
    Lang,
    List,
    Pass,
    Retr,
    Top,
    Uidl,
    User,
)

__all__ = ["MAX_COMMAND_OCTETS", "write_command"]

#: RFC 2449 §4: a command line is at most 255 octets, CRLF included.
MAX_COMMAND_OCTETS = 255


def _text(value: str, what: str, *, utf8: bool) -> bytes:
    if value.isascii():
        return value.encode("ascii")
    if utf8:
        return value.encode("utf-8")
    raise ValueError(
        f"{what} is not ASCII; the server must announce UTF8 USER for that (RFC 6856 §2.2)"
    )


def write_command(command: Command, out: Outbound, *, utf8_user: bool = False) -> None:
    """Serialise ``command`` into ``out``, all of it or nothing.

    Args:
        command: the command.
        out: the outbound buffer.
        utf8_user: the server announced ``UTF8 USER``, so USER, PASS and
            APOP may carry UTF-8.

    Raises:
        ValueError: a non-ASCII credential without ``utf8_user``, or a line
            longer than 255 octets (an AUTH continuation line excepted:
            RFC 5034 §4 sets no limit on those).
    """
    pieces: list[tuple[bytes, bool]] = []  # (bytes, secret)
    if isinstance(command, User):
        pieces.append((b"USER " + _text(command.name, "USER name", utf8=utf8_user), False))
    elif isinstance(command, Pass):
        pieces.append((b"PASS ", False))
        pieces.append((_text(command.password, "the password", utf8=utf8_user), True))
    elif isinstance(command, Apop):
        pieces.append((b"APOP " + _text(command.name, "APOP name", utf8=utf8_user) + b" ", False))
        pieces.append((command.digest.encode("ascii"), True))
    elif isinstance(command, Auth):
        pieces.append((b"AUTH " + command.mechanism.encode("ascii"), False))
        if command.initial_response is not None:
            # RFC 5034 §4: an empty initial response is sent as "=".
            payload = base64.b64encode(command.initial_response) or b"="
            pieces.append((b" ", False))
            pieces.append((payload, True))
    elif isinstance(command, AuthResponse):
        pieces.append((base64.b64encode(command.data), True))
    elif isinstance(command, AuthCancel):
        pieces.append((b"*", False))
    elif isinstance(command, Retr | Dele):
        pieces.append((b"%s %d" % (command.verb.encode(), command.message), False))
    elif isinstance(command, List | Uidl):
        line = command.verb.encode()
        if command.message is not None:
            line += b" %d" % command.message
        pieces.append((line, False))
    elif isinstance(command, Top):
        pieces.append((b"TOP %d %d" % (command.message, command.lines), False))
    elif isinstance(command, Lang):
        line = b"LANG"
        if command.language is not None:
            line += b" " + command.language.encode("ascii")
        pieces.append((line, False))
    else:
        # Capa, Stls, Stat, Noop, Rset, Quit, Utf8: the keyword alone.
        pieces.append((command.verb.encode("ascii"), False))
    pieces.append((b"\r\n", False))
    size = sum(len(data) for data, _ in pieces)
    if size > MAX_COMMAND_OCTETS and not isinstance(command, AuthResponse):
        raise ValueError(
            f"{command.verb} line would be {size} octets; RFC 2449 §4 allows {MAX_COMMAND_OCTETS}"
        )
    for data, secret in pieces:
        out.write(data, secret=secret)
