"""Parsed entities (the second tier): a view over the message's bytes.

An :class:`Entity` is three offsets into one shared buffer (where its header
block starts, where its body starts, where it ends). Everything else is
computed on first use and cached: the fields, the content type and its
parameters, the child entities, the decoded content. Opening a message and
reading its Subject therefore touches the header block only.

``bytes(entity)`` is the exact slice it was parsed from, so an unmodified
message serialises back to the bytes it came from.

Limits (security.md S29): nesting past ``Limits.max_nesting_depth`` and parts
past ``Limits.max_mime_parts`` (counted over the whole message) are not
split further; a defect says so, or strict mode raises ``NestingTooDeep`` /
``TooManyParts``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from mailwire._charset import text_codec
from mailwire.errors import NestingTooDeep, TooManyParts
from mailwire.limits import Limits
from mailwire.mime import _encodings, _headers, _multipart, _params
from mailwire.mime._defects import Defect, DuplicateHeaderError, MIMEDefectError

if TYPE_CHECKING:
    import email.message
    import email.policy

    from mailwire.mime.address import Address

__all__ = ["Entity"]

_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_IDENTITY = frozenset({"7bit", "8bit", "binary"})
_UU = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})


_CTE_NAMES = {name.encode(): name for name in _encodings.KNOWN}
_CTE_NAMES.update({name.upper().encode(): name for name in _encodings.KNOWN})
_CTE_NAMES.update({name.capitalize().encode(): name for name in _encodings.KNOWN})
_TYPE_CACHE: dict[bytes, tuple[str, tuple[tuple[str, str], ...], tuple[Defect, ...]]] = {}


def _parsed_type(raw: bytes) -> tuple[str, tuple[tuple[str, str], ...], tuple[Defect, ...]]:
    """A Content-Type value read once per distinct value (they repeat a lot)."""
    cached = _TYPE_CACHE.get(raw)
    if cached is not None:
        return cached
    found: list[Defect] = []
    text = _headers.decode_text(_headers.unfold(raw), found).strip()
    kind, rest = _params.parse_value(text, found, media_type=True)
    params = _params.parse_params(rest, found)
    result = (kind, tuple(params.items()), tuple(found))
    if len(_TYPE_CACHE) >= 1024:
        _TYPE_CACHE.clear()
    _TYPE_CACHE[raw] = result
    return result


class _Context:
    """What all entities of one parse share: the buffer, the mode, the count."""

    __slots__ = ("count", "data", "limits", "strict")

    def __init__(
        self, data: bytes, strict: bool, limits: Limits, count: list[int] | None = None
    ) -> None:
        self.data = data
        self.strict = strict
        self.limits = limits
        self.count = count if count is not None else [1]  # entities made so far


class Entity:
    """One MIME entity: a message, a part of a multipart, or an embedded message.

    Attributes:
        start: offset of the first header byte in the parsed buffer.
        body_start: offset of the first body byte.
        end: offset just past the entity.
        depth: 0 for the message, one more per multipart or message level.
        parent: the enclosing entity, or ``None``.
    """

    __slots__ = (
        "_cte",
        "_ctx",
        "_ctype",
        "_default_type",
        "_defects",
        "_epilogue",
        "_fields_end",
        "_header_start",
        "_headers",
        "_params",
        "_parts",
        "_preamble",
        "body_start",
        "depth",
        "end",
        "parent",
        "start",
    )  # fmt: skip

    def __init__(
        self,
        ctx: _Context,
        start: int,
        end: int,
        *,
        depth: int = 0,
        parent: Entity | None = None,
        default_type: str = "text/plain",
    ) -> None:
        self._ctx = ctx
        self.start = start
        self.end = end
        self.depth = depth
        self.parent = parent
        self._default_type = default_type
        self._defects: list[Defect] = []
        self._headers: _headers.Headers | None = None
        self._ctype: str | None = None
        self._params: dict[str, str] = {}
        self._cte: str | None = None
        self._parts: list[Entity] | None = None
        self._preamble = self._epilogue = (end, end)
        self._header_start = start
        if parent is None or parent.content_type in _MESSAGE_TYPES:
            self._header_start = self._skip_envelope_lines(ctx.data, start, end)
        fields_end, self.body_start, clean = _headers.header_block_end(
            ctx.data, self._header_start, end
        )
        self._fields_end = fields_end
        if fields_end - self._header_start > ctx.limits.max_header_bytes:
            self._defect(
                "header-too-large",
                f"header block over {ctx.limits.max_header_bytes} bytes",
                "Limits.max_header_bytes",
            )
        if not clean:
            self._defect(
                "missing-header-separator",
                "a line that is not a header field ends the header block",
                "RFC 5322 §2.1",
            )

    # ------------------------------------------------------------ basics --

    def _skip_envelope_lines(self, data: bytes, start: int, end: int) -> int:
        """Skip a UTF-8 byte order mark and an mbox ``From `` line at the top.

        Neither is part of an RFC 5322 message, but files saved from mail
        programs carry them (an embedded message may carry the ``>From ``
        form that mbox quoting made of it); the header block starts after.
        """
        pos = start
        if data.startswith(b"\xef\xbb\xbf", pos):
            pos += 3
            self._defects.append(Defect("byte-order-mark", "skipped", "RFC 5322 §2.1"))
        if data.startswith(b"From ", pos) or data.startswith(b">From ", pos):
            line_end = data.find(b"\n", pos, end)
            pos = end if line_end < 0 else line_end + 1
            self._defects.append(Defect("mbox-from-line", "skipped", "RFC 4155"))
        return pos

    def _defect(self, code: str, message: str, rfc: str = "") -> None:
        defect = Defect(code, message, rfc)
        if self._ctx.strict:
            raise MIMEDefectError(defect)
        self._defects.append(defect)

    def __bytes__(self) -> bytes:
        """The entity exactly as it was in the parsed input."""
        return self._ctx.data[self.start : self.end]

    def __repr__(self) -> str:
        return f"<Entity {self.content_type} {self.end - self.start} bytes>"

    @property
    def header_bytes(self) -> bytes:
        """The header block as received (without the empty line)."""
        return self._ctx.data[self._header_start : self._fields_end]

    @property
    def body_bytes(self) -> bytes:
        """The body as received: transfer encoding not removed."""
        return self._ctx.data[self.body_start : self.end]

    @property
    def headers(self) -> _headers.Headers:
        """The header fields (case-insensitive; see :class:`Headers`)."""
        if self._headers is None:
            headers = _headers.Headers.from_block(self.header_bytes, self._defects)
            self._headers = headers
            for name in headers.repeated_singletons():
                defect = Defect(
                    "duplicate-header",
                    f"{name} occurs {headers.count(name)} times; the first is used "
                    "for the MIME structure, get() refuses to choose",
                    "RFC 5322 §3.6",
                )
                if self._ctx.strict:
                    raise DuplicateHeaderError(defect)
                self._defects.append(defect)
        return self._headers

    def _first_raw(self, name: str) -> bytes | None:
        # The first occurrence decides the structure (a repeated field is a
        # defect, recorded when the headers are read, S42). Before the
        # Headers view exists, one search of the block finds it: parts
        # whose other fields nobody reads never split their block.
        if self._headers is not None:
            return self._headers.first_raw(name)
        return _headers.find_first(self.header_bytes, name)

    def _first(self, name: str) -> str | None:
        value = self._first_raw(name)
        if value is None:
            return None
        return _headers.decode_text(_headers.unfold(value), self._defects).strip()

    # ------------------------------------------------------ content type --

    def _load_type(self) -> str:
        raw = self._first_raw("content-type")
        kind = ""
        if raw is not None:
            kind, params, found = _parsed_type(raw)
            self._params = dict(params)
            if found:
                if self._ctx.strict:
                    raise MIMEDefectError(found[0])
                self._defects.extend(found)
        if not kind:
            kind = self._default_type  # RFC 2045 §5.2
            if kind == "text/plain" and "charset" not in self._params:
                self._params = {"charset": "us-ascii", **self._params}
        elif kind not in _MESSAGE_TYPES and not kind.startswith("multipart/"):
            encoding = self.transfer_encoding
            if encoding not in _encodings.KNOWN and encoding not in _UU:
                # RFC 2049 §2: an unknown encoding makes the body opaque.
                kind = "application/octet-stream"
        self._ctype = kind
        return kind

    @property
    def content_type(self) -> str:
        """``type/subtype`` in lower case, with the RFC 2045 §5.2 defaults.

        ``text/plain`` when the field is missing or unreadable
        (``message/rfc822`` inside ``multipart/digest``, RFC 2046 §5.1.5),
        and ``application/octet-stream`` when the transfer encoding is
        unknown (RFC 2049 §2).
        """
        return self._ctype if self._ctype is not None else self._load_type()

    @property
    def maintype(self) -> str:
        """The part of :attr:`content_type` before the slash."""
        return self.content_type.partition("/")[0]

    @property
    def subtype(self) -> str:
        """The part of :attr:`content_type` after the slash."""
        return self.content_type.partition("/")[2]

    @property
    def params(self) -> dict[str, str]:
        """Content-Type parameters, names lower-cased, RFC 2231 decoded."""
        if self._ctype is None:
            self._load_type()
        return self._params

    @property
    def transfer_encoding(self) -> str:
        """The Content-Transfer-Encoding in lower case (``"7bit"`` by default)."""
        if self._cte is None:
            raw = self._first_raw("content-transfer-encoding")
            cte = _CTE_NAMES.get(raw) if raw is not None else "7bit"
            if cte is None:
                assert raw is not None
                value = _headers.decode_text(_headers.unfold(raw), self._defects)
                cte = value.split("(")[0].strip().lower() or "7bit"
            if cte not in _encodings.KNOWN and cte not in _UU:
                self._defect("unknown-encoding", f"{cte!r} read as binary", "RFC 2049 §2")
            self._cte = cte
        return self._cte

    @property
    def is_multipart(self) -> bool:
        """Whether the content type is ``multipart/*``."""
        return self.content_type.startswith("multipart/")

    # ------------------------------------------------------------- parts --

    @property
    def parts(self) -> list[Entity]:
        """The children: a multipart's parts, or a message/rfc822's message."""
        if self._parts is None:
            self._parts = self._load_parts()
        return self._parts

    def _room(self) -> bool:
        limit = self._ctx.limits.max_nesting_depth
        if self.depth + 1 <= limit:
            return True
        if self._ctx.strict:
            raise NestingTooDeep(f"MIME nesting deeper than {limit}", limit=limit)
        self._defects.append(
            Defect("nesting-too-deep", f"not split past depth {limit}", "security.md S29")
        )
        return False

    def _count(self, wanted: int) -> int:
        limit = self._ctx.limits.max_mime_parts
        granted = max(0, min(wanted, limit - self._ctx.count[0]))
        self._ctx.count[0] += granted
        if granted < wanted:
            if self._ctx.strict:
                raise TooManyParts(f"more than {limit} MIME parts", limit=limit)
            self._defects.append(
                Defect("too-many-parts", f"parts past {limit} not split", "security.md S29")
            )
        return granted

    def _load_parts(self) -> list[Entity]:
        kind = self.content_type
        if kind.startswith("multipart/"):
            return self._split()
        if kind in _MESSAGE_TYPES and self._room() and self._count(1):
            encoding = self.transfer_encoding
            if encoding in _IDENTITY:
                return [
                    Entity(self._ctx, self.body_start, self.end, depth=self.depth + 1, parent=self)
                ]
            self._defect(
                "encoded-message",
                f"{kind} with {encoding}; decoded, then parsed",
                "RFC 2046 §5.2.1",
            )
            inner = _Context(self.content(), self._ctx.strict, self._ctx.limits, self._ctx.count)
            return [Entity(inner, 0, len(inner.data), depth=self.depth + 1, parent=self)]
        return []

    def _split(self) -> list[Entity]:
        encoding = self.transfer_encoding
        if encoding not in _IDENTITY:
            self._defect("encoded-multipart", f"{encoding} on a multipart ignored", "RFC 2045 §6.4")
        boundary = self.params.get("boundary")
        if not boundary:
            self._defect("no-boundary", "multipart without a boundary", "RFC 2046 §5.1.1")
            return []
        if not self._room():
            return []
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.is_multipart and ancestor.params.get("boundary") == boundary:
                self._defect(
                    "reused-boundary",
                    "same boundary as an enclosing multipart; the outer one was split first",
                    "RFC 2046 §5.1.2",
                )
                break
            ancestor = ancestor.parent
        raw = boundary.encode("utf-8", "surrogateescape")
        budget = self._ctx.limits.max_mime_parts - self._ctx.count[0]
        found = _multipart.split(self._ctx.data, self.body_start, self.end, raw, max(budget, 0))
        self._preamble, self._epilogue = found.preamble, found.epilogue
        if found.prefix_lines:
            self._defect(
                "boundary-prefix",
                f"{found.prefix_lines} line(s) start with the delimiter but are not one",
                "RFC 2046 §5.1.1",
            )
        if not found.found:
            self._defect("no-delimiter", "no delimiter line found", "RFC 2046 §5.1.1")
            return []
        if not found.closed and not found.truncated:
            self._defect(
                "missing-close-delimiter", "parts run to the end of the body", "RFC 2046 §5.1.1"
            )
        wanted = len(found.parts) + (1 if found.truncated else 0)
        granted = self._count(wanted)
        child_type = "message/rfc822" if self.content_type == "multipart/digest" else "text/plain"
        return [
            Entity(
                self._ctx, start, end, depth=self.depth + 1, parent=self, default_type=child_type
            )
            for start, end in found.parts[:granted]
        ]

    @property
    def preamble(self) -> bytes:
        """A multipart's text before its first delimiter (``b""`` otherwise)."""
        _ = self.parts
        return self._ctx.data[self._preamble[0] : self._preamble[1]]

    @property
    def epilogue(self) -> bytes:
        """A multipart's text after its close delimiter (``b""`` otherwise)."""
        _ = self.parts
        return self._ctx.data[self._epilogue[0] : self._epilogue[1]]

    def walk(self) -> Iterator[Entity]:
        """This entity and every descendant, depth first, pre-order (as ``email``)."""
        stack = [self]
        while stack:
            entity = stack.pop()
            yield entity
            stack.extend(reversed(entity.parts))

    # ----------------------------------------------------------- content --

    def content(self) -> bytes:
        """The body with its transfer encoding removed; charset untouched.

        For multiparts and embedded messages, the body as received (RFC 2045
        §6.4: they carry no encoding of their own).
        """
        return self._content(check=False)

    def _content(self, *, check: bool) -> bytes:
        body = self.body_bytes
        kind = self.content_type
        if kind.startswith("multipart/"):
            return body
        return _encodings.decode_body(body, self.transfer_encoding, self._defects, check=check)

    @property
    def charset(self) -> str | None:
        """The charset parameter in lower case (``us-ascii`` for text by default)."""
        charset = self.params.get("charset")
        if charset:
            return charset.strip().lower()
        return "us-ascii" if self.maintype == "text" else None

    def text(self, errors: str = "replace") -> str:
        """The content decoded with the declared charset (RFC 2046 §4.1.2).

        Args:
            errors: the codec error handler; bytes that are invalid in the
                charset are replaced (and a defect recorded) by default.

        Raises:
            UnicodeDecodeError: only when ``errors="strict"``.
        """
        data = self.content()
        charset = self.charset or "us-ascii"
        codec = text_codec(charset)
        if codec is None:
            self._defects.append(
                Defect("unknown-charset", f"{charset!r}; read as UTF-8", "RFC 2046 §4.1.2")
            )
            return data.decode("utf-8", errors)
        try:
            return data.decode(codec, "strict")
        except UnicodeError:
            self._defects.append(
                Defect("charset-mismatch", f"bytes invalid in {charset}", "RFC 2046 §4.1.2")
            )
        try:
            return data.decode(codec, errors)
        except UnicodeError:
            if errors == "strict":
                raise
            return data.decode("utf-8", errors)  # a codec past the probe that still refuses

    @property
    def defects(self) -> list[Defect]:
        """Problems found in this entity (headers, structure and payload).

        Reading it checks everything about this entity that is not yet
        checked, the payload decoding of a leaf included; children have
        their own lists (:meth:`all_defects` gathers them).
        """
        _ = self.headers
        _ = self.parts
        if not self.is_multipart and not self.parts:
            self._content(check=True)
        self._defects[:] = dict.fromkeys(self._defects)
        return self._defects

    def all_defects(self) -> list[tuple[Entity, Defect]]:
        """Every defect of this entity and its descendants, in walk order."""
        return [(entity, defect) for entity in self.walk() for defect in entity.defects]

    # ---------------------------------------------------------- mail API --

    @property
    def disposition(self) -> str:
        """The Content-Disposition token in lower case, or ``""`` (RFC 2183)."""
        value = self._first("content-disposition")
        if not value:
            return ""
        return _params.parse_value(value, self._defects, media_type=False)[0]

    @property
    def disposition_params(self) -> dict[str, str]:
        """Content-Disposition parameters, RFC 2231 decoded (RFC 2183 §2)."""
        value = self._first("content-disposition")
        if not value:
            return {}
        rest = _params.parse_value(value, self._defects, media_type=False)[1]
        return _params.parse_params(rest, self._defects)

    @property
    def filename(self) -> str | None:
        """The file name: Content-Disposition ``filename``, else Content-Type ``name``.

        Encoded-words in the value (not allowed by RFC 2047 §5 but common)
        are decoded, with a defect.
        """
        name = self.disposition_params.get("filename") or self.params.get("name")
        if name and "=?" in name:
            from mailwire.mime._rfc2047 import decode_words

            decoded = decode_words(name, self._defects)
            if decoded != name:
                self._defects.append(
                    Defect("encoded-word-in-parameter", "decoded anyway", "RFC 2047 §5")
                )
            name = decoded
        return name

    @property
    def content_id(self) -> str | None:
        """The Content-ID without its angle brackets (RFC 2392)."""
        value = self._first("content-id")
        return value.strip().strip("<>") if value else None

    @property
    def subject(self) -> str | None:
        """The Subject, decoded (see :meth:`Headers.get`).

        Raises:
            DuplicateHeaderError: more than one Subject field (S42).
        """
        return self.headers.get("subject")

    @property
    def date(self) -> datetime.datetime | None:
        """The Date as a datetime, or ``None`` when absent or unreadable.

        Raises:
            DuplicateHeaderError: more than one Date field (S42).
        """
        from mailwire.mime._date import parse_date

        value = self.headers.get("date")
        return parse_date(value) if value else None

    @property
    def message_id(self) -> str | None:
        """The Message-ID, unfolded, brackets kept.

        Raises:
            DuplicateHeaderError: more than one Message-ID field (S42).
        """
        return self.headers.get("message-id")

    def addresses(self, name: str) -> list[Address]:
        """The mailboxes of an address field (groups flattened).

        Raises:
            DuplicateHeaderError: the field occurs more than once (S42).
        """
        from mailwire.mime.address import mailboxes, parse_address_list

        raw = self.headers.raw(name)
        if raw is None:
            return []
        text = _headers.decode_text(_headers.unfold(raw), self._defects)
        return mailboxes(parse_address_list(text, strict=self._ctx.strict, defects=self._defects))

    # ------------------------------------------------------ serialisation --

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The entity's bytes as received, in chunks (for SMTP and sinks)."""
        size = chunk_size or self._ctx.limits.chunk_size
        view = memoryview(self._ctx.data)
        for offset in range(self.start, self.end, size):
            yield bytes(view[offset : min(offset + size, self.end)])

    def write_to(self, file: BinaryIO) -> int:
        """Write the entity's bytes to a binary file; returns the count."""
        count = 0
        for chunk in self.iter_bytes():
            count += file.write(chunk) or 0
        return count

    def to_email_message(self, policy: email.policy.Policy[Any] | None = None) -> Any:
        """The same message as an :class:`email.message.EmailMessage`.

        Args:
            policy: the ``email`` policy (``email.policy.default`` when None).
        """
        from mailwire.mime.convert import to_email_message

        return to_email_message(self, policy)
