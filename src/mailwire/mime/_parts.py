"""Leaf parts of a built message: where their bytes come from, and how they
are encoded for the transport at hand.

A source is text (kept as ``str``), bytes, a path (opened when the message
is serialised, read chunk by chunk), or a binary file (read chunk by chunk;
a seekable file is rewound to where it was attached, so the message can be
serialised again; a stream that cannot seek can be serialised once).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from typing import BinaryIO

from mailwire.errors import MIMEError
from mailwire.mime import _encodings

__all__ = ["Attachment", "Source", "normalize_newlines"]

Source = str | bytes | os.PathLike[str] | BinaryIO


def normalize_newlines(text: str) -> str:
    """Every line end as CRLF (RFC 2046 §4.1.1: text line breaks are CRLF)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\n", "\r\n")


@dataclasses.dataclass(eq=False)
class Attachment:
    """A file attached to a :class:`~mailwire.mime.Message`.

    Attributes:
        filename: the name offered to the recipient (``None``: none).
        content_type: ``type/subtype``.
        inline: shown in the body (``Content-Disposition: inline``, RFC 2183)
            and, when the message has HTML, placed in multipart/related.
        content_id: the Content-ID without brackets (RFC 2392), set for
            inline parts; reference it in HTML as ``cid:<content_id>``.
    """

    source: bytes | str | BinaryIO
    filename: str | None
    content_type: str
    inline: bool = False
    content_id: str | None = None
    _position: int | None = dataclasses.field(default=None, repr=False)
    _used: bool = dataclasses.field(default=False, repr=False)

    def chunks(self, chunk_size: int) -> Iterator[bytes]:
        """The raw content in pieces of at most ``chunk_size`` bytes.

        Raises:
            MIMEError: a non-seekable stream that was already read.
        """
        source = self.source
        if isinstance(source, bytes):
            yield source
            return
        if isinstance(source, str):
            with open(source, "rb") as file:
                while chunk := file.read(chunk_size):
                    yield chunk
            return
        if self._position is not None:
            source.seek(self._position)
        elif self._used:
            raise MIMEError("a stream that cannot seek can be serialised only once")
        self._used = True
        while chunk := source.read(chunk_size):
            yield chunk

    def read_all(self, chunk_size: int) -> bytes:
        """The whole content (used for message/rfc822 parts, which are small)."""
        return b"".join(self.chunks(chunk_size))

    def contains(self, needle: bytes, chunk_size: int) -> bool:
        """Whether ``needle`` occurs in the content (checked chunk by chunk)."""
        tail = b""
        for chunk in self.chunks(chunk_size):
            if needle in tail + chunk[: len(needle)] or needle in chunk:
                return True
            tail = chunk[-len(needle) :]
        return False


def rfc822_encoding(data: bytes, *, eight_bit: bool, binary: bool) -> str:
    """The identity encoding a message/rfc822 part can go with (RFC 2046 §5.2.1).

    Raises:
        MIMEError: the content needs more than the transport allows (only
            7bit, 8bit or binary are allowed on message/rfc822).
    """
    lines_ok = _encodings.longest_line(data) <= 998 and b"\0" not in data
    if lines_ok and data.isascii():
        return "7bit"
    if lines_ok and (eight_bit or binary):
        return "8bit"
    if binary:
        return "binary"
    raise MIMEError(
        "an attached message with 8-bit content or long lines needs eight_bit=True "
        "(8BITMIME) or binary=True (BINARYMIME): message/rfc822 may not be encoded"
    )
