"""MIME parameters: ``type/subtype; name=value`` (RFC 2045 §5.1, RFC 2183 §2),
with RFC 2231 extended values and continuations, read and written.

Reading is one left-to-right scan whose every step moves forward, so any run
of ``;`` or junk costs linear time (security.md S30). Ambiguities get one
answer and a defect (S43):

- a parameter given twice in the same form: the first one wins;
- a parameter given both plainly and in RFC 2231 form (``boundary=`` and
  ``boundary*0=``, or ``filename=`` and ``filename*=``): the RFC 2231 form
  wins, as RFC 2231 §4 intends it to replace the plain one for readers that
  know it (RFC 6266 §4.3 makes the same choice for HTTP);
- a missing continuation section ends the value there.
"""

from __future__ import annotations

import re
import urllib.parse

from mailwire._charset import text_codec
from mailwire.mime._defects import Defect, first_of_each

__all__ = ["format_params", "parse_params", "parse_value"]

_SEPARATORS = re.compile(r"[\s;]*")  # runs are tolerated (S30: skipped once)
_PARAM = re.compile(
    r"""([^\s=;"()]+)                             # attribute (lenient)
    \s*=\s*
    (?:"((?:[^"\\]|\\.)*)("?)                    # quoted-string, maybe unterminated
      |([^\s;"()]*))                             # token
    """,
    re.VERBOSE | re.DOTALL,
)
_TAIL = re.compile(r"\s*(?:\([^()]*\)\s*)*")  # CFWS (one level of comment)
_SKIP = re.compile(r"[^;]*;?")
_SECTION = re.compile(r"(.+?)\*(\d+)(\*?)\Z|(.+?)\*\Z")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_TYPE = re.compile(r"\s*([!#-'*+\-.0-9A-Z^-~]+)\s*/\s*([!#-'*+\-.0-9A-Z^-~]+)\s*", re.ASCII)
_TOKEN = re.compile(r"\s*([!#-'*+\-.0-9A-Z^-~]+)\s*", re.ASCII)
_RFC2231 = "RFC 2231"
_RFC2045 = "RFC 2045 §5.1"

# RFC 2045 §5.1 token characters: printable ASCII less SPACE and tspecials.
_TOKEN_CHARS = re.compile(r"[!#-'*+\-.0-9A-Z^-~]+\Z", re.ASCII)
# RFC 2231 §7 attribute-char, minus "*", "'", "%": may stay unencoded.
_SAFE_2231 = "!#$&+-.^_`|~"


def parse_value(value: str, defects: list[Defect], *, media_type: bool) -> tuple[str, str]:
    """Split a Content-Type or Content-Disposition value.

    Args:
        value: the unfolded field value.
        defects: where problems are recorded.
        media_type: True for ``type/subtype``, False for a disposition token.

    Returns:
        ``(lower-cased type or token, the rest after it)``; the type is ``""``
        when the value does not start with a valid one.
    """
    pattern = _TYPE if media_type else _TOKEN
    match = pattern.match(value)
    if match is None:
        defects.append(Defect("invalid-type", f"cannot read {value[:40]!r}", _RFC2045))
        return "", value[value.find(";") + 1 :] if ";" in value else ""
    kind = match.group(0).strip().replace(" ", "").replace("\t", "").lower()
    rest = value[match.end() :]
    if rest and not rest.lstrip().startswith(";"):
        tail = _TAIL.match(rest)
        if (tail is None or tail.end() != len(rest)) and not rest.lstrip().startswith(";"):
            defects.append(Defect("junk-after-type", f"ignored {rest[:40]!r}", _RFC2045))
    return kind, rest


def parse_params(text: str, defects: list[Defect]) -> dict[str, str]:
    """Read the parameters that follow the type, RFC 2231 included.

    Args:
        text: what follows ``type/subtype`` (or the disposition token).
        defects: where problems are recorded.

    Returns:
        Lower-cased names to values, RFC 2231 values decoded and joined.
    """
    plain: dict[str, str] = {}
    extended: dict[str, tuple[str, bool]] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    found: list[Defect] = []
    result = _scan(text, plain, extended, sections, found)
    defects.extend(first_of_each(found))
    return result


