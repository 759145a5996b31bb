"""Content-Transfer-Encodings (RFC 2045 §6): decoding received bodies, and
encoding and choosing them for built ones.

Decoding is tolerant and records defects (security.md S44): base64 with
characters outside its alphabet (skipped, RFC 2045 §6.8) or bad padding
(repaired); quoted-printable with trailing white space on a line (deleted,
§6.7 rule 3) or bad ``=`` sequences (kept as they are, §6.7 note 1).

Encoding streams: base64 is produced in blocks of 8,192 lines of 76
characters, each block wrapped by one ``struct`` unpack in C instead of one
Python slice per line (research/performance.md W1 measured 2x), so a 50 MB
attachment never sits in memory.
"""

from __future__ import annotations

import binascii
import re
import struct
from collections.abc import Iterable, Iterator

from mailwire.mime._defects import Defect

__all__ = [
    "choose_text_encoding",
    "decode_body",
    "encode_base64",
    "encode_qp",
    "iter_base64",
    "longest_line",
]

KNOWN = frozenset({"7bit", "8bit", "binary", "base64", "quoted-printable"})
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_IGNORABLE = _B64_ALPHABET + b"=\r\n \t"
_QP_TRAILING = re.compile(rb"[ \t]+(?=\r?\n|\Z)")
_UU_END = re.compile(rb"^end\s*$", re.MULTILINE)
_UU_BEGIN = re.compile(rb"^begin [0-7]{3,4} [^\r\n]*\r?\n", re.MULTILINE)

_LINE = 76  # RFC 2045 §6.8: encoded lines are at most 76 characters
_RAW_LINE = _LINE // 4 * 3  # 57 input bytes make one line
_BLOCK_LINES = 8192
BASE64_BLOCK = _RAW_LINE * _BLOCK_LINES  # input bytes per encoded block (456 KiB)
_WRAP = struct.Struct(f"{_LINE}s" * _BLOCK_LINES)


def _repair_base64(body: bytes, defects: list[Defect]) -> bytes:
    clean = body.translate(None, b"=\r\n \t")
    clean = clean.translate(None, clean.translate(None, _B64_ALPHABET))
    extra = len(clean) % 4
    if extra == 1:
        defects.append(
            Defect("base64-truncated", "a stray last character dropped", "RFC 2045 §6.8")
        )
        clean = clean[:-1]
    elif extra:
        defects.append(Defect("base64-padding", "missing padding added", "RFC 2045 §6.8"))
        clean += b"=" * (4 - extra)
    return binascii.a2b_base64(clean)


def decode_body(body: bytes, encoding: str, defects: list[Defect], *, check: bool = False) -> bytes:
    """Remove the transfer encoding of a leaf body.

    Args:
        body: the bytes between the header block and the part's end.
        encoding: the lower-cased Content-Transfer-Encoding (``""`` = 7bit).
        defects: where problems are recorded.
        check: also look for problems that do not change the result (junk
            skipped inside base64), at the cost of one more pass.

    Returns:
        The decoded bytes; for identity and unknown encodings, ``body``.
    """
    if encoding == "base64":
        if check and body.translate(None, _B64_IGNORABLE):
            defects.append(
                Defect("base64-junk", "characters outside the alphabet skipped", "RFC 2045 §6.8")
            )
        try:
            return binascii.a2b_base64(body)
        except binascii.Error:
            return _repair_base64(body, defects)
    if encoding == "quoted-printable":
        # Four memchr-speed scans beat one regex scan by far on long bodies.
        if (
            b" \n" in body
            or b" \r\n" in body
            or b"\t\n" in body
            or b"\t\r\n" in body
            or body.endswith((b" ", b"\t"))
        ):
            body = _QP_TRAILING.sub(b"", body)
        return binascii.a2b_qp(body)
    if encoding in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return _decode_uu(body, defects)
    return body


def _decode_uu(body: bytes, defects: list[Defect]) -> bytes:
    """The historical uuencode form (not a MIME encoding; read as ``email`` does).

    A body that does not decode cleanly is returned as received: RFC 2049 §2
    leaves a body whose encoding cannot be undone opaque.
    """
    begin = _UU_BEGIN.search(body)
    if begin is None:
        defects.append(Defect("uuencode-begin", "no begin line", "RFC 2049 §2"))
        return body
    out = bytearray()
    for line in body[begin.end() :].splitlines():
        if _UU_END.match(line) or not line.strip():
            if line.startswith(b"end"):
                break
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Some writers pad short lines wrongly; the count byte decides.
            count = (line[0] - 32) & 63
            try:
                out += binascii.a2b_uu(line[: (count * 4 + 5) // 3 + 1])[:count]
            except binascii.Error:
                defects.append(Defect("uuencode-broken", "kept as received", "RFC 2049 §2"))
                return body
    return bytes(out)


def iter_base64(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Encode a stream as base64 lines of 76 characters ending in CRLF.

    Args:
        chunks: the raw content, in pieces of any size.

    Yields:
        Encoded blocks, each a whole number of lines.
    """
    pending = b""
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        usable = len(data) - len(data) % BASE64_BLOCK
        view = memoryview(data)
        for start in range(0, usable, BASE64_BLOCK):
            encoded = binascii.b2a_base64(view[start : start + BASE64_BLOCK], newline=False)
            yield b"\r\n".join((*_WRAP.unpack(encoded), b""))
        pending = bytes(view[usable:])
    if pending:
        yield encode_base64(pending)


def encode_base64(data: bytes) -> bytes:
    """Encode ``data`` whole as base64 lines of 76 characters ending in CRLF."""
    if not data:
        return b""
    encoded = binascii.b2a_base64(data, newline=False)
    lines = [encoded[i : i + _LINE] for i in range(0, len(encoded), _LINE)]
    lines.append(b"")
    return b"\r\n".join(lines)


def encode_qp(data: bytes) -> bytes:
    """Quoted-printable for text whose lines already end in CRLF (§6.7).

    Lines stay under 76 characters with soft breaks; trailing white space
    and ``=`` are encoded, so a boundary containing ``=_`` cannot occur in the
    output.
    """
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    if b"\n" in encoded and b"\r\n" not in encoded:
        encoded = encoded.replace(b"\n", b"\r\n")
    return encoded


def longest_line(data: bytes) -> int:
    """The length of the longest CRLF-separated line, CRLF excluded."""
    if len(data) <= 998:
        return len(data)
    return max(map(len, data.split(b"\r\n")))


def choose_text_encoding(data: bytes, *, eight_bit: bool, binary: bool) -> str:
    """Pick the transfer encoding for a text body (CRLF line ends).

    7bit when it is ASCII with lines of at most 998 octets and no NUL
    (RFC 5322 §2.1.1, RFC 2045 §2.7); 8bit when the transport has 8BITMIME
    (RFC 6152) and only the ASCII rule fails; binary with BINARYMIME
    (RFC 3030); otherwise the shorter of quoted-printable and base64.

    Args:
        data: the encoded text.
        eight_bit: the transport accepts 8bit.
        binary: the transport accepts binary.

    Returns:
        The Content-Transfer-Encoding token.
    """
    lines_ok = longest_line(data) <= 998 and b"\0" not in data
    if lines_ok and data.isascii():
        return "7bit"
    if lines_ok and (eight_bit or binary):
        return "8bit"
    if binary:
        return "binary"
    unsafe = len(data) - len(data.translate(None, bytes(range(128, 256)) + b"="))
    qp_length = len(data) + 2 * unsafe
    return "quoted-printable" if qp_length <= len(data) * 4 // 3 else "base64"
