"""Charset names from the wire, checked before anything decodes with them.

A charset name in a message (an encoded-word, a Content-Type or RFC 2231
parameter) is chosen by whoever wrote the message, and Python's codec
registry answers to far more than text encodings: ``base64`` and ``zlib``
turn bytes into bytes, ``undefined`` fails on every input, ``idna`` refuses
``errors="replace"``, and a name holding a NUL makes the lookup itself
raise ``ValueError``. Decoding with such a name must not turn a damaged or
hostile message into an exception, so every decoder asks
:func:`text_codec` first and treats ``None`` as an unknown charset.
"""

from __future__ import annotations

import codecs

__all__ = ["text_codec"]

_SEEN: dict[str, str | None] = {}
_SEEN_MAX = 256  # names are few in practice; a hostile stream costs a lookup, not memory
# Bytes that exercise the error handler in any codec: invalid UTF-8, a
# UTF-7 shift, an escape, an encoded-word's punctuation.
_PROBE = b"\x80\xff+-\\x=?a"


def text_codec(charset: str) -> str | None:
    """The codec for ``charset`` if it decodes bytes to text, else ``None``.

    A codec passes when Python knows the name, marks it as a text encoding,
    and it decodes a probe of awkward bytes with ``errors="replace"``.
    Callers still guard their own ``decode`` call: the probe cannot try
    every input.
    """
    try:
        return _SEEN[charset]
    except KeyError:
        pass
    name: str | None
    try:
        info = codecs.lookup(charset)
        name = info.name if getattr(info, "_is_text_encoding", True) else None
        if name is not None:
            _PROBE.decode(name, "replace")
    except (LookupError, ValueError):  # UnicodeError is a ValueError
        name = None
    if len(_SEEN) < _SEEN_MAX:
        _SEEN[charset] = name
    return name