def _scan(
    text: str,
    plain: dict[str, str],
    extended: dict[str, tuple[str, bool]],
    sections: dict[str, dict[int, tuple[str, bool]]],
    defects: list[Defect],
) -> dict[str, str]:
    pos, end = 0, len(text)
    while pos < end:
        separators = _SEPARATORS.match(text, pos)
        assert separators is not None  # the pattern matches the empty string
        pos = separators.end()
        if pos >= end:
            break
        match = _PARAM.match(text, pos)
        if match is None:
            skip = _SKIP.match(text, pos)
            assert skip is not None  # the pattern matches the empty string
            junk = text[pos : skip.end()].strip(" \t;\r\n")
            if junk:
                defects.append(Defect("invalid-parameter", f"ignored {junk[:40]!r}", _RFC2045))
            pos = max(skip.end(), pos + 1)
            continue
        name = match.group(1).lower()
        if match.group(2) is not None or match.group(3) == '"':
            raw = match.group(2) or ""
            value = _QUOTED_PAIR.sub(r"\1", raw) if "\\" in raw else raw
            if match.group(3) != '"':
                defects.append(Defect("unterminated-quote", f"parameter {name}", _RFC2045))
        else:
            value = match.group(4) or ""
        pos = match.end()
        tail = _TAIL.match(text, pos)
        if tail is not None:
            pos = tail.end()
        if pos < end and text[pos] != ";":
            skip = _SKIP.match(text, pos)
            assert skip is not None
            junk = text[pos : skip.end()].rstrip(";")
            defects.append(Defect("junk-in-parameter", f"{name}: ignored {junk[:40]!r}", _RFC2045))
            pos = skip.end()
        _store(name, value, plain, extended, sections, defects)
    return _assemble(plain, extended, sections, defects)


def _store(  # noqa: PLR0917 - one call site, the five tables it fills
    name: str,
    value: str,
    plain: dict[str, str],
    extended: dict[str, tuple[str, bool]],
    sections: dict[str, dict[int, tuple[str, bool]]],
    defects: list[Defect],
) -> None:
    if "*" not in name:
        if name in plain:
            defects.append(
                Defect("duplicate-parameter", f"{name} given twice; first kept", _RFC2045)
            )
        else:
            plain[name] = value
        return
    match = _SECTION.match(name)
    if match is None:
        defects.append(Defect("invalid-parameter", f"bad name {name!r}", _RFC2231))
        return
    if match.group(4) is not None:
        base = match.group(4)
        if base in extended:
            defects.append(Defect("duplicate-parameter", f"{base}* given twice", _RFC2231))
        else:
            extended[base] = (value, True)
        return
    base, index, encoded = match.group(1), int(match.group(2)), match.group(3) == "*"
    parts = sections.setdefault(base, {})
    if index in parts:
        defects.append(Defect("duplicate-parameter", f"{base}*{index} given twice", _RFC2231))
    else:
        parts[index] = (value, encoded)


def _assemble(
    plain: dict[str, str],
    extended: dict[str, tuple[str, bool]],
    sections: dict[str, dict[int, tuple[str, bool]]],
    defects: list[Defect],
) -> dict[str, str]:
    result = dict(plain)
    for base, parts in sections.items():
        pieces: list[tuple[str, bool]] = []
        index = 0
        while index in parts:
            pieces.append(parts[index])
            index += 1
        if len(pieces) != len(parts):
            defects.append(Defect("missing-section", f"{base}*{index} missing", _RFC2231))
        if base in extended:
            defects.append(Defect("duplicate-parameter", f"{base}* and {base}*0 both given"))
            continue
        extended[base] = ("", False)  # placeholder keeps the name's order
        result_value = _join_sections(pieces, defects)
        _prefer_extended(base, result_value, result, defects)
    for base, (value, encoded) in extended.items():
        if not encoded:
            continue
        _prefer_extended(base, _decode_extended(value, defects), result, defects)
    return result


