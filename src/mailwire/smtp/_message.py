"""Getting a message ready to send: content as CRLF chunks, and its envelope.

``send_message`` accepts an :class:`email.message.Message`, a mailwire MIME
message (anything with ``iter_bytes()``), ``bytes``, a binary file, or an
iterable of ``bytes``. Whatever it is becomes an iterator of content chunks,
never one big string unless the caller handed one over, so a 100 MB file is
sent in ``Limits.chunk_size`` pieces.

The envelope, when the caller does not give it, comes from the header
(RFC 5322 §3.6): the sender from ``Sender`` or else ``From``; the recipients
from ``To``, ``Cc`` and ``Bcc`` (or the ``Resent-*`` fields of the newest
resent block). ``Bcc`` fields are then removed from the content, so blind
recipients stay blind (security.md S21).
"""

from __future__ import annotations

import dataclasses
import email.message
import email.policy
import email.utils
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Protocol, cast

from mailwire.errors import NotSupportedError
from mailwire.smtp._writer import DataStuffer
from mailwire.smtp.commands import is_mailbox

__all__ = ["PreparedMessage", "prepare"]

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_EOL = re.compile(rb"\r\n|\r|\n")


class _IterBytes(Protocol):
    def iter_bytes(self) -> Iterable[bytes]: ...


class _Built(Protocol):
    """mailwire's MIME builder (mime.Message): it knows its own envelope."""

    @property
    def envelope_sender(self) -> str: ...
    @property
    def envelope_recipients(self) -> list[str]: ...
    @property
    def requires_smtputf8(self) -> bool: ...
    def iter_bytes(
        self, *, eight_bit: bool = ..., binary: bool = ..., utf8_headers: bool = ...
    ) -> Iterable[bytes]: ...


MessageSource = email.message.Message | bytes | bytearray | BinaryIO | Iterable[bytes] | Any


@dataclasses.dataclass
class PreparedMessage:
    """What the SMTP flow needs to send one message.

    Attributes:
        sender: the envelope sender ("" for the null reverse-path).
        recipients: the envelope recipients, in order, without duplicates.
        chunks: the content, CRLF line ends, not dot-stuffed.
        size: the content's size in octets when known beforehand (SIZE).
        eight_bit: whether the content has octets over 127; ``None`` when it
            is streamed and not known.
        utf8_headers: the header has raw UTF-8 (RFC 6532), which only an
            SMTPUTF8 transaction may carry (RFC 6531 §3.3). Non-ASCII
            envelope addresses are judged when the transaction is planned.
    """

    sender: str
    recipients: list[str]
    chunks: Iterator[bytes]
    size: int | None
    eight_bit: bool | None
    utf8_headers: bool


def _split_header(raw: bytes) -> tuple[bytes, bytes]:
    match = _HEADER_END.search(raw)
    if match is None:
        return raw, b""
    return raw[: match.end()], raw[match.end() :]


def _strip_fields(header: bytes, names: tuple[bytes, ...]) -> bytes:
    """``header`` without the named fields, folded continuation lines included."""
    out = []
    dropping = False
    for line in header.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and line.strip():
            if not dropping:
                out.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        dropping = b":" in line and name in names
        if not dropping:
            out.append(line)
    return b"".join(out)


def _addresses(values: list[str]) -> list[str]:
    """The mailboxes named in header values; anything else is refused."""
    found = []
    for _name, addr in email.utils.getaddresses(values):
        if not addr:
            continue
        if not is_mailbox(addr):
            # getaddresses returns any token it cannot make sense of as an
            # "address"; sending RCPT TO for it could reach a local user.
            raise ValueError(
                f"the header names {addr!r}, which is not a mailbox; "
                "give sender= and recipients= explicitly"
            )
        if addr not in found:
            found.append(addr)
    return found


def _needs_utf8_addresses(msg: email.message.Message) -> bool:
    """Whether an address header has a non-ASCII local part (RFC 6532 needed)."""
    fields = ("From", "Sender", "Reply-To", "To", "Cc", "Bcc")
    values = [str(v) for f in fields for v in msg.get_all(f) or []]
    return any(
        not addr.rpartition("@")[0].isascii() for _, addr in email.utils.getaddresses(values)
    )


