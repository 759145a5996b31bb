"""The fast path for FETCH: compiled regular expressions do the scanning.

A mailbox listing is thousands of FETCH responses of the same shape, so for
the strict RFC 9051 syntax this module matches whole structures at once:
one regex per FETCH item, one for a whole ENVELOPE, one per body part, one
``findall`` per address list or parameter list. Python code only converts
the captured groups and builds the objects, with no per-token work
(performance.md W3). On the W3 listing (benchmarks/workloads/
imap_fetch_parse.py) this path is 2.5 times the token parser of
:mod:`._fetch` and 4.6 times imaplib + IMAPClient, paired (3.4 under heavy
load on the shared machine; 2026-11-27). Where the time goes, 50,000
messages, CPU seconds: framing, parsing and the benchmark's read-back 3.2-3.6
s (parsing about 47 us a message: ENVELOPE 12, BODYSTRUCTURE 24, the rest
decoding and the simple items); the garbage collector 1.3-1.5 s, nearly all
in six full collections over the ~9 tracked objects kept per message
(FetchData, Envelope, 4.5 BodyStructures, the parts and address tuples).
Neither half alone fits the issue's 10x budget (2.1-2.4 s in all).

Most responses of a listing are *plain*: no backslash after the flags and
no literal, so every string is a quoted string whose value is the text
between its quotes. Those take a second set of functions that convert the
captured groups inline instead of calling :func:`_s` and friends for each
(13-16% less parse time on the W3 listing); the others take the general
functions.

The fast path covers a subset on purpose: an all-ASCII response line (8-bit
data is fine inside literals), upper-case keywords, single spaces, no
extension data beyond body-fld-loc, the usual FETCH items. It works on
``str``: the line is decoded once, each literal announcement replaced by a
``{#k}`` placeholder naming the k-th literal, so no captured group needs a
``decode`` call of its own. Whenever the
text leaves that subset, :func:`fast_msg_att` returns ``None`` and the
caller parses the response again with the token-based, tolerant parser of
:mod:`._fetch`, which also records defects. On every input both accept, the
two produce equal objects (tests/unit/imap/test_mailkit_corpus.py checks
this on the corpus, test_fetch_paths.py on a generated listing and on cases
aimed at the plain path).

Body structures are walked with an explicit stack, never by recursion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from mailwire.imap._decode import decode_header, parse_header_date, parse_internaldate
from mailwire.imap._fast import fast_constructor
from mailwire.imap._frames import StreamedLiteral
from mailwire.imap.events import FetchData
from mailwire.imap.structures import EMPTY, Address, BodyStructure, Envelope

__all__ = ["fast_msg_att"]

_Q = r'"[^"\\\r\n]*+(?:\\.[^"\\\r\n]*+)*+"'
_LIT = r"\{#[0-9]+\}"
# Quoted strings come first in each alternation: they are the common case,
# and the engine tries alternatives in order (a third off an ENVELOPE match).
_NS = r"(?:" + _Q + r"|NIL|" + _LIT + r")"
_STR = r"(?:" + _Q + r"|" + _LIT + r")"
_PARAMS = r"(?:\(" + _STR + r" " + _NS + r"(?: " + _STR + r" " + _NS + r")*\)|NIL)"
_DSP = r"(?:NIL|\(" + _STR + r" " + _PARAMS + r"\))"
_LANG = r"(?:" + _NS + r"|\(" + _STR + r"(?: " + _STR + r")*\))"
_EXT = r"(?: (" + _DSP + r")(?: (" + _LANG + r")(?: (" + _NS + r"))?)?)?"
_ADDR = r"\((" + _NS + r") (" + _NS + r") (" + _NS + r") (" + _NS + r")\)"
_ALIST = r"(\((?:\(" + _NS + r" " + _NS + r" " + _NS + r" " + _NS + r"\))+\)|NIL)"

_ENVELOPE = re.compile(
    r"\(("
    + _NS
    + r") ("
    + _NS
    + r") "
    + r" ".join([_ALIST] * 6)
    + r" ("
    + _NS
    + r") ("
    + _NS
    + r")\)"
)
# type subtype params id description encoding size [lines] [md5 [dsp [lang [loc]]]]
_LEAF = re.compile(
    r"\(("
    + _STR
    + r") ("
    + _STR
    + r") ("
    + _PARAMS
    + r") ("
    + _NS
    + r") ("
    + _NS
    + r") ("
    + _STR
    + r") ([0-9]++)(?: ([0-9]++))?(?: ("
    + _NS
    + r")"
    + _EXT
    + r")?\)"
)
_MESSAGE_HEAD = re.compile(
    r'\(("MESSAGE") ("RFC822"|"GLOBAL") ('
    + _PARAMS
    + r") ("
    + _NS
    + r") ("
    + _NS
    + r") ("
    + _STR
    + r") ([0-9]++) (?=\()"
)
_MESSAGE_TAIL = re.compile(r" ([0-9]++)(?: (" + _NS + r")" + _EXT + r")?\)")
_MULTI_TAIL = re.compile(r" (" + _STR + r")(?: (" + _PARAMS + r")" + _EXT + r")?\)")
_ADDRESS = re.compile(_ADDR)
_ADDRESS_TEXT = re.compile(r"\(" + _NS + r" " + _NS + r" " + _NS + r" " + _NS + r"\)")
_PAIR = re.compile(r"(" + _STR + r") (" + _NS + r")")
_DSP_PARTS = re.compile(r"\((" + _STR + r") (" + _PARAMS + r")\)\Z")
_STRINGS = re.compile(_STR)
_WIRE_LITERAL = re.compile(rb"~?\{[0-9]+\}\r\n")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_FLAG = r'[^\x00-\x20\x7f()"{\[]+'
_ITEM = re.compile(
    r"UID ([0-9]++)"
    r"|FLAGS \(((?:" + _FLAG + r"(?: " + _FLAG + r")*)?)\)"
    r"|RFC822\.SIZE ([0-9]++)"
    r'|INTERNALDATE "([^"\\\r\n]*)"'
    r"|MODSEQ \(([0-9]++)\)"
    r"|(ENVELOPE|BODYSTRUCTURE|BODY) (?=\()"
    r"|(BODY\[[^\]\[\r\n]*\](?:<[0-9]+>)?|BINARY\[[0-9.]*\](?:<[0-9]+>)?"
    r"|RFC822|RFC822\.HEADER|RFC822\.TEXT) (" + _NS + r")"
    r"|X-GM-MSGID ([0-9]++)"
    r"|X-GM-THRID ([0-9]++)"
)

# The usual listing starts with a run of simple items; one match takes them
# all (a group repeated keeps its last value, as the item loop would).
_SIMPLE_RUN = re.compile(
    r"(?:(?:UID ([0-9]++)"
    r"|FLAGS \(((?:" + _FLAG + r"(?: " + _FLAG + r")*)?)\)"
    r"|RFC822\.SIZE ([0-9]++)"
    r'|INTERNALDATE "([^"\\\r\n]*)"'
    r"|MODSEQ \(([0-9]++)\)) )*"
)

# The same patterns for plain text (see the module docstring): with no
# backslash and no literal in the text, a quoted string is just '"[^"]*"',
# which the engine matches in about half the time of the general form.
_NS_PLAIN = r'(?:"[^"\r\n]*+"|NIL)'
_STR_PLAIN = r'"[^"\r\n]*+"'


def _plain(pattern: re.Pattern[str]) -> re.Pattern[str]:
    source = pattern.pattern.replace(_NS, _NS_PLAIN).replace(_STR, _STR_PLAIN)
    if _LIT in source or _Q in source:
        raise AssertionError(f"not made plain: {pattern.pattern}")
    return re.compile(source)


_ENVELOPE_PLAIN = _plain(_ENVELOPE)
_MESSAGE_HEAD_PLAIN = _plain(_MESSAGE_HEAD)
_MESSAGE_TAIL_PLAIN = _plain(_MESSAGE_TAIL)
_MULTI_TAIL_PLAIN = _plain(_MULTI_TAIL)
_DSP_PARTS_PLAIN = _plain(_DSP_PARTS)
_ADDRESS_PLAIN = _plain(_ADDRESS)
_ADDRESS_TEXT_PLAIN = _plain(_ADDRESS_TEXT)
_PAIR_PLAIN = _plain(_PAIR)

_make_fetch = fast_constructor(FetchData)
_make_body = fast_constructor(BodyStructure)
_make_address = fast_constructor(Address)
_make_envelope = fast_constructor(Envelope)

# Values repeat endlessly in a listing: media types, encodings, parameter
# lists, flag sets, and above all address lists (the same senders again and
# again). Everything built here is immutable, so equal texts can share one
# object; each table maps the exact text to it. The tables are bounded (and
# emptied when full), so a hostile server can cost us speed but not memory.
# Texts holding a literal placeholder are never remembered. A full table takes
# nothing new (rather than being emptied), so the values seen first, usually
# the most common ones, stay.
_LOWER: dict[str, str] = {}
_UPPER: dict[str, str] = {}
_PARAMS_SEEN: dict[str, Mapping[str, str]] = {}
_ALISTS: dict[str, tuple[Address, ...]] = {}
_ADDRESSES: dict[str, Address] = {}
_FLAGS: dict[str, tuple[str, ...]] = {}
_CACHE_MAX = 4096


def _remember(table: dict[str, Any], key: str, value: Any) -> None:
    if len(table) < _CACHE_MAX:
        table[key] = value


Lits = tuple[bytes | StreamedLiteral, ...]


class _Off(Exception):
    """The text left the subset the fast path handles."""


def _s(g: str | None, lits: Lits) -> str | None:
    """An nstring group as text (``None`` for NIL or an absent group)."""
    if g is None or g == "NIL":
        return None
    if g[0] == '"':
        inner = g[1:-1]
        return _ESCAPE.sub(r"\1", inner) if "\\" in inner else inner
    value = lits[int(g[2:-1])]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


def _h(g: str | None, lits: Lits) -> str | None:
    """An nstring group as header text, RFC 2047 decoded."""
    value = _s(g, lits)
    return value if value is None or "=?" not in value else decode_header(value)


def _folded(g: str, table: dict[str, str], upper: bool) -> str:
    value = table.get(g)
    if value is None:
        if g[0] != '"':
            raise _Off  # a literal here: the full parser decodes it as ASCII
        inner = g[1:-1]
        if "\\" in inner:
            inner = _ESCAPE.sub(r"\1", inner)
        value = inner.upper() if upper else inner.lower()
        _remember(table, g, value)
    return value


def _params(g: str | None, lits: Lits) -> Mapping[str, str]:
    """body-fld-param. A list seen before comes back as the same read-only
    mapping; a new one is a plain dict, which holds only strings and so is no
    work for the garbage collector (a proxy around it would be)."""
    if g is None or g == "NIL":
        return EMPTY
    cached = _PARAMS_SEEN.get(g)
    if cached is not None:
        return cached
    params: dict[str, str] = {}
    if "\\" not in g and "{#" not in g:
        for key, value in _PAIR_PLAIN.findall(g):
            params[key[1:-1].lower()] = (
                "" if value == "NIL" else value[1:-1] if "=?" not in value
                else decode_header(value[1:-1])
            )  # fmt: skip
        if len(_PARAMS_SEEN) < _CACHE_MAX:
            _PARAMS_SEEN[g] = MappingProxyType(dict(params))
        return params
    for key, value in _PAIR.findall(g):
        params[_folded(key, _LOWER, False)] = _h(value, lits) or ""
    return params


def _extension(
    dsp: str | None, lang: str | None, loc: str | None, lits: Lits
) -> tuple[str | None, Mapping[str, str], tuple[str, ...] | None, str | None]:
    """body-fld-dsp, body-fld-lang and body-fld-loc from their groups."""
    disposition = None
    dparams: Mapping[str, str] = EMPTY
    if dsp is not None and dsp != "NIL":
        parts = _DSP_PARTS.match(dsp)
        if parts is None:
            raise _Off
        disposition = _folded(parts[1], _LOWER, False)
        dparams = _params(parts[2], lits)
    language = None
    if lang is not None:
        if lang[0] == "(":
            language = tuple(_s(x, lits) or "" for x in _STRINGS.findall(lang))
        else:
            value = _s(lang, lits)
            language = None if value is None else (value,)
    return disposition, dparams, language, _s(loc, lits)


def _address(text: str) -> Address:
    """One address without escapes or literals, remembered by its text."""
    address = _ADDRESSES.get(text)
    if address is None:
        match = _ADDRESS_PLAIN.match(text)
        if match is None:
            raise _Off
        name, adl, mailbox, host = match.groups()
        address = _make_address(
            None if name == "NIL" else name[1:-1] if "=?" not in name
            else decode_header(name[1:-1]),
            None if adl == "NIL" else adl[1:-1],
            None if mailbox == "NIL" else mailbox[1:-1],
            None if host == "NIL" else host[1:-1],
        )  # fmt: skip
        _remember(_ADDRESSES, text, address)
    return address


def _addresses(g: str, lits: Lits) -> tuple[Address, ...]:
    if g == "NIL":
        return ()
    found = _ALISTS.get(g)
    if found is not None:
        return found
    if "\\" not in g and "{#" not in g:
        seen = _ADDRESSES.get
        found = tuple([seen(text) or _address(text) for text in _ADDRESS_TEXT_PLAIN.findall(g)])
        _remember(_ALISTS, g, found)
        return found
    return tuple(
        [
            _make_address(_h(name, lits), _s(adl, lits), _s(mailbox, lits), _s(host, lits))
            for name, adl, mailbox, host in _ADDRESS.findall(g)
        ]
    )


def _envelope(text: str, pos: int, lits: Lits) -> tuple[Envelope, int]:
    m = _ENVELOPE.match(text, pos)
    if m is None:
        raise _Off
    date, subject, a1, a2, a3, a4, a5, a6, in_reply_to, message_id = m.groups()
    date_text = _s(date, lits)
    envelope = _make_envelope(
        None if date_text is None else parse_header_date(date_text),
        _h(subject, lits),
        _addresses(a1, lits),
        _addresses(a2, lits),
        _addresses(a3, lits),
        _addresses(a4, lits),
        _addresses(a5, lits),
        _addresses(a6, lits),
        _s(in_reply_to, lits),
        _s(message_id, lits),
        date_text,
    )
    return envelope, m.end()


def _leaf(m: re.Match[str], lits: Lits) -> BodyStructure:
    kind_g, subtype, params, id_, description, encoding, size, lines, md5, dsp, lang, loc = (
        m.groups()
    )
    kind = _folded(kind_g, _LOWER, False)
    if (kind == "text") != (lines is not None):
        raise _Off  # lines belong to text/* only; let the full parser judge
    if md5 is None:
        md5 = disposition = language = location = None
        dparams: Mapping[str, str] = EMPTY
    elif dsp == "NIL" and lang == "NIL" and (loc is None or loc == "NIL"):
        md5 = _s(md5, lits)
        disposition = language = location = None
        dparams = EMPTY
    else:
        md5 = _s(md5, lits)
        disposition, dparams, language, location = _extension(dsp, lang, loc, lits)
    return _make_body(
        kind,
        _folded(subtype, _LOWER, False),
        _params(params, lits),
        (),
        _s(id_, lits),
        _h(description, lits),
        _folded(encoding, _UPPER, True),
        int(size),
        None if lines is None else int(lines),
        None,
        None,
        md5,
        disposition,
        dparams,
        language,
        location,
        (),
    )


def _body(text: str, pos: int, lits: Lits, max_depth: int) -> tuple[BodyStructure, int]:
    """``body`` at ``pos``, walked with an explicit stack."""
    # Each stack entry is a multipart collecting children ([None, parts]) or
    # a message/rfc822 part waiting for its body ([head match, envelope]).
    stack: list[list[Any]] = []
    while True:
        if text[pos] != "(" or len(stack) >= max_depth:
            raise _Off
        if text[pos + 1] == "(":
            stack.append([None, []])
            pos += 1
            continue
        m = _LEAF.match(text, pos)
        if m is None:
            head = _MESSAGE_HEAD.match(text, pos)
            if head is None:
                raise _Off
            envelope, pos = _envelope(text, head.end(), lits)
            if text[pos] != " ":
                raise _Off
            stack.append([head, envelope])
            pos += 1
            continue
        part = _leaf(m, lits)
        pos = m.end()
        while stack:
            top = stack[-1]
            if top[0] is None:
                top[1].append(part)
                if text[pos] == "(":
                    break
                t = _MULTI_TAIL.match(text, pos)
                if t is None:
                    raise _Off
                stack.pop()
                subtype, params, dsp, lang, loc = t.groups()
                disposition, dparams, language, location = _extension(dsp, lang, loc, lits)
                part = _make_body(
                    "multipart",
                    _folded(subtype, _LOWER, False),
                    _params(params, lits),
                    tuple(top[1]),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    disposition,
                    dparams,
                    language,
                    location,
                    (),
                )
                pos = t.end()
                continue
            head, envelope = stack.pop()
            t = _MESSAGE_TAIL.match(text, pos)
            if t is None:
                raise _Off
            lines, md5, dsp, lang, loc = t.groups()
            if md5 is None:
                disposition = language = location = None
                dparams = EMPTY
            else:
                disposition, dparams, language, location = _extension(dsp, lang, loc, lits)
            _, subtype, params, id_, description, encoding, size = head.groups()
            part = _make_body(
                "message",
                _folded(subtype, _LOWER, False),
                _params(params, lits),
                (),
                _s(id_, lits),
                _h(description, lits),
                _folded(encoding, _UPPER, True),
                int(size),
                int(lines),
                envelope,
                part,
                _s(md5, lits),
                disposition,
                dparams,
                language,
                location,
                (),
            )
            pos = t.end()
        else:
            return part, pos


# ------------------------------------------------------------ plain text --
#
# The plain path (see the module docstring): the same values as the general
# functions above, converted inline (``g[1:-1]``).

# type and subtype as one group: one table lookup gives both.
_LEAF_PLAIN = _plain(
    re.compile(
        r"\(("
        + _STR
        + r" "
        + _STR
        + r") ("
        + _PARAMS
        + r") ("
        + _NS
        + r") ("
        + _NS
        + r") ("
        + _STR
        + r") ([0-9]++)(?: ([0-9]++))?(?: ("
        + _NS
        + r")"
        + _EXT
        + r")?\)"
    )
)
_MEDIA: dict[str, tuple[str, str]] = {}
_KEYS: dict[str, str] = {}


def _media(g: str) -> tuple[str, str]:
    """``"TYPE" "SUBTYPE"`` (quoted strings, no escapes) as lower-case names."""
    media = _MEDIA.get(g)
    if media is None:
        kind, _, subtype = g[1:-1].partition('" "')
        media = (kind.lower(), subtype.lower())
        _remember(_MEDIA, g, media)
    return media


def _params_plain(g: str) -> Mapping[str, str]:
    """body-fld-param without escapes or literals; shared when seen before."""
    if g == "NIL":
        return EMPTY
    cached = _PARAMS_SEEN.get(g)
    if cached is not None:
        return cached
    if "NIL" in g:
        # A NIL value: the split below would misread it.
        return _params(g, ())
    # ("K1" "V1" "K2" "V2"): the quotes hold no quote, so '" "' only ever
    # separates two strings.
    items = g[2:-2].split('" "')
    params: dict[str, str]
    keys = _KEYS
    decode = "=?" in g
    if len(items) == 2 and not decode:  # the usual single parameter
        key, value = items
        params = {keys.get(key) or key.lower(): value}
        if len(_PARAMS_SEEN) < _CACHE_MAX:
            shared = MappingProxyType(params)
            _PARAMS_SEEN[g] = shared
            return shared
        return params
    params = {}
    for i in range(0, len(items), 2):
        key = items[i]
        name = keys.get(key)
        if name is None:
            name = key.lower()
            _remember(keys, key, name)
        value = items[i + 1]
        params[name] = decode_header(value) if decode and "=?" in value else value
    if len(_PARAMS_SEEN) < _CACHE_MAX:
        shared = MappingProxyType(params)
        _PARAMS_SEEN[g] = shared
        return shared
    return params


def _encoding(g: str) -> str:
    value = _UPPER.get(g)
    if value is None:
        value = g[1:-1].upper()
        _remember(_UPPER, g, value)
    return value


def _extension_plain(
    dsp: str | None, lang: str | None, loc: str | None
) -> tuple[str | None, Mapping[str, str], tuple[str, ...] | None, str | None]:
    """:func:`_extension` for plain text."""
    disposition = None
    dparams: Mapping[str, str] = EMPTY
    if dsp is not None and dsp != "NIL":
        parts = _DSP_PARTS_PLAIN.match(dsp)
        if parts is None:
            raise _Off
        kind, params = parts.groups()
        disposition = _LOWER.get(kind) or _folded(kind, _LOWER, False)
        if params != "NIL":
            dparams = _PARAMS_SEEN.get(params) or _params_plain(params)
    if lang is None or lang == "NIL":
        language = None
    elif lang[0] == "(":
        language = tuple(lang[2:-2].split('" "'))
    else:
        language = (lang[1:-1],)
    return disposition, dparams, language, None if loc is None or loc == "NIL" else loc[1:-1]


def _envelope_plain(text: str, pos: int) -> tuple[Envelope, int]:
    m = _ENVELOPE_PLAIN.match(text, pos)
    if m is None:
        raise _Off
    date, subject, a1, a2, a3, a4, a5, a6, in_reply_to, message_id = m.groups()
    if date == "NIL":
        date_text = when = None
    else:
        date_text = date[1:-1]
        when = parse_header_date(date_text)
    # Servers fill Sender and Reply-To from From: equal texts share one tuple.
    from_ = _addresses(a1, ())
    envelope = _make_envelope(
        when,
        None if subject == "NIL" else subject[1:-1] if "=?" not in subject
        else decode_header(subject[1:-1]),
        from_,
        from_ if a2 == a1 else _addresses(a2, ()),
        from_ if a3 == a1 else _addresses(a3, ()),
        _addresses(a4, ()),
        () if a5 == "NIL" else _addresses(a5, ()),
        () if a6 == "NIL" else _addresses(a6, ()),
        None if in_reply_to == "NIL" else in_reply_to[1:-1],
        None if message_id == "NIL" else message_id[1:-1],
        date_text,
    )  # fmt: skip
    return envelope, m.end()


def _leaf_plain(m: re.Match[str]) -> BodyStructure:
    media, params, id_, description, encoding, size, lines, md5, dsp, lang, loc = m.groups()
    kind, subtype = _MEDIA.get(media) or _media(media)
    if (kind == "text") != (lines is not None):
        raise _Off  # lines belong to text/* only; let the full parser judge
    if md5 is None:
        disposition = language = location = None
        dparams: Mapping[str, str] = EMPTY
    elif dsp == "NIL" and lang == "NIL" and (loc is None or loc == "NIL"):
        md5 = None if md5 == "NIL" else md5[1:-1]
        disposition = language = location = None
        dparams = EMPTY
    else:
        md5 = None if md5 == "NIL" else md5[1:-1]
        disposition, dparams, language, location = _extension_plain(dsp, lang, loc)
    return _make_body(
        kind,
        subtype,
        EMPTY if params == "NIL" else _PARAMS_SEEN.get(params) or _params_plain(params),
        (),
        None if id_ == "NIL" else id_[1:-1],
        None if description == "NIL" else description[1:-1] if "=?" not in description
        else decode_header(description[1:-1]),
        _UPPER.get(encoding) or _encoding(encoding),
        int(size),
        None if lines is None else int(lines),
        None,
        None,
        md5,
        disposition,
        dparams,
        language,
        location,
        (),
    )  # fmt: skip


def _body_plain(text: str, pos: int, max_depth: int) -> tuple[BodyStructure, int]:
    """:func:`_body` for plain text (see above)."""
    stack: list[list[Any]] = []
    leaf = _LEAF_PLAIN.match
    while True:
        if text[pos] != "(" or len(stack) >= max_depth:
            raise _Off
        if text[pos + 1] == "(":
            stack.append([None, []])
            pos += 1
            continue
        if text.startswith('("MESSAGE" ', pos):
            # message/rfc822 (the leaf regex would fail on it first)
            head = _MESSAGE_HEAD_PLAIN.match(text, pos)
            if head is not None:
                envelope, pos = _envelope_plain(text, head.end())
                if text[pos] != " ":
                    raise _Off
                stack.append([head, envelope])
                pos += 1
                continue
        m = leaf(text, pos)
        if m is None:
            raise _Off
        part = _leaf_plain(m)
        pos = m.end()
        while stack:
            top = stack[-1]
            if top[0] is None:
                top[1].append(part)
                if text[pos] == "(":
                    break
                t = _MULTI_TAIL_PLAIN.match(text, pos)
                if t is None:
                    raise _Off
                stack.pop()
                subtype, params, dsp, lang, loc = t.groups()
                if dsp is None or (
                    dsp == "NIL" and lang == "NIL" and (loc is None or loc == "NIL")
                ):
                    disposition = language = location = None
                    dparams: Mapping[str, str] = EMPTY
                else:
                    disposition, dparams, language, location = _extension_plain(dsp, lang, loc)
                part = _make_body(
                    "multipart",
                    _LOWER.get(subtype) or _folded(subtype, _LOWER, False),
                    EMPTY if params is None else _params_plain(params),
                    tuple(top[1]),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    disposition,
                    dparams,
                    language,
                    location,
                    (),
                )
                pos = t.end()
                continue
            head, envelope = stack.pop()
            t = _MESSAGE_TAIL_PLAIN.match(text, pos)
            if t is None:
                raise _Off
            lines, md5, dsp, lang, loc = t.groups()
            if md5 is None:
                disposition = language = location = None
                dparams = EMPTY
            else:
                disposition, dparams, language, location = _extension_plain(dsp, lang, loc)
            _, subtype, params, id_, description, encoding, size = head.groups()
            part = _make_body(
                "message",
                _LOWER.get(subtype) or _folded(subtype, _LOWER, False),
                _params_plain(params),
                (),
                _s(id_, ()),
                _h(description, ()),
                _UPPER.get(encoding) or _encoding(encoding),
                int(size),
                int(lines),
                envelope,
                part,
                _s(md5, ()),
                disposition,
                dparams,
                language,
                location,
                (),
            )
            pos = t.end()
        else:
            return part, pos


def _flags(raw: str) -> tuple[str, ...]:
    flags = _FLAGS.get(raw)
    if flags is None:
        flags = tuple(raw.split(" ")) if raw else ()
        _remember(_FLAGS, raw, flags)
    return flags


def fast_msg_att(
    raw: bytes, pos: int, literals: Lits, seq: int, max_depth: int
) -> FetchData | None:
    """The FetchData for ``msg-att`` at ``raw[pos:]``, or ``None`` off the fast path."""
    if not raw.isascii():
        return None
    if literals:
        counter = iter(range(len(literals)))
        before = len(_WIRE_LITERAL.findall(raw, 0, pos))
        for _ in range(before):
            next(counter)
        head, tail = raw[:pos], raw[pos:]
        raw = head + _WIRE_LITERAL.sub(lambda _m: b"{#%d}" % next(counter), tail)
    try:
        return _msg_att(raw.decode("ascii"), pos, literals, seq, max_depth)
    except (_Off, IndexError, KeyError, ValueError, StopIteration):
        return None


def _msg_att(text: str, pos: int, lits: Lits, seq: int, max_depth: int) -> FetchData:
    if text[pos] != "(":
        raise _Off
    pos += 1
    uid = flags = internaldate = size = envelope = bodystructure = None
    modseq = gm_msgid = gm_thrid = None
    sections: dict[str, bytes | None] | None = None
    streamed: dict[str, int] | None = None
    plain: bool | None = None
    run = _SIMPLE_RUN.match(text, pos)
    if run is not None and run.end() > pos:
        pos = run.end()
        raw_uid, raw_flags, raw_size, raw_date, raw_modseq = run.groups()
        if raw_uid is not None:
            uid = int(raw_uid)
        if raw_flags is not None:
            flags = _flags(raw_flags)
        if raw_size is not None:
            size = int(raw_size)
        if raw_date is not None:
            internaldate = parse_internaldate(raw_date)
            if internaldate is None:
                raise _Off
        if raw_modseq is not None:
            modseq = int(raw_modseq)
    match = _ITEM.match
    while True:
        # ENVELOPE and BODYSTRUCTURE, the big items, skip the item regex.
        if text.startswith("ENVELOPE (", pos):
            if plain is None:
                plain = not lits and text.find("\\", pos) < 0
            if plain:
                envelope, pos = _envelope_plain(text, pos + 9)
            else:
                envelope, pos = _envelope(text, pos + 9, lits)
            c = text[pos]
            pos += 1
            if c == " ":
                continue
            if c == ")" and pos == len(text):
                break
            raise _Off
        if text.startswith("BODYSTRUCTURE (", pos):
            if plain is None:
                plain = not lits and text.find("\\", pos) < 0
            if plain:
                bodystructure, pos = _body_plain(text, pos + 14, max_depth)
            else:
                bodystructure, pos = _body(text, pos + 14, lits, max_depth)
            c = text[pos]
            pos += 1
            if c == " ":
                continue
            if c == ")" and pos == len(text):
                break
            raise _Off
        m = match(text, pos)
        if m is None:
            raise _Off
        which = m.lastindex
        pos = m.end()
        if which == 1:
            uid = int(m[1])
        elif which == 2:
            flags = _flags(m[2])
        elif which == 3:
            size = int(m[3])
        elif which == 4:
            internaldate = parse_internaldate(m[4])
            if internaldate is None:
                raise _Off
        elif which == 5:
            modseq = int(m[5])
        elif which == 6:
            if plain is None:
                plain = not lits and text.find("\\", pos) < 0
            if m[6] == "ENVELOPE":
                envelope, pos = _envelope_plain(text, pos) if plain else _envelope(text, pos, lits)
            else:
                bodystructure, pos = (
                    _body_plain(text, pos, max_depth)
                    if plain
                    else _body(text, pos, lits, max_depth)
                )
        elif which == 8:
            key = m[7].upper()
            value = m[8]
            if sections is None:
                sections = {}
            if value == "NIL":
                sections[key] = None
            elif value[0] == '"':
                sections[key] = (_s(value, lits) or "").encode("ascii")
            else:
                data = lits[int(value[2:-1])]
                if isinstance(data, StreamedLiteral):
                    if streamed is None:
                        streamed = {}
                    streamed[key] = data.size
                else:
                    sections[key] = data
        elif which == 9:
            gm_msgid = int(m[9])
        elif which == 10:
            gm_thrid = int(m[10])
        else:
            raise _Off
        c = text[pos]
        pos += 1
        if c == " ":
            continue
        if c == ")" and pos == len(text):
            break
        raise _Off
    return _make_fetch(
        seq,
        uid,
        flags,
        internaldate,
        size,
        envelope,
        bodystructure,
        sections or EMPTY,
        streamed or EMPTY,
        EMPTY,
        modseq,
        None,
        None,
        None,
        None,
        gm_msgid,
        gm_thrid,
        None,
        EMPTY,
        (),
    )
