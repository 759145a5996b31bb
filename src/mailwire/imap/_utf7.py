"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3, RFC 9051 §5.1.3).

IMAP4rev1 servers send and expect mailbox names in a variant of UTF-7:
printable ASCII stands for itself, ``&`` is written ``&-``, and every other
run of characters is ``&``, the modified base64 (``,`` for ``/``, no
padding) of its UTF-16BE form, then ``-``. Once UTF8=ACCEPT is enabled
(RFC 6855) names travel as plain UTF-8 instead.
"""

from __future__ import annotations

import binascii
import re

__all__ = ["decode_mailbox_name", "decode_utf7", "encode_mailbox_name", "encode_utf7"]

_SHIFTED = re.compile(rb"&([^-]*)-")


def encode_utf7(name: str) -> bytes:
    """``name`` in modified UTF-7.

    Raises:
        ValueError: ``name`` holds a lone surrogate.
    """
    out = bytearray()
    run: list[str] = []

    def flush() -> None:
        if run:
            data = "".join(run).encode("utf-16-be")
            b64 = binascii.b2a_base64(data, newline=False).rstrip(b"=")
            out.extend(b"&" + b64.replace(b"/", b",") + b"-")
            run.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.extend(b"&-" if char == "&" else char.encode("ascii"))
        else:
            run.append(char)
    flush()
    return bytes(out)


def decode_utf7(raw: bytes) -> str:
    """Decode modified UTF-7.

    Raises:
        ValueError: ``raw`` is not valid modified UTF-7 (8-bit octets, bad
            base64, an unterminated shift, a shifted run of plain ASCII).
    """
    if not raw.isascii():
        raise ValueError("8-bit octets in a modified UTF-7 name")
    out: list[str] = []
    pos = 0
    for match in _SHIFTED.finditer(raw):
        out.append(raw[pos : match.start()].decode("ascii"))
        payload = match[1]
        if not payload:
            out.append("&")
        else:
            if not re.fullmatch(rb"[A-Za-z0-9+,]+", payload) or len(payload) % 4 == 1:
                raise ValueError(f"bad modified base64 in {raw[:60]!r}")
            data = binascii.a2b_base64(payload.replace(b",", b"/") + b"=" * (-len(payload) % 4))
            if len(data) % 2:
                raise ValueError(f"odd UTF-16 length in {raw[:60]!r}")
            text = data.decode("utf-16-be")
            if any(0x20 <= ord(c) <= 0x7E for c in text):
                raise ValueError(f"printable ASCII shifted in {raw[:60]!r}")
            out.append(text)
        pos = match.end()
    tail = raw[pos:]
    if b"&" in tail:
        raise ValueError(f"unterminated shift in {raw[:60]!r}")
    out.append(tail.decode("ascii"))
    return "".join(out)


def decode_mailbox_name(raw: bytes) -> str:
    """A mailbox name from the wire, whichever form the server used.

    Modified UTF-7 when it decodes as such; otherwise UTF-8 (servers with
    UTF8=ACCEPT enabled, and some that send 8-bit names regardless), with
    undecodable octets replaced.
    """
    if b"&" not in raw:
        return raw.decode("ascii") if raw.isascii() else raw.decode("utf-8", "replace")
    try:
        return decode_utf7(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


def encode_mailbox_name(name: str, *, utf8: bool = False) -> bytes:
    """A mailbox name for the wire: UTF-8 when ``utf8`` (UTF8=ACCEPT), else UTF-7."""
    if utf8:
        return name.encode("utf-8")
    return encode_utf7(name)
