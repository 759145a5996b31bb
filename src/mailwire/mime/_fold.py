"""Writing header fields: encoding (RFC 2047, RFC 2231, RFC 6532) and folding.

Every field is built from *tokens*, pieces that may not be split; a line is
folded only between two tokens, by putting CRLF before the white space that
starts the next one (RFC 5322 §2.2.3), so unfolding gives the text back
exactly. Lines are kept to 78 characters where the tokens allow it and never
exceed 998 octets (§2.1.1): a token that could not fit raises ``ValueError``.

Caller text is checked first: CR, LF or NUL anywhere is a ``ValueError``
(security.md S19), so no value can start a field of its own.
"""

from __future__ import annotations

import re

from mailwire.mime import _rfc2047
from mailwire.mime.address import Address, domain_to_ascii, quote_phrase

__all__ = [
    "address_field",
    "check_name",
    "check_value",
    "fold",
    "unstructured_field",
]

_NAME = re.compile(r"[!-9;-~]+\Z")
_SOFT = 78
_HARD = 998
_SPACES = re.compile(r"(?<=[^ ])(?= )")


def check_value(value: str, what: str = "header value") -> str:
    """Refuse CR, LF and NUL (S19); returns ``value``.

    Raises:
        ValueError: the value holds one of them.
        TypeError: the value is not a str.
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"CR, LF and NUL are not allowed in a {what}: {value[:40]!r}")
    return value


def check_name(name: str) -> str:
    """Refuse a field name that is not printable ASCII without ``:`` (§2.2).

    Raises:
        ValueError: an empty name, or one with space, colon or control.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"invalid header field name {name!r}")
    return name


def fold(name: str, tokens: list[str]) -> bytes:
    """Join ``name: `` and the tokens into one folded field line with CRLF.

    Args:
        name: the field name.
        tokens: the first token as is, later ones starting with the white
            space (or separator and white space) that precedes them.

    Raises:
        ValueError: a token cannot fit within 998 octets.
    """
    lines: list[str] = []
    line = f"{name}:"
    width = len(line.encode("utf-8"))
    for index, piece in enumerate(tokens):
        token = " " + piece if index == 0 and piece else piece
        size = len(token.encode("utf-8")) if not token.isascii() else len(token)
        foldable = token[:1] in (" ", "\t") and token.strip() != ""
        if width + size > _SOFT and width > len(name) + 2 and foldable:
            lines.append(line)
            line, width = token, size
        else:
            line += token
            width += size
        if width > _HARD:
            raise ValueError(f"{name}: a part of the value is longer than {_HARD} octets")
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _text_tokens(text: str, *, utf8: bool, first_room: int = 75) -> list[str]:
    """Unstructured text as tokens, encoded-words where needed (RFC 2047 §5 (1))."""
    tokens = _SPACES.split(text) if text else [""]

    def bad(token: str) -> bool:
        word = token.lstrip(" ")
        return (
            (not utf8 and not word.isascii())
            or not word.isprintable()
            or "=?" in word
            or len(word.encode("utf-8")) > _SOFT - 10
        )

    marks = [i for i, token in enumerate(tokens) if bad(token)]
    if not marks:
        return tokens
    first, last = marks[0], marks[-1]
    lead = tokens[first][: len(tokens[first]) - len(tokens[first].lstrip(" "))]
    span = "".join(tokens[first : last + 1])[len(lead) :]
    words = _rfc2047.encode_words(span, first_room if first == 0 else 75)
    encoded = [lead + words[0]] + [" " + word for word in words[1:]]
    return tokens[:first] + encoded + tokens[last + 1 :]


def unstructured_field(name: str, text: str, *, utf8: bool = False) -> bytes:
    """An unstructured field (Subject, Comments, custom fields), folded.

    Args:
        name: the field name (checked by the caller).
        text: the value (checked by the caller).
        utf8: the transport has SMTPUTF8 (RFC 6532): UTF-8 goes as is.
    """
    return fold(name, _text_tokens(text, utf8=utf8, first_room=_SOFT - len(name) - 2))


def _phrase_tokens(name: str, *, utf8: bool, first_room: int = 75) -> list[str]:
    if (not utf8 and not name.isascii()) or "=?" in name or not name.isprintable():
        return _rfc2047.encode_words(name, first_room)
    quoted = quote_phrase(name)
    return [quoted]


def addr_spec_text(address: Address, *, utf8: bool) -> str:
    """The addr-spec for the wire: an A-label domain unless UTF-8 is allowed.

    Raises:
        ValueError: a non-ASCII local part without ``utf8`` (RFC 6531 needs
            SMTPUTF8 for it), or an invalid domain.
    """
    local, domain = address.local_part, address.domain
    if utf8:
        return address.addr_spec
    if not local.isascii():
        raise ValueError(f"{address.addr_spec!r} needs SMTPUTF8 (utf8_headers=True)")
    return f"{local}@{domain_to_ascii(domain)}"


def address_field(name: str, addresses: list[Address], *, utf8: bool = False) -> bytes:
    """An address-list field (From, To, Cc, Reply-To ...), folded between tokens.

    Separators are never inside an encoded-word (S20): each display name is
    a quoted-string or encoded-words of its own, then ``<addr-spec>``, then a
    literal comma.
    """
    tokens: list[str] = []
    for index, address in enumerate(addresses):
        spec = addr_spec_text(address, utf8=utf8)
        room = _SOFT - len(name) - 2 if index == 0 else 75
        phrase = _phrase_tokens(address.name, utf8=utf8, first_room=room) if address.name else []
        pieces = [*phrase, f"<{spec}>"] if address.name else [spec]
        for number, piece in enumerate(pieces):
            if number == 0:
                tokens.append(piece if index == 0 else " " + piece)
            else:
                tokens.append(" " + piece)
        if index < len(addresses) - 1:
            tokens[-1] += ","
    return fold(name, tokens)


def check_value_body(text: str) -> str:
    """Bodies may hold line breaks but not NUL (RFC 5322 §2.3, RFC 2045 §2.7)."""
    if not isinstance(text, str):
        raise TypeError(f"a body must be a str, not {type(text).__name__}")
    if "\0" in text:
        raise ValueError("NUL is not allowed in a text body")
    return text
