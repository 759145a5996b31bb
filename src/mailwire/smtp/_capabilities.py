"""The EHLO / LHLO reply parsed into typed capabilities (RFC 5321 §4.1.1.1).

The first line of a positive EHLO reply names the server; each further line is
``keyword [params]`` (ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")).
Keywords are case-insensitive and kept upper-case here. Some old servers wrote
``AUTH=LOGIN PLAIN`` instead of ``AUTH LOGIN PLAIN``; both count as AUTH.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from mailwire.smtp.events import Reply

__all__ = ["Capabilities"]

_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")


@dataclasses.dataclass(frozen=True, slots=True)
class Capabilities:
    """What the server said it supports.

    Attributes:
        domain: the name the server gave on the first line.
        keywords: upper-case keyword -> its parameters as sent.
        esmtp: ``False`` after a HELO fallback (no extensions at all).
    """

    domain: str = ""
    keywords: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    esmtp: bool = True

    @classmethod
    def from_reply(cls, reply: Reply) -> Capabilities:
        """Parse a positive EHLO or LHLO reply."""
        first, *rest = reply.lines or [""]
        keywords: dict[str, tuple[str, ...]] = {}
        for line in rest:
            words = line.split()
            if not words:
                continue
            keyword, params = words[0], words[1:]
            if "=" in keyword:  # the pre-standard AUTH=LOGIN PLAIN form
                keyword, _, first_param = keyword.partition("=")
                params = [first_param, *params] if first_param else params
            if not _KEYWORD.match(keyword):
                continue  # not a keyword: ignore the line rather than fail the session
            key = keyword.upper()
            seen = keywords.get(key, ())  # a keyword may repeat (AUTH and AUTH=)
            keywords[key] = seen + tuple(p for p in params if p not in seen)
        domain = first.split()[0] if first.split() else ""
        return cls(domain=domain, keywords=keywords, esmtp=True)

    @classmethod
    def helo(cls, reply: Reply) -> Capabilities:
        """What a HELO reply tells: the server's name, no extensions."""
        words = reply.lines[0].split() if reply.lines else []
        return cls(domain=words[0] if words else "", keywords={}, esmtp=False)

    def __contains__(self, keyword: object) -> bool:
        return isinstance(keyword, str) and keyword.upper() in self.keywords

    def params(self, keyword: str) -> tuple[str, ...]:
        """The parameters of ``keyword`` (empty if absent or without any)."""
        return self.keywords.get(keyword.upper(), ())

    @property
    def size(self) -> int | None:
        """The SIZE limit in octets (RFC 1870 §4); ``None`` when none is declared.

        ``SIZE`` without a number, or ``SIZE 0``, means no fixed limit.
        """
        params = self.params("SIZE")
        # RFC 1870 §3: ASCII digits only (str.isdigit also accepts superscripts and other scripts).
        if "SIZE" not in self or not params or not (params[0].isascii() and params[0].isdigit()):
            return None
        value = int(params[0])
        return value or None

    @property
    def auth(self) -> tuple[str, ...]:
        """SASL mechanisms offered (RFC 4954 §3), upper-case."""
        return tuple(m.upper() for m in self.params("AUTH"))

    @property
    def pipelining(self) -> bool:
        """RFC 2920."""
        return "PIPELINING" in self

    @property
    def chunking(self) -> bool:
        """BDAT (RFC 3030)."""
        return "CHUNKING" in self

    @property
    def binarymime(self) -> bool:
        """BODY=BINARYMIME (RFC 3030); only usable with CHUNKING."""
        return "BINARYMIME" in self and self.chunking

    @property
    def eightbitmime(self) -> bool:
        """BODY=8BITMIME (RFC 6152)."""
        return "8BITMIME" in self

    @property
    def smtputf8(self) -> bool:
        """UTF-8 addresses and headers (RFC 6531)."""
        return "SMTPUTF8" in self

    @property
    def dsn(self) -> bool:
        """Delivery status notifications (RFC 3461)."""
        return "DSN" in self

    @property
    def starttls(self) -> bool:
        """RFC 3207."""
        return "STARTTLS" in self

    @property
    def enhanced_status_codes(self) -> bool:
        """RFC 2034."""
        return "ENHANCEDSTATUSCODES" in self

    @property
    def requiretls(self) -> bool:
        """RFC 8689."""
        return "REQUIRETLS" in self

    @property
    def mt_priority(self) -> str | None:
        """The MT-PRIORITY policy name (RFC 6710), or ``None`` when not offered."""
        if "MT-PRIORITY" not in self:
            return None
        params = self.params("MT-PRIORITY")
        return params[0] if params else "MIXER"
