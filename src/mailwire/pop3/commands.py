"""POP3 commands, as frozen dataclasses named after the RFC keywords.

A command checks its own arguments when it is made, so a command that exists
can be written safely: CR, LF or NUL in any argument, a message number that is
not a positive integer, a language tag with a space -- each raises
:class:`ValueError` before anything is queued (security.md S18; poplib does
the same since CPython gh-143923).

Whether the answer to a command is one line or a multi-line response is a
property of the command (:attr:`Command.multiline`): RFC 1939 §3 leaves the
client to know it, and the connection asks the pending command.

Commands and where they come from:

=============  ===============================  =====================
command        wire form                        RFC
=============  ===============================  =====================
``Capa``       ``CAPA``                         RFC 2449 §5
``Stls``       ``STLS``                         RFC 2595 §4
``User``       ``USER name``                    RFC 1939 §7
``Pass``       ``PASS secret``                  RFC 1939 §7
``Apop``       ``APOP name digest``             RFC 1939 §7
``Auth``       ``AUTH mech [initial]``          RFC 5034 §4
``Stat``       ``STAT``                         RFC 1939 §5
``List``       ``LIST [msg]``                   RFC 1939 §5
``Retr``       ``RETR msg``                     RFC 1939 §5
``Dele``       ``DELE msg``                     RFC 1939 §5
``Noop``       ``NOOP``                         RFC 1939 §5
``Rset``       ``RSET``                         RFC 1939 §5
``Top``        ``TOP msg n``                    RFC 1939 §7
``Uidl``       ``UIDL [msg]``                   RFC 1939 §7
``Quit``       ``QUIT``                         RFC 1939 §4, §6
``Utf8``       ``UTF8``                         RFC 6856 §2.1
``Lang``       ``LANG [range]``                 RFC 6856 §3
=============  ===============================  =====================
"""

from __future__ import annotations

import dataclasses
import re

from mailwire._core import check_no_controls

__all__ = [
    "Apop",
    "Auth",
    "AuthCancel",
    "AuthResponse",
    "Capa",
    "Command",
    "Dele",
    "Lang",
    "List",
    "Noop",
    "Pass",
    "Quit",
    "Retr",
    "Rset",
    "Stat",
    "Stls",
    "Top",
    "Uidl",
    "User",
    "Utf8",
]

# A SASL mechanism name (RFC 4422 §3.1): upper-case letters, digits, - and _.
_MECHANISM = re.compile(r"[A-Z0-9_-]{1,20}\Z")
# An APOP digest: 16 octets of MD5 in lower-case hex (RFC 1939 §7).
_DIGEST = re.compile(r"[0-9a-f]{32}\Z")
# A basic language range (RFC 4647 §2.1) or "*" (RFC 6856 §3.2).
_LANGUAGE_RANGE = re.compile(r"(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)\Z")


def _check_message_number(value: object, what: str = "message number") -> None:
    # RFC 1939 §3: message numbers start at 1; bool is an int but never meant.
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")


def _check_argument(value: str, what: str) -> None:
    check_no_controls(value, what)
    if not value:
        raise ValueError(f"{what} is empty")


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    """Base class of every POP3 command."""

    @property
    def verb(self) -> str:
        """The command keyword as written on the wire."""
        return type(self).__name__.upper()

    @property
    def multiline(self) -> bool:
        """Whether a positive answer is a multi-line response (RFC 1939 §3)."""
        return False


@dataclasses.dataclass(frozen=True, slots=True)
class Capa(Command):
    """``CAPA`` (RFC 2449 §5): list the server's capabilities (multi-line)."""

    @property
    def multiline(self) -> bool:
        return True


