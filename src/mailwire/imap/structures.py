"""What FETCH says about a message: ENVELOPE and BODYSTRUCTURE (RFC 9051 §7.5.2).

These are plain, frozen values built by the parser; nothing here reads the
wire. Text is already decoded to ``str``: RFC 2047 encoded-words in subjects
and display names are decoded, MIME type names are lower-cased (they are
case-insensitive, RFC 2045 §5.1), parameter names too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

__all__ = ["Address", "BodyStructure", "Envelope"]

#: The one empty read-only mapping that every empty mapping field shares.
EMPTY: Mapping[Any, Any] = MappingProxyType({})


def empty() -> Mapping[Any, Any]:
    """Default factory for mapping fields: the shared :data:`EMPTY`."""
    return EMPTY


@dataclasses.dataclass(frozen=True, slots=True)
class Address:
    """One address of an ENVELOPE address list (RFC 9051 §7.5.2, "address").

    RFC 5322 groups appear as two markers around their members: a start
    (``mailbox`` is the group name, ``host`` is ``None``) and an end (both
    ``None``).

    Attributes:
        name: the display name, decoded (``None`` when absent).
        adl: the obsolete source route, or ``None``.
        mailbox: the local part (or the group name of a group start).
        host: the domain (``None`` for the group markers).
    """

    name: str | None
    adl: str | None
    mailbox: str | None
    host: str | None

    @property
    def addr_spec(self) -> str | None:
        """``mailbox@host``, the mailbox alone without a host, ``None`` for markers."""
        mailbox = self.mailbox
        host = self.host
        if mailbox is None or host is None:  # a group marker
            return None
        return f"{mailbox}@{host}" if host else mailbox

    @property
    def is_group_start(self) -> bool:
        """Whether this marks the start of an RFC 5322 group."""
        return self.host is None and self.mailbox is not None

    @property
    def is_group_end(self) -> bool:
        """Whether this marks the end of an RFC 5322 group."""
        return self.host is None and self.mailbox is None

    def __str__(self) -> str:
        spec = self.addr_spec or ""
        return f"{self.name} <{spec}>" if self.name else spec


@dataclasses.dataclass(frozen=True, slots=True)
class Envelope:
    """The ENVELOPE of a message: its main header fields, parsed by the server.

    Attributes:
        date: the Date header as an aware ``datetime``; ``None`` when absent
            or unreadable (``date_text`` keeps what was sent).
        subject: the Subject, RFC 2047 decoded.
        from_, sender, reply_to, to, cc, bcc: the address lists (empty
            when the server sent NIL). RFC 9051 §7.5.2 has servers fill Sender
            and Reply-To from From when the message lacks them.
        in_reply_to: the In-Reply-To header as sent.
        message_id: the Message-ID header as sent.
        date_text: the Date header as sent.
    """

    date: datetime | None
    subject: str | None
    from_: tuple[Address, ...]
    sender: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    in_reply_to: str | None
    message_id: str | None
    date_text: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class BodyStructure:
    """The MIME structure of a message or part (BODY / BODYSTRUCTURE).

    A multipart has ``type == "multipart"`` and its children in ``parts``;
    the single-part fields are then ``None``. A ``message/rfc822`` (or
    ``message/global``) part carries the embedded message's ``envelope`` and
    ``body``. Extension data (``md5`` onwards) is only there for
    BODYSTRUCTURE, not for BODY.

    Treat the mappings as read-only: equal parameter lists may share one
    (those are read-only proxies).

    Attributes:
        type, subtype: the media type, lower case (``"text"``, ``"plain"``).
        params: Content-Type parameters, names lower case.
        parts: the children of a multipart.
        id, description: Content-ID and Content-Description.
        encoding: Content-Transfer-Encoding, upper case (``"BASE64"``).
        size: the size in octets of the encoded body.
        lines: the size in lines (text/* and message/rfc822 only).
        envelope, body: the embedded message of a message/rfc822 part.
        md5: Content-MD5.
        disposition: Content-Disposition type, lower case (``"attachment"``).
        disposition_params: its parameters, names lower case.
        language: Content-Language values.
        location: Content-Location.
        extensions: later extension data, as parsed generic values.
    """

    type: str
    subtype: str
    params: Mapping[str, str] = dataclasses.field(default_factory=empty)
    parts: tuple[BodyStructure, ...] = ()
    id: str | None = None
    description: str | None = None
    encoding: str | None = None
    size: int | None = None
    lines: int | None = None
    envelope: Envelope | None = None
    body: BodyStructure | None = None
    md5: str | None = None
    disposition: str | None = None
    disposition_params: Mapping[str, str] = dataclasses.field(default_factory=empty)
    language: tuple[str, ...] | None = None
    location: str | None = None
    extensions: tuple[object, ...] = ()

    @property
    def content_type(self) -> str:
        """``"type/subtype"``."""
        return f"{self.type}/{self.subtype}"

    @property
    def is_multipart(self) -> bool:
        """Whether this is a multipart with children in ``parts``."""
        return self.type == "multipart"

    @property
    def filename(self) -> str | None:
        """The disposition's ``filename``, else the type's ``name`` parameter."""
        return self.disposition_params.get("filename") or self.params.get("name")

    def walk(self) -> Iterator[tuple[str, BodyStructure]]:
        """Every part with its IMAP section number, depth first.

        The message itself comes first with section ``""``. Numbering follows
        RFC 9051 §6.4.5: the children of a multipart are 1, 2, ...; the body
        of a message/rfc822 part ``n`` is numbered inside it (``n.1``, ...).
        Iterative, so any depth the parser accepted is safe.
        """
        yield "", self
        # One enumerate() per open level: a part costs one step of its
        # level's iterator, and a multipart one push.
        stack: list[tuple[str, Iterator[tuple[int, BodyStructure]]]] = []
        part = self
        section = ""
        while True:
            children = part.parts
            if not children and part.body is not None:
                inner = part.body
                children = inner.parts or (inner,)
            if children:
                stack.append((f"{section}." if section else "", enumerate(children, 1)))
            while stack:
                prefix, level = stack[-1]
                step = next(level, None)
                if step is not None:
                    section = f"{prefix}{step[0]}"
                    part = step[1]
                    yield section, part
                    break
                stack.pop()
            else:
                return