def _envelope(msg: email.message.Message) -> tuple[str | None, list[str]]:
    # RFC 5322 §3.6.6: with resent fields, the newest resent block decides.
    resent = msg.get_all("Resent-Date")
    prefix = "Resent-" if resent else ""
    senders = msg.get_all(f"{prefix}Sender") or msg.get_all(f"{prefix}From") or []
    sender_list = _addresses([str(v) for v in senders])
    recipients: list[str] = []
    for field in ("To", "Cc", "Bcc"):
        recipients += [str(v) for v in msg.get_all(prefix + field) or []]
    return (sender_list[0] if sender_list else None), _addresses(recipients)


def _has_8bit(data: bytes) -> bool:
    return not data.isascii()


def _normalized(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Turn bare CR and bare LF into CRLF, across chunk boundaries."""
    pending_cr = False
    for piece in chunks:
        if not piece:
            continue
        data = b"\r" + piece if pending_cr else piece
        pending_cr = data.endswith(b"\r")
        if pending_cr:
            data = data[:-1]
        yield _EOL.sub(b"\r\n", data)
    if pending_cr:
        yield b"\r\n"


def _file_chunks(file: BinaryIO, size: int) -> Iterator[bytes]:
    while chunk := file.read(size):
        yield chunk


def prepare(
    message: MessageSource,
    *,
    sender: str | None,
    recipients: Iterable[str] | None,
    chunk_size: int,
    normalize_line_endings: bool = False,
    smtputf8: bool = False,
    eightbitmime: bool = False,
    binarymime: bool = False,
) -> PreparedMessage:
    """Turn any accepted message form into a :class:`PreparedMessage`.

    A message whose bytes are all known (``bytes``, ``email.message``) is
    checked here, before anything is sent: a bare CR or LF, or a line over 998
    octets, is a ``ValueError`` unless ``normalize_line_endings`` (S10-S13).
    Streamed content is checked as it goes out.

    Args:
        smtputf8: the server offers SMTPUTF8, so an ``email.message`` with a
            non-ASCII address is written with raw UTF-8 headers (RFC 6532)
            instead of encoded-words, which RFC 2047 §5 forbids in an
            addr-spec.
        eightbitmime, binarymime: what the transfer may carry; a
            ``mime.Message`` then chooses 8bit or binary parts instead of
            base64 and quoted-printable.

    Raises:
        ValueError: no sender or no recipient could be found, a header
            address is not a mailbox, content that would be ambiguous on the
            wire, or an unsupported message type.
        NotSupportedError: an address in the header needs SMTPUTF8.
    """
    header_msg: email.message.Message | None = None
    utf8_built = False
    size: int | None = None
    eight_bit: bool | None = None
    chunks: Iterable[bytes]

    if isinstance(message, email.message.Message):
        header_msg = message
        utf8 = _needs_utf8_addresses(message)
        if utf8 and not smtputf8:
            raise NotSupportedError(
                "an address in the header has a non-ASCII local part, which needs SMTPUTF8 "
                "(RFC 6531); the server does not offer it",
                capability="SMTPUTF8",
            )
        if message.get_all("Bcc") or message.get_all("Resent-Bcc"):
            message = _copy_without_bcc(message)
        # SMTPUTF8 is the email package's policy for exactly this: raw UTF-8
        # headers (RFC 6532) and CRLF line ends.
        policy = email.policy.SMTPUTF8 if utf8 else message.policy.clone(linesep="\r\n")
        data = message.as_bytes(policy=policy)
        chunks, size, eight_bit = [data], len(data), _has_8bit(data)
    elif isinstance(message, bytes | bytearray | memoryview):
        data = bytes(message)
        header, body = _split_header(data)
        header_msg = email.message_from_bytes(header)
        if header_msg.get_all("Bcc") or header_msg.get_all("Resent-Bcc"):
            data = _strip_fields(header, (b"bcc", b"resent-bcc")) + body
        chunks, size, eight_bit = [data], len(data), _has_8bit(data)
    elif hasattr(message, "envelope_recipients") and hasattr(message, "iter_bytes"):
        # mailwire's builder: the envelope comes from the message itself (its
        # serialisation leaves Bcc out, S21, so the header would lose them).
        built = cast(_Built, message)
        utf8 = built.requires_smtputf8
        if utf8 and not smtputf8:
            raise NotSupportedError(
                "the message has an address with a non-ASCII local part, which needs "
                "SMTPUTF8 (RFC 6531); the server does not offer it",
                capability="SMTPUTF8",
            )
        if sender is None:
            sender = built.envelope_sender
        if recipients is None:
            recipients = built.envelope_recipients
        chunks = built.iter_bytes(
            eight_bit=eightbitmime or binarymime, binary=binarymime, utf8_headers=utf8
        )
        eight_bit = None if (eightbitmime or binarymime) else False
        utf8_built = utf8
    elif hasattr(message, "iter_bytes"):
        chunks = cast(_IterBytes, message).iter_bytes()
    elif hasattr(message, "read"):
        chunks = _file_chunks(cast(BinaryIO, message), chunk_size)
    elif isinstance(message, Iterable) and not isinstance(message, str):
        chunks = cast(Iterable[bytes], message)
    else:
        raise ValueError(f"cannot send a {type(message).__name__}; give bytes, a file or a message")

    if header_msg is None:
        # A stream: read the header block (for the envelope, and to take Bcc
        # out, S21), then go on with the rest as it comes.
        iterator = iter(chunks)
        head, rest = _read_header(iterator)
        header, after = _split_header(head)
        header_msg = email.message_from_bytes(header)
        if header_msg.get_all("Bcc") or header_msg.get_all("Resent-Bcc"):
            head = _strip_fields(header, (b"bcc", b"resent-bcc")) + after
        chunks = _chain([head], rest)
    elif size is not None and not normalize_line_endings and not binarymime:
        # All the bytes are known: refuse ambiguous content before sending
        # (a BINARYMIME body may carry any octet, RFC 3030 §3).
        (whole,) = chunks
        checker = DataStuffer()
        try:
            checker.check(whole)
            checker.check_end()
        except ValueError as exc:
            raise ValueError(
                f"{exc}; pass normalize_line_endings=True to convert line ends, or encode the body"
            ) from None

    found_sender: str | None = None
    found_rcpts: list[str] = []
    if header_msg is not None and (sender is None or recipients is None):
        found_sender, found_rcpts = _envelope(header_msg)
    envelope_sender = sender if sender is not None else found_sender
    envelope_rcpts = list(dict.fromkeys(recipients)) if recipients is not None else found_rcpts
    if envelope_sender is None:
        raise ValueError("no envelope sender: give sender= or a From/Sender header")
    if not envelope_rcpts:
        raise ValueError("no envelope recipient: give recipients= or To/Cc/Bcc headers")

    content: Iterator[bytes] = iter(chunks)
    if normalize_line_endings:
        content = _normalized(content)
        size = None
    non_ascii_header = utf8_built or (
        header_msg is not None and any(not str(v).isascii() for v in header_msg.values())
    )
    return PreparedMessage(
        sender=envelope_sender,
        recipients=envelope_rcpts,
        chunks=content,
        size=size,
        eight_bit=eight_bit,
        utf8_headers=non_ascii_header,
    )


def _copy_without_bcc(msg: email.message.Message) -> email.message.Message:
    copy: email.message.Message = email.message_from_bytes(msg.as_bytes(), policy=msg.policy)
    del copy["Bcc"]
    del copy["Resent-Bcc"]
    return copy


def _read_header(chunks: Iterator[bytes], limit: int = 1 << 20) -> tuple[bytes, Iterator[bytes]]:
    buf = io.BytesIO()
    for chunk in chunks:
        buf.write(chunk)
        if _HEADER_END.search(buf.getbuffer()) or buf.tell() > limit:
            break
    return buf.getvalue(), chunks


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest
