"""RFC 2047 encoded-words: ``=?charset?B|Q?text?=``, decoded and produced.

Decoding is tolerant: white space between two adjacent encoded-words is
dropped (RFC 2047 §6.2), consecutive words in one charset are joined before
decoding so that a multi-byte character split across words survives, and a
word that cannot be decoded (unknown charset, broken base64) is left as it
was, with a defect. The decoded text is never parsed again: an encoded ``@``
or newline stays a character of the display name or subject (security.md
S19, S45).

Encoding always uses UTF-8 and the restricted Q alphabet of §5 rule (3)
(letters, digits and ``!*+-/``), so the same words are legal in a phrase, a
comment or unstructured text.
"""

from __future__ import annotations

import binascii
import re

from mailwire._charset import text_codec
from mailwire.mime._defects import Defect

__all__ = ["decode_words", "encode_words", "needs_encoding"]

# charset (with an optional RFC 2231 §5 "*language"), encoding, text.
_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_ONLY_SPACE = re.compile(r"[ \t\r\n]*\Z")
_RFC = "RFC 2047"

# Characters a Q encoded-word may carry as themselves anywhere (§5 (3)).
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q_BYTE = [chr(b) if b in _Q_SAFE else f"={b:02X}" for b in range(256)]
_Q_BYTE[0x20] = "_"
_WORD_MAX = 75  # §2: an encoded-word is at most 75 characters long
_PREFIX_Q = "=?utf-8?q?"
_PREFIX_B = "=?utf-8?b?"


_NOT_BASE64 = bytes(
    b
    for b in range(256)
    if b not in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)


def _b_decode(text: str, defects: list[Defect] | None) -> bytes:
    data = text.encode("ascii", "replace")
    missing = -len(data) % 4
    if missing:
        if defects is not None:
            defects.append(Defect("encoded-word-padding", "base64 padding missing", _RFC))
        data += b"=" * missing
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        if defects is not None:
            defects.append(Defect("encoded-word-base64", "undecodable base64 word", _RFC))
    # Keep what decodes: the alphabet's characters only, a last lone one
    # dropped (six bits are no byte), the padding made right.
    core = data.translate(None, _NOT_BASE64)
    core = core[: len(core) - (len(core) % 4 == 1)]
    return binascii.a2b_base64(core + b"=" * (-len(core) % 4))


def decode_words(text: str, defects: list[Defect] | None = None) -> str:
    """Decode every encoded-word of ``text`` (unstructured text or a phrase).

    Args:
        text: the unfolded field value.
        defects: where to record problems; ``None`` to ignore them.

    Returns:
        The text with encoded-words replaced by what they encode.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pending = bytearray()
    pending_charset = ""
    last_end = 0
    previous_was_word = False

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset:
            try:
                decoded = bytes(pending).decode(text_codec(pending_charset) or "utf-8", "replace")
            except (LookupError, ValueError):  # past text_codec's probe, still refused
                decoded = bytes(pending).decode("utf-8", "replace")
            if "\ufffd" in decoded and defects is not None:
                defects.append(
                    Defect("encoded-word-charset", f"bytes invalid in {pending_charset}", _RFC)
                )
            out.append(decoded)
            pending.clear()
            pending_charset = ""

    for match in _WORD.finditer(text):
        between = text[last_end : match.start()]
        charset = match.group(1).lower()
        if text_codec(charset) is None:
            if defects is not None:
                defects.append(Defect("unknown-charset", f"unknown charset {charset!r}", _RFC))
            flush()
            out.append(between)
            out.append(match.group(0))
            last_end = match.end()
            previous_was_word = False
            continue
        # §6.2: white space separating two encoded-words is not displayed.
        if not (previous_was_word and _ONLY_SPACE.match(between)):
            flush()
            out.append(between)
        if charset != pending_charset:
            flush()
            pending_charset = charset
        payload = match.group(3)
        if match.group(2) in "bB":
            pending += _b_decode(payload, defects)
        else:
            pending += binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
        last_end = match.end()
        previous_was_word = True
    flush()
    out.append(text[last_end:])
    return "".join(out)


def needs_encoding(text: str) -> bool:
    """Whether ``text`` cannot go into a 7-bit header as it is.

    True for non-ASCII text and for text holding ``=?``, which a reader would
    otherwise take for the start of an encoded-word.
    """
    return not text.isascii() or "=?" in text


def _q_length(data: bytes) -> int:
    return sum(len(_Q_BYTE[b]) for b in data)


def encode_words(text: str, first_room: int = _WORD_MAX) -> list[str]:
    """Encode ``text`` as UTF-8 encoded-words of at most 75 characters each.

    Q is chosen when it is no longer than B for the whole text. A character
    is never split between two words (§5: each word must be decodable on
    its own).

    Args:
        text: any text (it may contain anything but CR, LF and NUL, which the
            caller has refused already).
        first_room: the room left on the first line; the first word is
            shortened to fit when that is at least 20 characters.

    Returns:
        The encoded-words, to be joined with folding white space.
    """
    raw = text.encode("utf-8")
    use_q = _q_length(raw) <= (len(raw) + 2) // 3 * 4
    prefix = _PREFIX_Q if use_q else _PREFIX_B
    words: list[str] = []
    room = first_room if first_room >= 20 else _WORD_MAX
    budget = room - len(prefix) - 2
    chunk = bytearray()
    cost = 0
    for char in text:
        piece = char.encode("utf-8")
        if use_q:
            piece_cost = _q_length(piece)
            new_cost = cost + piece_cost
        else:
            new_cost = (len(chunk) + len(piece) + 2) // 3 * 4
        if chunk and new_cost > budget:
            words.append(_finish(prefix, bytes(chunk), use_q))
            chunk.clear()
            budget = _WORD_MAX - len(prefix) - 2
            new_cost = _q_length(piece) if use_q else (len(piece) + 2) // 3 * 4
        chunk += piece
        cost = new_cost
    if chunk or not words:
        words.append(_finish(prefix, bytes(chunk), use_q))
    return words


def _finish(prefix: str, data: bytes, use_q: bool) -> str:
    if use_q:
        body = "".join([_Q_BYTE[b] for b in data])
    else:
        body = binascii.b2a_base64(data, newline=False).decode("ascii")
    return f"{prefix}{body}?="
