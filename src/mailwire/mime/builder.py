"""``mime.Message``: build a message and stream it (the mail-level tier).

The structure follows from what the message holds (RFC 2046 §5.1, RFC 2387):

- text and HTML: ``multipart/alternative`` (plain text first, §5.1.4);
- inline images with HTML: the HTML becomes ``multipart/related`` with the
  images after it (RFC 2387), inside the alternative;
- attachments: ``multipart/mixed`` around all of that.

Serialising streams: headers, then each part, an attachment read and
base64-encoded block by block, so a 50 MB file never sits in memory.
``iter_bytes()`` without arguments gives a message any SMTP server accepts:
7-bit only, RFC 2047 headers, A-label domains. The keyword options use what
the transport offers: ``eight_bit`` (8BITMIME, RFC 6152), ``binary``
(BINARYMIME, RFC 3030, sent with BDAT), ``utf8_headers`` (SMTPUTF8, RFC 6531
and RFC 6532).

Boundaries are ``=_`` and 24 random hex digits (the message's own, so that
serialising twice gives the same bytes) plus a level digit: ``=_``
never occurs in base64 or quoted-printable output, and 7bit/8bit/binary
content is searched for the delimiter before it is used (a new boundary is
drawn if found), so a boundary cannot occur in what it encloses; all the
boundaries of a message have the same length, so none is a prefix of
another (security.md S43).
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

from mailwire.errors import MIMEError
from mailwire.mime import _encodings, _fold, _params
from mailwire.mime._parts import Attachment, Source, normalize_newlines, rfc822_encoding
from mailwire.mime.address import Address, domain_to_ascii, parse_address, parse_address_list

__all__ = ["Attachment", "Message"]

AddressInput = str | Address | tuple[str, str]
_CHUNK = 64 * 1024
_RESERVED = frozenset(
    {
        "from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id",
        "mime-version", "sender", "x-priority", "importance",
    }
)  # fmt: skip
# Trace fields (RFC 5322 §3.6.7): servers add them on the way (RFC 5321 §4.4);
# an author writing one would forge the message's path.
_TRACE = frozenset({"received", "return-path"})
# Defined fields whose value is a list of msg-ids (RFC 5322 §3.6.4).
_MSG_ID_LISTS = frozenset({"in-reply-to", "references"})
_MSG_ID = re.compile(r"\s*<[!-;=?-~]+@[!-;=?-~]+>")
_PRIORITY = {"high": "1 (Highest)", "normal": "3 (Normal)", "low": "5 (Lowest)"}
_IMPORTANCE = frozenset({"high", "normal", "low"})  # RFC 2156 §5.3.4


def _msg_id_list(value: str) -> bool:
    """Whether ``value`` is one or more ``<left@right>`` (no comments or obsolete forms)."""
    position, found = 0, 0
    while match := _MSG_ID.match(value, position):
        position, found = match.end(), found + 1
    return found > 0 and not value[position:].strip()


def _address(value: AddressInput) -> Address:
    if isinstance(value, Address | tuple):
        name, spec = (value.name, value.addr_spec) if isinstance(value, Address) else value
        _fold.check_value(name, "display name")
        parsed = parse_address(spec)
        if parsed.name:
            raise ValueError(f"{spec!r} is not a bare addr-spec")
        return Address(name, parsed.addr_spec)
    return parse_address(_fold.check_value(value, "address"))


def _addresses(values: AddressInput | Iterable[AddressInput] | None) -> list[Address]:
    """One address, an address-list string, or an iterable of addresses.

    A tuple is always one ``(name, addr_spec)`` pair; give several addresses
    as a list.
    """
    if values is None:
        return []
    if isinstance(values, str):
        _fold.check_value(values, "address")
        return [_address(str(item)) for item in parse_address_list(values, strict=True)]
    if isinstance(values, Address | tuple):
        return [_address(values)]
    return [_address(value) for value in values]


class _Leaf:
    """One part ready to write: its header lines and its encoded body."""

    def __init__(self, headers: list[bytes], body: Iterable[bytes], check: bytes | None) -> None:
        self.headers = headers
        self.body = body
        self.check = check  # raw identity-encoded content to test boundaries against


class _Multi:
    def __init__(self, subtype: str, children: list[_Leaf | _Multi], extra: str = "") -> None:
        self.subtype = subtype
        self.children = children
        self.extra = extra
        self.boundary = ""


class Message:
    """A message to build: addresses, subject, text and/or HTML, attachments.

    Date and Message-ID are made when the message is created (unless given),
    so serialising twice gives the same headers.

    Args:
        sender: the author (From); ``"Name <a@b>"``, ``("Name", "a@b")`` or
            an :class:`Address`.
        to, cc, bcc, reply_to: one address or a list of them. Bcc is never
            written unless asked (``include_bcc``); it is in
            :attr:`envelope_recipients`.
        subject: the Subject.
        text: the plain-text body.
        html: the HTML body.
        date: the Date (now when ``None``).
        message_id: the Message-ID with its brackets (made when ``None``).
        headers: more fields, ``{name: value}`` or ``(name, value)`` pairs.
        priority: ``"high"``, ``"normal"`` or ``"low"`` (``X-Priority``).
        importance: ``"high"``, ``"normal"`` or ``"low"`` (``Importance``,
            RFC 2156 §5.3.4).

    Raises:
        ValueError: an invalid address, CR/LF/NUL in a value (S19), an
            invalid or reserved field name, an unknown priority.
    """

    def __init__(
        self,
        *,
        sender: AddressInput | None = None,
        to: AddressInput | Iterable[AddressInput] | None = None,
        subject: str | None = None,
        text: str | None = None,
        html: str | None = None,
        cc: AddressInput | Iterable[AddressInput] | None = None,
        bcc: AddressInput | Iterable[AddressInput] | None = None,
        reply_to: AddressInput | Iterable[AddressInput] | None = None,
        date: datetime.datetime | None = None,
        message_id: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        priority: str | None = None,
        importance: str | None = None,
    ) -> None:
        from mailwire.mime._date import format_date

        self.sender = _address(sender) if sender is not None else None
        self.to = _addresses(to)
        self.cc = _addresses(cc)
        self.bcc = _addresses(bcc)
        self.reply_to = _addresses(reply_to)
        self.subject = _fold.check_value(subject, "subject") if subject is not None else None
        self.text = _fold.check_value_body(text) if text is not None else None
        self.html = _fold.check_value_body(html) if html is not None else None
        self.date = format_date(date)
        self._token = os.urandom(12).hex()
        if message_id is None:
            domain = domain_to_ascii(self.sender.domain) if self.sender else "mailwire.invalid"
            stamp = int(datetime.datetime.now().timestamp() * 1000)
            message_id = f"<{stamp:x}.{self._token}@{domain}>"
        _fold.check_value(message_id, "Message-ID")
        if not (message_id.startswith("<") and message_id.endswith(">") and "@" in message_id):
            raise ValueError(f"a Message-ID looks like <left@right>, not {message_id!r}")
        self.message_id = message_id
        if priority is not None and priority not in _PRIORITY:
            raise ValueError(f"priority is high, normal or low, not {priority!r}")
        if importance is not None and importance not in _IMPORTANCE:
            raise ValueError(f"importance is high, normal or low, not {importance!r}")
        self.priority = priority
        self.importance = importance
        self.extra_headers: list[tuple[str, str]] = []
        self.attachments: list[Attachment] = []
        pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
        for name, value in pairs:
            self.add_header(name, value)

    # ------------------------------------------------------------- build --

    def add_header(self, name: str, value: str) -> None:
        """Add a field (written as unstructured text, RFC 2047 where needed).

        Raises:
            ValueError: an invalid name (S19), CR/LF/NUL in the value, a
                field this class writes itself (From, To, Content-* ...; a
                second From is refused, S42), a trace or Resent-* field
                (RFC 5322 §3.6.6-§3.6.7), or In-Reply-To/References that is
                not a list of ``<id@domain>`` (§3.6.4).
        """
        _fold.check_name(name)
        _fold.check_value(value)
        lower = name.lower()
        if lower in _RESERVED or lower.startswith("content-"):
            raise ValueError(f"{name} is set through Message's own arguments")
        if lower in _TRACE:
            raise ValueError(f"{name} is a trace field (RFC 5322 §3.6.7): servers add it")
        if lower.startswith("resent-"):
            raise ValueError(
                f"{name} belongs to re-sending an existing message (RFC 5322 §3.6.6), "
                "not to a new one"
            )
        if lower in _MSG_ID_LISTS and not _msg_id_list(value):
            raise ValueError(f"{name} must be a list of <id@domain> (RFC 5322 §3.6.4)")
        self.extra_headers.append((name, value))

    def attach(
        self,
        source: Source,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
        content_id: str | None = None,
    ) -> Attachment:
        """Attach a file: a path, bytes, or a binary file.

        Args:
            source: a path (``str`` or path-like; read when serialised),
                ``bytes``, or a binary file (read when serialised).
            filename: the name offered (default: the path's base name).
            content_type: ``type/subtype``; guessed from the file name
                (``mimetypes``), else ``application/octet-stream``.
            inline: show it in the body (with HTML: in multipart/related).
            content_id: the Content-ID without brackets; made for inline
                parts when ``None``.

        Returns:
            The :class:`Attachment` (its ``content_id`` for ``cid:`` URLs).

        Raises:
            ValueError: CR/LF/NUL in a name, an invalid content type.
            TypeError: an unsupported source.
        """
        stored: bytes | str | BinaryIO
        position = None
        if isinstance(source, bytes | bytearray | memoryview):
            stored = bytes(source)
        elif isinstance(source, str | os.PathLike):
            stored = os.fspath(source)
            if filename is None:
                filename = os.path.basename(stored)
        elif hasattr(source, "read"):
            stored = source
            if source.seekable():
                position = source.tell()
            name = getattr(source, "name", None)
            if filename is None and isinstance(name, str):
                filename = os.path.basename(name)
        else:
            raise TypeError(f"cannot attach a {type(source).__name__}")
        if filename is not None:
            _fold.check_value(filename, "file name")
        if content_type is None:
            content_type = _guess_type(filename)
        _fold.check_value(content_type, "content type")
        if content_type.count("/") != 1 or not all(content_type.split("/")):
            raise ValueError(f"invalid content type {content_type!r}")
        if content_id is None and inline:
            domain = domain_to_ascii(self.sender.domain) if self.sender else "mailwire.invalid"
            content_id = f"part{len(self.attachments) + 1}.{self._token}@{domain}"
        if content_id is not None:
            _fold.check_value(content_id, "Content-ID")
            content_id = content_id.strip("<>")
        attachment = Attachment(
            stored, filename, content_type.lower(), inline, content_id, position
        )
        self.attachments.append(attachment)
        return attachment

    # ---------------------------------------------------------- envelope --

    @property
    def envelope_sender(self) -> str:
        """The sender's addr-spec for MAIL FROM (A-label domain when possible).

        Raises:
            MIMEError: the message has no sender.
        """
        if self.sender is None:
            raise MIMEError("the message has no sender")
        return _envelope_address(self.sender)

    @property
    def envelope_recipients(self) -> list[str]:
        """Every recipient for RCPT TO: To, Cc and Bcc, in order, without repeats."""
        found: dict[str, None] = {}
        for address in (*self.to, *self.cc, *self.bcc):
            found.setdefault(_envelope_address(address), None)
        return list(found)

    @property
    def requires_smtputf8(self) -> bool:
        """Whether an address has a non-ASCII local part (RFC 6531 needed)."""
        everyone = [*self.to, *self.cc, *self.bcc, *self.reply_to]
        if self.sender is not None:
            everyone.append(self.sender)
        return any(not address.local_part.isascii() for address in everyone)

    # ------------------------------------------------------ serialisation --

    def iter_bytes(
        self,
        *,
        eight_bit: bool = False,
        binary: bool = False,
        utf8_headers: bool = False,
        include_bcc: bool = False,
        chunk_size: int = _CHUNK,
    ) -> Iterator[bytes]:
        """The message as CRLF bytes, in chunks (streamed; attachments read lazily).

        With no arguments the result is safe for any SMTP server: 7-bit
        transfer encodings, RFC 2047 encoded headers, A-label domains, no Bcc.

        Args:
            eight_bit: the transport has 8BITMIME (RFC 6152): text may go
                as 8bit (send with ``BODY=8BITMIME``).
            binary: the transport has BINARYMIME (RFC 3030): text and
                attachments may go as binary (send with BDAT and
                ``BODY=BINARYMIME``); implies ``eight_bit``.
            utf8_headers: the transport has SMTPUTF8 (RFC 6531): headers
                carry UTF-8 as is (RFC 6532) and non-ASCII local parts are
                allowed.
            include_bcc: write the Bcc field (for a copy kept by the
                sender, never for transmission: S21).
            chunk_size: the size of the pieces read from attachments.

        Returns:
            An iterator of chunks; problems are raised before the first one.

        Raises:
            ValueError: an address needs SMTPUTF8 and ``utf8_headers`` is off.
            MIMEError: an attached message cannot go over this transport.
        """
        eight_bit = eight_bit or binary
        head = self._header_lines(utf8_headers, include_bcc)
        root = self._tree(eight_bit, binary, chunk_size)
        self._choose_boundaries(root, chunk_size)
        return _coalesce(self._write(head, root), chunk_size)

    def write_to(self, file: BinaryIO, **options: Any) -> int:
        """Write the message to a binary file; returns the bytes written.

        Args:
            file: the destination.
            options: as :meth:`iter_bytes`.
        """
        total = 0
        for chunk in self.iter_bytes(**options):
            file.write(chunk)
            total += len(chunk)
        return total

    def as_bytes(self, **options: Any) -> bytes:
        """The whole message in memory (options as :meth:`iter_bytes`)."""
        return b"".join(self.iter_bytes(**options))

    def __bytes__(self) -> bytes:
        """The whole message, 7-bit, without Bcc (``iter_bytes()`` joined)."""
        return self.as_bytes()

    def to_email_message(self, policy: Any = None) -> Any:
        """This message as an :class:`email.message.EmailMessage` (Bcc included).

        Args:
            policy: the ``email`` policy (``email.policy.default`` when None).
        """
        from mailwire.mime.convert import bytes_to_email_message

        return bytes_to_email_message(self.as_bytes(include_bcc=True), policy)

    # ---------------------------------------------------------- internals --

    def _header_lines(self, utf8: bool, include_bcc: bool) -> list[bytes]:
        lines = [_fold.fold("Date", [self.date])]
        if self.sender is not None:
            lines.append(_fold.address_field("From", [self.sender], utf8=utf8))
        for name, addresses in (("Reply-To", self.reply_to), ("To", self.to), ("Cc", self.cc)):
            if addresses:
                lines.append(_fold.address_field(name, addresses, utf8=utf8))
        if include_bcc and self.bcc:
            lines.append(_fold.address_field("Bcc", self.bcc, utf8=utf8))
        if self.subject is not None:
            lines.append(_fold.unstructured_field("Subject", self.subject, utf8=utf8))
        lines.append(_fold.fold("Message-ID", [self.message_id]))
        if self.priority is not None:
            lines.append(_fold.fold("X-Priority", [_PRIORITY[self.priority]]))
        if self.importance is not None:
            lines.append(_fold.fold("Importance", [self.importance]))
        for name, value in self.extra_headers:
            lines.append(_fold.unstructured_field(name, value, utf8=utf8))
        lines.append(b"MIME-Version: 1.0\r\n")
        return lines

    def _text_leaf(self, text: str, subtype: str, eight_bit: bool, binary: bool) -> _Leaf:
        data = normalize_newlines(text).encode("utf-8")
        charset = "us-ascii" if data.isascii() else "utf-8"
        cte = _encodings.choose_text_encoding(data, eight_bit=eight_bit, binary=binary)
        headers = [
            _content_type(f"text/{subtype}", {"charset": charset}),
            f"Content-Transfer-Encoding: {cte}\r\n".encode("ascii"),
        ]
        if cte == "base64":
            return _Leaf(headers, [_encodings.encode_base64(data)], None)
        if cte == "quoted-printable":
            return _Leaf(headers, [_encodings.encode_qp(data)], None)
        return _Leaf(headers, [data], data)

    def _attachment_leaf(
        self, item: Attachment, eight_bit: bool, binary: bool, chunk_size: int
    ) -> _Leaf:
        params = {"name": item.filename} if item.filename else {}
        headers = [_content_type(item.content_type, params)]
        disposition = "inline" if item.inline else "attachment"
        dparams = {"filename": item.filename} if item.filename else {}
        items = [disposition, *_params.format_params(dparams)]
        headers.append(_fold.fold("Content-Disposition", _join_params(items)))
        if item.content_id:
            headers.append(_fold.fold("Content-ID", [f"<{item.content_id}>"]))
        if item.content_type in ("message/rfc822", "message/global"):
            raw = item.read_all(chunk_size).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            cte = rfc822_encoding(raw, eight_bit=eight_bit, binary=binary)
            headers.append(f"Content-Transfer-Encoding: {cte}\r\n".encode("ascii"))
            return _Leaf(headers, [raw], raw)
        if binary:
            headers.append(b"Content-Transfer-Encoding: binary\r\n")
            return _Leaf(headers, _Lazy(item, chunk_size, encode=False), b"")
        headers.append(b"Content-Transfer-Encoding: base64\r\n")
        return _Leaf(headers, _Lazy(item, chunk_size, encode=True), None)

    def _tree(self, eight_bit: bool, binary: bool, chunk_size: int) -> _Leaf | _Multi:
        inline = [a for a in self.attachments if a.inline] if self.html is not None else []
        attached = [a for a in self.attachments if a not in inline]
        html: _Leaf | _Multi | None = None
        if self.html is not None:
            html = self._text_leaf(self.html, "html", eight_bit, binary)
            if inline:
                leaves = [self._attachment_leaf(a, eight_bit, binary, chunk_size) for a in inline]
                html = _Multi("related", [html, *leaves], 'type="text/html"')
        text = None
        if self.text is not None or (html is None and not attached):
            text = self._text_leaf(self.text or "", "plain", eight_bit, binary)
        body: _Leaf | _Multi | None
        if text is not None and html is not None:
            body = _Multi("alternative", [text, html])
        else:
            body = text or html
        if not attached:
            assert body is not None
            return body
        parts = [self._attachment_leaf(a, eight_bit, binary, chunk_size) for a in attached]
        children: list[_Leaf | _Multi] = [body] if body is not None else []
        return _Multi("mixed", [*children, *parts])

    def _choose_boundaries(self, node: _Leaf | _Multi, chunk_size: int) -> None:
        multis: list[_Multi] = []
        stack: list[_Leaf | _Multi] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, _Multi):
                multis.append(current)
                stack.extend(current.children)
        for level, multi in enumerate(multis):
            # The message's own token first, so that serialising twice gives
            # the same bytes; a fresh random one if it occurs in the content.
            candidate = f"=_{self._token}{level}"
            while _occurs(multi, f"--{candidate}".encode("ascii"), chunk_size):
                candidate = f"=_{os.urandom(12).hex()}{level}"
            multi.boundary = candidate

    def _write(self, head: list[bytes], root: _Leaf | _Multi) -> Iterator[bytes]:
        yield from head
        yield from _write_node(root)


def _occurs(node: _Leaf | _Multi, delimiter: bytes, chunk_size: int) -> bool:
    """Whether ``delimiter`` occurs in identity-encoded content under ``node``."""
    if isinstance(node, _Leaf):
        if node.check is None:
            return False
        if isinstance(node.body, _Lazy):
            return node.body.item.contains(delimiter, chunk_size)
        return delimiter in node.check
    return any(_occurs(child, delimiter, chunk_size) for child in node.children)


class _Lazy:
    """An attachment's body, read (and base64-encoded) only when iterated."""

    def __init__(self, item: Attachment, chunk_size: int, *, encode: bool) -> None:
        self.item = item
        self.chunk_size = chunk_size
        self.encode = encode

    def __iter__(self) -> Iterator[bytes]:
        size = max(self.chunk_size // _encodings.BASE64_BLOCK, 1) * _encodings.BASE64_BLOCK
        chunks = self.item.chunks(size if self.encode else self.chunk_size)
        return _encodings.iter_base64(chunks) if self.encode else iter(chunks)


def _write_node(node: _Leaf | _Multi) -> Iterator[bytes]:
    if isinstance(node, _Leaf):
        yield from node.headers
        yield b"\r\n"
        yield from node.body
        return
    params = [f'boundary="{node.boundary}"']
    if node.extra:
        params.insert(0, node.extra)
    yield _fold.fold("Content-Type", _join_params([f"multipart/{node.subtype}", *params]))
    yield b"\r\n"
    delimiter = f"--{node.boundary}".encode("ascii")
    for index, child in enumerate(node.children):
        # RFC 2046 §5.1.1: the CRLF before a delimiter belongs to it.
        yield delimiter + b"\r\n" if index == 0 else b"\r\n" + delimiter + b"\r\n"
        yield from _write_node(child)
    yield b"\r\n" + delimiter + b"--\r\n"


def _coalesce(pieces: Iterator[bytes], size: int) -> Iterator[bytes]:
    """Join small pieces into chunks of about ``size`` bytes; pass big ones on."""
    pending: list[bytes] = []
    held = 0
    for piece in pieces:
        if len(piece) >= size:
            if pending:
                yield b"".join(pending)
                pending, held = [], 0
            yield piece
            continue
        pending.append(piece)
        held += len(piece)
        if held >= size:
            yield b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)


def _join_params(items: list[str]) -> list[str]:
    return [items[0] + (";" if len(items) > 1 else "")] + [
        " " + item + (";" if index < len(items) - 2 else "") for index, item in enumerate(items[1:])
    ]


def _content_type(kind: str, params: dict[str, str]) -> bytes:
    return _fold.fold("Content-Type", _join_params([kind, *_params.format_params(params)]))


def _envelope_address(address: Address) -> str:
    if address.local_part.isascii():
        return f"{address.local_part}@{domain_to_ascii(address.domain)}"
    return address.addr_spec


def _guess_type(filename: str | None) -> str:
    if filename:
        import mimetypes

        guessed, encoding = mimetypes.guess_type(filename, strict=False)
        if guessed and not encoding:
            return guessed
    return "application/octet-stream"


def check_addresses(values: Sequence[AddressInput]) -> list[Address]:
    """Validate builder address input (exposed for the SMTP client's envelope)."""
    return [_address(value) for value in values]
