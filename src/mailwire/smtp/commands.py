"""SMTP and LMTP commands, as frozen dataclasses named after the RFC verbs.

Each command checks its own arguments when it is made, so a command that
exists can be written safely: CR, LF or NUL anywhere, an address with a space
or angle bracket, an ESMTP parameter that is not ``keyword[=value]`` per
RFC 5321 §4.1.2 -- each raises :class:`ValueError` before anything is queued
(security.md S14, S15).

``Content`` and ``EndOfData`` are not verbs: they carry the message after a
354 reply to ``DATA`` (dot-stuffed by the writer) and its final ``.`` line.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from mailwire._core import check_no_controls

__all__ = [
    "Auth",
    "AuthCancel",
    "AuthResponse",
    "Bdat",
    "Command",
    "Content",
    "Data",
    "Ehlo",
    "EndOfData",
    "Expn",
    "Helo",
    "Help",
    "Lhlo",
    "MailFrom",
    "Noop",
    "Quit",
    "RcptTo",
    "Rset",
    "StartTLS",
    "Vrfy",
]

# RFC 5321 §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
# esmtp-value = 1*(%d33-60 / %d62-126), i.e. visible ASCII except "=".
# RFC 6531 §3.3 lets the value carry UTF-8 when SMTPUTF8 is in use.
_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
# (Written as negated ASCII classes: a class spelling out \u0080-\U0010ffff
# takes tens of milliseconds to compile at import.)
_VALUE = re.compile(r"[^\x00-\x20=\x7f]+\Z")
# An SASL mechanism name (RFC 4422 §3.1): upper-case letters, digits, - and _.
_MECHANISM = re.compile(r"[A-Z0-9_-]{1,20}\Z")


def _check_domain(domain: str) -> None:
    check_no_controls(domain, "domain")
    if not domain or any(c.isspace() for c in domain):
        raise ValueError(f"not a usable EHLO/HELO domain: {domain!r}")


# RFC 5321 §4.1.2 Mailbox = Local-part "@" ( Domain / address-literal ), with
# RFC 6531 §3.3 letting atext and sub-domains carry UTF-8. Local-part is a
# Dot-string (atoms of RFC 5322 atext joined by single dots) or a quoted string.
_ATEXT = r'[^\x00-\x20"(),.:;<>@\[\\\]\x7f]'
_DOT_STRING = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*\Z")
_LET_DIG = r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]"
_SUB_DOMAIN = rf"{_LET_DIG}(?:[^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]*{_LET_DIG})?"
_DOMAIN = re.compile(rf"{_SUB_DOMAIN}(?:\.{_SUB_DOMAIN})*\Z")
_ADDRESS_LITERAL = re.compile(r"\[[^\[\]\\\s]+\]\Z")


def _check_path(address: str, what: str, *, allow_empty: bool) -> None:
    """A mailbox for MAIL FROM / RCPT TO, without its angle brackets (S15)."""
    check_no_controls(address, what)
    if not address:
        if allow_empty:
            return  # the null reverse-path <> (RFC 5321 §4.5.5)
        raise ValueError(f"{what} is empty")
    if not allow_empty and address.lower() == "postmaster":
        return  # RFC 5321 §4.1.1.3: RCPT TO:<Postmaster> needs no domain
    local, at, domain = address.rpartition("@")
    if not at:
        raise ValueError(f"{what} has no @domain: {address!r}")
    unquoted = domain if local.startswith('"') else address
    if any(c.isspace() for c in unquoted):
        # Also the non-ASCII spaces (U+3000 ...) that the UTF-8 atext range holds.
        raise ValueError(f"{what} contains white space: {address!r}")
    if local.startswith('"'):
        if not _one_quoted_string(local):
            raise ValueError(f"{what} has a malformed quoted local part: {address!r}")
    elif not _DOT_STRING.match(local):
        raise ValueError(f"{what} is not one mailbox (RFC 5321 §4.1.2): {address!r}")
    if not (_DOMAIN.match(domain) or _ADDRESS_LITERAL.match(domain)):
        raise ValueError(f"{what} has no valid domain (RFC 5321 §4.1.2): {address!r}")


def is_mailbox(address: str) -> bool:
    """Whether ``address`` is one RFC 5321 mailbox (local@domain)."""
    try:
        _check_path(address, "address", allow_empty=False)
    except ValueError:
        return False
    return address.lower() != "postmaster"


def _one_quoted_string(text: str) -> bool:
    """Whether ``text`` is exactly one quoted string (backslash pairs allowed)."""
    if len(text) < 2 or not text.endswith('"'):
        return False
    i, end = 1, len(text) - 1
    while i < end:
        if text[i] == "\\":
            i += 2  # quoted-pair: any printable character follows
            continue
        if text[i] == '"':
            return False  # the string ended before the last quote
        i += 1
    return i == end


def _check_params(params: Mapping[str, str | None]) -> None:
    for key, value in params.items():
        if not _KEYWORD.match(key):
            raise ValueError(f"not an ESMTP parameter keyword: {key!r}")
        if value is not None and not _VALUE.match(value):
            raise ValueError(f"ESMTP parameter {key} has a value that would break the line")


def _frozen_params(params: Mapping[str, str | None] | None) -> tuple[tuple[str, str | None], ...]:
    return tuple((params or {}).items())


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    """Base class of every SMTP command."""

    @property
    def verb(self) -> str:
        """The command word as written on the wire."""
        return type(self).__name__.upper()


@dataclasses.dataclass(frozen=True, slots=True)
class Ehlo(Command):
    """``EHLO domain`` (RFC 5321 §4.1.1.1): start a session, ask for extensions."""

    domain: str

    def __post_init__(self) -> None:
        _check_domain(self.domain)


@dataclasses.dataclass(frozen=True, slots=True)
class Helo(Command):
    """``HELO domain`` (RFC 5321 §4.1.1.1): the fallback for servers without ESMTP."""

    domain: str

    def __post_init__(self) -> None:
        _check_domain(self.domain)


@dataclasses.dataclass(frozen=True, slots=True)
class Lhlo(Command):
    """``LHLO domain`` (RFC 2033 §4.1): LMTP's EHLO."""

    domain: str

    def __post_init__(self) -> None:
        _check_domain(self.domain)


