"""The CAPA answer parsed into typed values (RFC 2449 §5, §6; RFC 2595; RFC 6856).

Each line of the list is ``capa-tag *(SP param)``; tags are case-insensitive
and kept upper-case here. Unknown tags are kept (``entries``, ``in``) so a
caller can look at private extensions. A value that does not parse (``EXPIRE
soon``) is kept as text and its typed property is ``None``: capabilities are
advice, and one odd line should not cost the whole session.

RFC 2449 §5 says an ``-ERR`` to CAPA means "probe for capabilities as
before"; :meth:`Capabilities.unsupported` stands for that case, so the
client knows it asked and got nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

__all__ = ["Capabilities", "Expire", "LoginDelay"]


@dataclasses.dataclass(frozen=True, slots=True)
class Expire:
    """``EXPIRE`` (RFC 2449 §6.7): the server's minimum retention.

    Attributes:
        days: minimum days a message stays; 0 means mail may not be left on
            the server; ``None`` means ``NEVER`` (the server does not delete).
        per_user: ``USER`` followed: a more accurate value may come after
            login.
    """

    days: int | None
    per_user: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class LoginDelay:
    """``LOGIN-DELAY`` (RFC 2449 §6.5): minimum seconds between logins.

    Attributes:
        seconds: the delay.
        per_user: ``USER`` followed: the value may change after login.
    """

    seconds: int
    per_user: bool = False


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() and text.isascii() else None


@dataclasses.dataclass(frozen=True, slots=True)
class Capabilities:
    """What the server said it supports.

    Attributes:
        entries: ``(TAG, params)`` for each line, in order.
        supported: ``False`` when the server answered CAPA with ``-ERR``
            (then every capability reads as absent).
        raw: the answer as received.
    """

    entries: tuple[tuple[str, tuple[str, ...]], ...] = ()
    supported: bool = True
    raw: bytes = dataclasses.field(default=b"", repr=False, compare=False)

    @classmethod
    def from_lines(cls, lines: Iterable[str], raw: bytes = b"") -> Capabilities:
        """Parse the capability lines (without the status line and the dot)."""
        entries = []
        for line in lines:
            words = line.split()
            if words:
                entries.append((words[0].upper(), tuple(words[1:])))
        return cls(tuple(entries), True, raw)

    @classmethod
    def unsupported(cls, raw: bytes = b"") -> Capabilities:
        """The server refused CAPA (RFC 2449 §5: the client probes instead)."""
        return cls((), False, raw)

    def __contains__(self, tag: object) -> bool:
        return isinstance(tag, str) and any(name == tag.upper() for name, _ in self.entries)

    def get(self, tag: str) -> tuple[str, ...] | None:
        """The parameters of ``tag`` (empty tuple for none), or ``None`` if absent."""
        for name, params in self.entries:
            if name == tag.upper():
                return params
        return None

    # ------------------------------------------------------------ typed

    @property
    def top(self) -> bool:
        """TOP is available (RFC 2449 §6.1)."""
        return "TOP" in self

    @property
    def uidl(self) -> bool:
        """UIDL is available (RFC 2449 §6.8)."""
        return "UIDL" in self

    @property
    def user(self) -> bool:
        """USER/PASS login is available (RFC 2449 §6.2)."""
        return "USER" in self

    @property
    def sasl(self) -> tuple[str, ...]:
        """The SASL mechanisms AUTH accepts, upper case (RFC 2449 §6.3)."""
        return tuple(m.upper() for m in self.get("SASL") or ())

    @property
    def resp_codes(self) -> bool:
        """Response texts starting with ``[`` carry a response code (RFC 2449 §6.4)."""
        return "RESP-CODES" in self

    @property
    def auth_resp_code(self) -> bool:
        """``[AUTH]`` marks credential failures (RFC 3206 §6)."""
        return "AUTH-RESP-CODE" in self

    @property
    def pipelining(self) -> bool:
        """Commands may be sent without waiting for answers (RFC 2449 §6.6)."""
        return "PIPELINING" in self

    @property
    def stls(self) -> bool:
        """STLS is available (RFC 2595 §4)."""
        return "STLS" in self

    @property
    def utf8(self) -> bool:
        """The UTF8 command is available (RFC 6856 §2)."""
        return "UTF8" in self

    @property
    def utf8_user(self) -> bool:
        """USER, PASS and APOP take UTF-8 (RFC 6856 §2.2: ``UTF8 USER``)."""
        return "USER" in (p.upper() for p in self.get("UTF8") or ())

    @property
    def lang(self) -> bool:
        """The LANG command is available (RFC 6856 §3)."""
        return "LANG" in self

    @property
    def expire(self) -> Expire | None:
        """The retention policy (RFC 2449 §6.7), or ``None`` (absent or unreadable)."""
        params = self.get("EXPIRE")
        if not params:
            return None
        per_user = len(params) > 1 and params[1].upper() == "USER"
        if params[0].upper() == "NEVER":
            return Expire(None, per_user)
        days = _number(params[0])
        return Expire(days, per_user) if days is not None else None

    @property
    def login_delay(self) -> LoginDelay | None:
        """The login delay (RFC 2449 §6.5), or ``None`` (absent or unreadable)."""
        params = self.get("LOGIN-DELAY")
        if not params:
            return None
        seconds = _number(params[0])
        if seconds is None:
            return None
        return LoginDelay(seconds, len(params) > 1 and params[1].upper() == "USER")

    @property
    def implementation(self) -> str | None:
        """The server's self-description (RFC 2449 §6.9); advice for logs only."""
        params = self.get("IMPLEMENTATION")
        return " ".join(params) if params is not None else None
