"""``mime.parse``: open a message (the entry point of the second tier).

Parsing is lazy: :func:`parse` finds the end of the top header block and
returns; fields, structure and payloads are read when first used (see
:mod:`mailwire.mime.entity`). Tolerant by default: every problem is a
:class:`~mailwire.mime.Defect` on the entity where it was found. With
``strict=True`` the whole message is checked before :func:`parse` returns,
and the first problem raises.
"""

from __future__ import annotations

from typing import BinaryIO

from mailwire.limits import DEFAULT_LIMITS, Limits
from mailwire.mime._defects import MIMEDefectError
from mailwire.mime._headers import ADDRESS_FIELDS
from mailwire.mime.entity import Entity, _Context

__all__ = ["parse"]


def parse(
    source: bytes | bytearray | memoryview | BinaryIO,
    *,
    strict: bool = False,
    limits: Limits | None = None,
) -> Entity:
    """Parse a message (RFC 5322 + MIME) from bytes or a binary file.

    Line ends may be CRLF (as on the wire) or LF (as in files); they are
    kept as they are in every slice and payload.

    Args:
        source: the message; a file is read to its end.
        strict: check the whole message now and raise at the first defect.
        limits: bounds on nesting, part count and header size
            (:class:`mailwire.Limits`; the defaults when ``None``).

    Returns:
        The message entity.

    Raises:
        TypeError: ``source`` is text or another unsupported type.
        MIMEDefectError: strict mode, a defect (``DuplicateHeaderError`` for
            a repeated singleton field, S42).
        NestingTooDeep, TooManyParts: strict mode, the S29 bounds.
    """
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, bytearray | memoryview):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, bytes):
            raise TypeError("parse() needs a binary file")
    else:
        raise TypeError(f"parse() takes bytes or a binary file, not {type(source).__name__}")
    ctx = _Context(data, strict, limits or DEFAULT_LIMITS)
    message = Entity(ctx, 0, len(data))
    if strict:
        _check(message)
    return message


def _check(message: Entity) -> None:
    """Strict mode: visit everything a tolerant reader would, raise at a defect."""
    for entity in message.walk():
        defects = entity.defects
        if entity.parent is None or entity.parent.content_type in (
            "message/rfc822",
            "message/global",
        ):
            for name in ADDRESS_FIELDS:
                if name in entity.headers:
                    entity.addresses(name)
        if defects:
            raise MIMEDefectError(defects[0])