def _prefer_extended(base: str, value: str, result: dict[str, str], defects: list[Defect]) -> None:
    if base in result:
        defects.append(
            Defect(
                "duplicate-parameter",
                f"{base} given plainly and in RFC 2231 form; the RFC 2231 form wins",
                _RFC2231,
            )
        )
    result[base] = value


def _split_charset(value: str, defects: list[Defect]) -> tuple[str, str]:
    charset, quote, rest = value.partition("'")
    if not quote:
        defects.append(Defect("rfc2231-no-charset", "extended value without charset''", _RFC2231))
        return "us-ascii", value
    _language, _, rest = rest.partition("'")
    return charset or "us-ascii", rest


def _decode_bytes(data: bytes, charset: str, defects: list[Defect]) -> str:
    codec = text_codec(charset)
    if codec is None:
        defects.append(Defect("unknown-charset", f"unknown charset {charset!r}", _RFC2231))
        return data.decode("utf-8", "replace")
    try:
        return data.decode(codec)
    except UnicodeError:
        defects.append(Defect("charset-mismatch", f"bytes invalid in {charset}", _RFC2231))
    try:
        return data.decode(codec, "replace")
    except UnicodeError:  # a codec past text_codec's probe that still refuses
        return data.decode("utf-8", "replace")


def _decode_extended(value: str, defects: list[Defect]) -> str:
    charset, rest = _split_charset(value, defects)
    return _decode_bytes(urllib.parse.unquote_to_bytes(rest), charset, defects)


def _join_sections(pieces: list[tuple[str, bool]], defects: list[Defect]) -> str:
    if not pieces:
        return ""
    charset = "us-ascii"
    data = bytearray()
    for number, (value, encoded) in enumerate(pieces):
        if encoded:
            text = value
            if number == 0:
                charset, text = _split_charset(value, defects)
            data += urllib.parse.unquote_to_bytes(text)
        else:
            data += value.encode("utf-8", "surrogateescape")
    return _decode_bytes(bytes(data), charset if pieces[0][1] else "utf-8", defects)


def _quote(value: str) -> str:
    # An apostrophe is a token character (RFC 2045 §5.1), but readers that look
    # for RFC 2231's charset'language'value misread a bare one: quote it.
    if _TOKEN_CHARS.match(value) and "'" not in value:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_params(params: dict[str, str], *, section_length: int = 60) -> list[str]:
    """Write parameters as ``name=value`` items, to be joined with ``;``.

    ASCII values of reasonable length become a token or a quoted-string;
    anything else becomes an RFC 2231 UTF-8 extended value, split into
    numbered sections of at most ``section_length`` characters (§3, §4).

    Args:
        params: names (ASCII tokens) to values; values may not hold CR, LF or
            NUL (the caller has checked).
        section_length: the longest encoded section.

    Returns:
        The items, in order.
    """
    items: list[str] = []
    for name, value in params.items():
        printable = value.isascii() and value.isprintable()
        if printable and len(value) <= section_length:
            items.append(f"{name}={_quote(value)}")
            continue
        encoded = urllib.parse.quote(value.encode("utf-8"), safe=_SAFE_2231)
        if not printable and len(encoded) + 7 <= section_length:
            items.append(f"{name}*=utf-8''{encoded}")
            continue
        cuts: list[str] = []
        start = 0
        while start < len(encoded):
            stop = min(start + section_length, len(encoded))
            # never cut inside a %XX triplet
            if "%" in encoded[max(stop - 2, start) : stop]:
                stop = encoded.rindex("%", start, stop)
            cuts.append(encoded[start:stop])
            start = stop
        first = f"{name}*0*=utf-8''{cuts[0]}"
        items.append(first)
        items.extend(f"{name}*{i}*={cut}" for i, cut in enumerate(cuts[1:], 1))
    return items