@dataclasses.dataclass(frozen=True, slots=True)
class Stls(Command):
    """``STLS`` (RFC 2595 §4): ask to upgrade the connection to TLS.

    After ``+OK`` the TLS handshake begins at once; nothing else may be sent
    until it has completed.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class User(Command):
    """``USER name`` (RFC 1939 §7): the first half of USER/PASS login.

    Args:
        name: the mailbox name. Non-ASCII needs ``UTF8 USER`` (RFC 6856 §2.2);
            the connection checks that when writing.
    """

    name: str

    def __post_init__(self) -> None:
        _check_argument(self.name, "USER name")


@dataclasses.dataclass(frozen=True, slots=True)
class Pass(Command):
    """``PASS secret`` (RFC 1939 §7): the password, after a positive USER.

    The password is written as a secret span, so every transcript rendering
    redacts it (security.md S40); it is not part of ``repr``. RFC 1939 lets it
    contain spaces.
    """

    password: str = dataclasses.field(repr=False)

    def __post_init__(self) -> None:
        _check_argument(self.password, "PASS argument")


@dataclasses.dataclass(frozen=True, slots=True)
class Apop(Command):
    """``APOP name digest`` (RFC 1939 §7): MD5 challenge-response login.

    Use :meth:`from_secret` to compute the digest from the greeting's
    timestamp. APOP is weak (MD5; CVE-2007-1558 recovers password characters
    from chosen timestamps), so the clients send it only when asked to
    (security.md S39). The digest is a secret span in the transcript.
    """

    name: str
    digest: str = dataclasses.field(repr=False)

    def __post_init__(self) -> None:
        _check_argument(self.name, "APOP name")
        if " " in self.name:
            raise ValueError("APOP name must not contain a space (RFC 1939 §7)")
        if not _DIGEST.match(self.digest):
            raise ValueError("APOP digest must be 32 lower-case hex digits (RFC 1939 §7)")

    @classmethod
    def from_secret(cls, name: str, timestamp: str, secret: str) -> Apop:
        """The APOP command for ``name``, ``secret`` and the greeting's ``timestamp``.

        RFC 1939 §7: the digest is MD5 over the timestamp (angle brackets
        included) followed by the shared secret, in lower-case hex. A
        non-ASCII secret is prepared with SASLprep as a stored string first
        (RFC 6856 §2.2).

        Raises:
            ValueError: CR, LF or NUL anywhere, or a secret SASLprep refuses.
        """
        import hashlib

        check_no_controls(timestamp, "APOP timestamp")
        check_no_controls(secret, "APOP secret")
        if not secret.isascii():
            from mailwire.sasl import saslprep

            secret = saslprep(secret, allow_unassigned=False)
        material = timestamp.encode("utf-8") + secret.encode("utf-8")
        digest = hashlib.md5(material, usedforsecurity=False).hexdigest()
        return cls(name, digest)


@dataclasses.dataclass(frozen=True, slots=True)
class Auth(Command):
    """``AUTH mechanism [initial-response]`` (RFC 5034 §4).

    Args:
        mechanism: the SASL mechanism name.
        initial_response: the raw (not base64) initial response, or ``None``
            to wait for the server's first challenge. ``b""`` is sent as
            ``=``. It is a secret span in the transcript.
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
    """``*`` (RFC 5034 §4): abandon the AUTH exchange; the server answers -ERR."""

    @property
    def verb(self) -> str:
        return "AUTH cancel"


@dataclasses.dataclass(frozen=True, slots=True)
class Stat(Command):
    """``STAT`` (RFC 1939 §5): the drop listing ``count octets``."""


@dataclasses.dataclass(frozen=True, slots=True)
class List(Command):
    """``LIST [msg]`` (RFC 1939 §5): scan listings, one (single line) or all.

    Args:
        message: a message number, or ``None`` for every message (multi-line).
    """

    message: int | None = None

    def __post_init__(self) -> None:
        if self.message is not None:
            _check_message_number(self.message)

    @property
    def multiline(self) -> bool:
        return self.message is None


@dataclasses.dataclass(frozen=True, slots=True)
class Retr(Command):
    """``RETR msg`` (RFC 1939 §5): the whole message, dot-stuffed (multi-line)."""

    message: int

    def __post_init__(self) -> None:
        _check_message_number(self.message)

    @property
    def multiline(self) -> bool:
        return True


@dataclasses.dataclass(frozen=True, slots=True)
class Dele(Command):
    """``DELE msg`` (RFC 1939 §5): mark a message deleted (done at QUIT)."""

    message: int

    def __post_init__(self) -> None:
        _check_message_number(self.message)


@dataclasses.dataclass(frozen=True, slots=True)
class Noop(Command):
    """``NOOP`` (RFC 1939 §5)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rset(Command):
    """``RSET`` (RFC 1939 §5): unmark every message marked deleted."""


@dataclasses.dataclass(frozen=True, slots=True)
class Top(Command):
    """``TOP msg n`` (RFC 1939 §7): the header and ``n`` body lines (multi-line).

    Args:
        message: the message number.
        lines: how many lines of the body; 0 gives the header alone.
    """

    message: int
    lines: int

    def __post_init__(self) -> None:
        _check_message_number(self.message)
        if not isinstance(self.lines, int) or isinstance(self.lines, bool) or self.lines < 0:
            raise ValueError(f"TOP line count must be a non-negative int, got {self.lines!r}")

    @property
    def multiline(self) -> bool:
        return True


@dataclasses.dataclass(frozen=True, slots=True)
class Uidl(Command):
    """``UIDL [msg]`` (RFC 1939 §7): unique-id listings, one or all.

    Args:
        message: a message number, or ``None`` for every message (multi-line).
    """

    message: int | None = None

    def __post_init__(self) -> None:
        if self.message is not None:
            _check_message_number(self.message)

    @property
    def multiline(self) -> bool:
        return self.message is None


@dataclasses.dataclass(frozen=True, slots=True)
class Quit(Command):
    """``QUIT`` (RFC 1939 §4, §6): end the session.

    From the TRANSACTION state it enters UPDATE: the messages marked deleted
    are removed before the ``+OK``.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class Utf8(Command):
    """``UTF8`` (RFC 6856 §2.1): switch the session to UTF-8 mode.

    Only in the AUTHORIZATION state, and never followed by STLS.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class Lang(Command):
    """``LANG [range]`` (RFC 6856 §3): list languages, or choose one.

    Args:
        language: a basic language range (``"en"``, ``"de-CH"``) or ``"*"``
            (the server's preferred one); ``None`` asks for the language
            listing (multi-line).
    """

    language: str | None = None

    def __post_init__(self) -> None:
        if self.language is not None:
            check_no_controls(self.language, "LANG argument")
            if not _LANGUAGE_RANGE.match(self.language):
                raise ValueError(f"not a language range (RFC 4647 §2.1): {self.language!r}")

    @property
    def multiline(self) -> bool:
        return self.language is None