@dataclasses.dataclass(frozen=True, slots=True)
class StartTLS(Command):
    """``STARTTLS`` (RFC 3207 §4): ask to upgrade the connection to TLS."""


@dataclasses.dataclass(frozen=True, slots=True)
class Auth(Command):
    """``AUTH mechanism [initial-response]`` (RFC 4954 §4).

    Args:
        mechanism: the SASL mechanism name.
        initial_response: the raw (not base64) initial response, or ``None``
            to wait for the server's first challenge. ``b""`` is sent as
            ``=``. It is marked secret in the transcript.
    """

    mechanism: str
    initial_response: bytes | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not _MECHANISM.match(self.mechanism):
            raise ValueError(f"not a SASL mechanism name: {self.mechanism!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class AuthResponse(Command):
    """One client response in an AUTH exchange: raw bytes, sent base64 and secret."""

    data: bytes = dataclasses.field(repr=False)

    @property
    def verb(self) -> str:
        return "AUTH response"


@dataclasses.dataclass(frozen=True, slots=True)
class AuthCancel(Command):
    """``*`` (RFC 4954 §4): abandon the AUTH exchange; the server answers 501."""

    @property
    def verb(self) -> str:
        return "AUTH cancel"


@dataclasses.dataclass(frozen=True, slots=True)
class MailFrom(Command):
    """``MAIL FROM:<reverse-path> [params]`` (RFC 5321 §4.1.1.2).

    Args:
        sender: the envelope sender without angle brackets; ``""`` is the
            null reverse-path used for bounces.
        params: ESMTP parameters, e.g. ``{"SIZE": "1234", "BODY": "8BITMIME",
            "SMTPUTF8": None}``; ``None`` means a keyword without a value.
    """

    sender: str
    params: tuple[tuple[str, str | None], ...] = ()

    def __init__(self, sender: str, params: Mapping[str, str | None] | None = None) -> None:
        _check_path(sender, "sender", allow_empty=True)
        frozen = _frozen_params(params)
        _check_params(dict(frozen))
        object.__setattr__(self, "sender", sender)
        object.__setattr__(self, "params", frozen)

    @property
    def verb(self) -> str:
        return "MAIL FROM"


@dataclasses.dataclass(frozen=True, slots=True)
class RcptTo(Command):
    """``RCPT TO:<forward-path> [params]`` (RFC 5321 §4.1.1.3).

    Args:
        recipient: the envelope recipient without angle brackets.
        params: ESMTP parameters such as ``NOTIFY`` and ``ORCPT`` (RFC 3461).
    """

    recipient: str
    params: tuple[tuple[str, str | None], ...] = ()

    def __init__(self, recipient: str, params: Mapping[str, str | None] | None = None) -> None:
        _check_path(recipient, "recipient", allow_empty=False)
        frozen = _frozen_params(params)
        _check_params(dict(frozen))
        object.__setattr__(self, "recipient", recipient)
        object.__setattr__(self, "params", frozen)

    @property
    def verb(self) -> str:
        return "RCPT TO"


@dataclasses.dataclass(frozen=True, slots=True)
class Data(Command):
    """``DATA`` (RFC 5321 §4.1.1.4): the content follows after a 354 reply."""


@dataclasses.dataclass(frozen=True, slots=True)
class Content(Command):
    """A piece of the message after 354; the writer dot-stuffs it (§4.5.2).

    The pieces together must be CRLF lines of at most 998 octets plus CRLF
    (RFC 5321 §4.5.3.1.6); a bare CR or LF, or a longer line, raises
    :class:`ValueError` when the piece is sent.
    """

    data: bytes = dataclasses.field(repr=False)

    @property
    def verb(self) -> str:
        return "message content"


@dataclasses.dataclass(frozen=True, slots=True)
class EndOfData(Command):
    """The ``.`` line that ends DATA content (RFC 5321 §4.1.1.4)."""

    @property
    def verb(self) -> str:
        return "end of data"


@dataclasses.dataclass(frozen=True, slots=True)
class Bdat(Command):
    """``BDAT size [LAST]`` plus the chunk (RFC 3030 §2): no dot-stuffing.

    Args:
        data: the chunk, sent as is.
        last: whether this chunk ends the message.
    """

    data: bytes = dataclasses.field(repr=False)
    last: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Rset(Command):
    """``RSET`` (RFC 5321 §4.1.1.5): abandon the mail transaction."""


@dataclasses.dataclass(frozen=True, slots=True)
class Noop(Command):
    """``NOOP`` (RFC 5321 §4.1.1.9)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Vrfy(Command):
    """``VRFY string`` (RFC 5321 §4.1.1.6)."""

    argument: str

    def __post_init__(self) -> None:
        check_no_controls(self.argument, "VRFY argument")


@dataclasses.dataclass(frozen=True, slots=True)
class Expn(Command):
    """``EXPN string`` (RFC 5321 §4.1.1.7)."""

    argument: str

    def __post_init__(self) -> None:
        check_no_controls(self.argument, "EXPN argument")


@dataclasses.dataclass(frozen=True, slots=True)
class Help(Command):
    """``HELP [string]`` (RFC 5321 §4.1.1.8)."""

    argument: str | None = None

    def __post_init__(self) -> None:
        if self.argument is not None:
            check_no_controls(self.argument, "HELP argument")


@dataclasses.dataclass(frozen=True, slots=True)
class Quit(Command):
    """``QUIT`` (RFC 5321 §4.1.1.10): the server answers 221 and closes."""
