"""FETCH responses: msg-att, ENVELOPE and BODYSTRUCTURE (RFC 9051 §7.5.2, §9).

This is the hot path of a mailbox listing (performance.md W3), so the readers
below take tokens straight from the decoder's list and keep method calls to
one per field. Everything they build is frozen (:mod:`.structures`,
:class:`~mailwire.imap.events.FetchData`).

Server deviations accepted here, each recorded as a defect:

- Domino wraps some items in an extra pair of parentheses
  (``(UID 1 (ENVELOPE (...)) ...)``): ``extra-parentheses``;
- Yandex sends ``BODY[2] )`` with no value for an empty part:
  ``missing-value``;
- Zoho sends ``MODSEQ (-1)`` and some servers ``-1`` as a body size:
  ``negative-number``;
- a body part with NIL for its type, subtype or encoding, or an empty
  address list ``()``: ``nil-string`` / ``empty-address-list``;
- ``BODY.PEEK[...]`` echoed back instead of ``BODY[...]``: ``peek-echoed``;
- Gmail puts NIL among X-GM-LABELS: ``nil-label`` (the NIL is dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mailwire.errors import NestingTooDeep
from mailwire.imap._decode import decode_header_text, parse_header_date, parse_internaldate
from mailwire.imap._frames import StreamedLiteral
from mailwire.imap._lexer import CLOSE, DQUOTE, LF, OPEN, Decoder
from mailwire.imap._utf7 import decode_mailbox_name
from mailwire.imap.events import FetchData
from mailwire.imap.structures import EMPTY, Address, BodyStructure, Envelope

__all__ = ["body", "envelope", "msg_att"]


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")


def _header(raw: bytes | None) -> str | None:
    return None if raw is None else decode_header_text(raw)


# ----------------------------------------------------------------- ENVELOPE


def address_list(d: Decoder) -> tuple[Address, ...]:
    """``env-from`` and the other lists: ``"(" 1*address ")" / nil``."""
    toks = d.toks
    tok = toks[d.pos]
    if tok != b"(":
        if tok.upper() == b"NIL":
            d.pos += 1
            return ()
        raise d.error("expected an address list")
    d.pos += 1
    out: list[Address] = []
    nstring = d.nstring
    while toks[d.pos] == b"(":
        d.pos += 1
        name = nstring()
        adl = nstring()
        mailbox = nstring()
        host = nstring()
        if toks[d.pos] != b")":
            raise d.error("expected ')' after an address")
        d.pos += 1
        out.append(
            Address(
                None if name is None else decode_header_text(name),
                None if adl is None else _text(adl),
                None if mailbox is None else _text(mailbox),
                None if host is None else _text(host),
            )
        )
    if toks[d.pos] != b")":
        raise d.error("expected an address")
    d.pos += 1
    if not out:
        d.defect("empty-address-list", "() instead of NIL")
    return tuple(out)


def envelope(d: Decoder) -> Envelope:
    """``envelope`` (RFC 9051 §7.5.2)."""
    d.open()
    nstring = d.nstring
    date = nstring()
    subject = nstring()
    from_ = address_list(d)
    sender = address_list(d)
    reply_to = address_list(d)
    to = address_list(d)
    cc = address_list(d)
    bcc = address_list(d)
    in_reply_to = nstring()
    message_id = nstring()
    d.close()
    return Envelope(
        None if date is None else parse_header_date(date.decode("utf-8", "replace")),
        None if subject is None else decode_header_text(subject),
        from_,
        sender,
        reply_to,
        to,
        cc,
        bcc,
        None if in_reply_to is None else _text(in_reply_to),
        None if message_id is None else _text(message_id),
        None if date is None else _text(date),
    )


# ----------------------------------------------------------------- BODYSTRUCTURE


def _params(d: Decoder) -> Mapping[str, str]:
    """``body-fld-param``: ``"(" string SP string *(SP string SP string) ")" / nil``."""
    toks = d.toks
    tok = toks[d.pos]
    if tok != b"(":
        if tok.upper() == b"NIL":
            d.pos += 1
            return EMPTY
        raise d.error("expected body parameters")
    d.pos += 1
    params: dict[str, str] = {}
    astring = d.astring
    while toks[d.pos] != b")":
        key = astring()
        value = d.nstring()
        params[key.decode("ascii", "replace").lower()] = (
            "" if value is None else decode_header_text(value)
        )
    d.pos += 1
    return params if params else EMPTY


def _media(d: Decoder, what: str) -> str:
    value = d.nstring()
    if value is None:
        d.defect("nil-string", f"NIL {what}")
        return ""
    return value.decode("ascii", "replace").lower()


def _extension(d: Decoder, part: dict[str, Any]) -> None:
    """The optional extension data after a body (RFC 9051 §9 body-ext-*)."""
    toks = d.toks
    if toks[d.pos] == b")":
        return
    # body-fld-dsp = "(" string SP body-fld-param ")" / nil
    tok = toks[d.pos]
    if tok == b"(":
        d.pos += 1
        kind = d.nstring()
        part["disposition"] = None if kind is None else kind.decode("ascii", "replace").lower()
        part["disposition_params"] = _params(d)
        d.close()
    elif tok.upper() == b"NIL":
        d.pos += 1
    else:
        # Some servers put a bare string here; keep it as the disposition.
        value = d.astring()
        d.defect("bad-disposition", value.decode("ascii", "replace"))
        part["disposition"] = value.decode("ascii", "replace").lower()
    if toks[d.pos] == b")":
        return
    # body-fld-lang = nstring / "(" string *(SP string) ")"
    if toks[d.pos] == b"(":
        part["language"] = d.text_list()
    else:
        lang = d.nstring()
        part["language"] = None if lang is None else (_text(lang) or "",)
    if toks[d.pos] == b")":
        return
    part["location"] = _text(d.nstring())
    extensions = []
    while toks[d.pos] != b")":
        extensions.append(d.value())
    part["extensions"] = tuple(extensions)


def body(d: Decoder, depth: int = 0) -> BodyStructure:
    """``body`` (RFC 9051 §9): one part, or a multipart with its children."""
    if depth >= d.max_depth:
        raise NestingTooDeep(f"body parts nested deeper than {d.max_depth}", limit=d.max_depth)
    toks = d.toks
    d.open()
    part: dict[str, Any] = {}
    if toks[d.pos] == b"(":
        children = []
        while toks[d.pos] == b"(":
            children.append(body(d, depth + 1))
        part["parts"] = tuple(children)
        subtype = _media(d, "multipart subtype") if toks[d.pos] != b")" else ""
        if toks[d.pos] != b")":
            part["params"] = _params(d)
            _extension(d, part)
        d.close()
        return BodyStructure("multipart", subtype, **part)
    kind = _media(d, "media type")
    subtype = _media(d, "media subtype")
    part["params"] = _params(d)
    part["id"] = _text(d.nstring())
    part["description"] = _header(d.nstring())
    encoding = d.nstring()
    if encoding is None:
        d.defect("nil-string", "NIL body encoding")
    else:
        part["encoding"] = encoding.decode("ascii", "replace").upper()
    part["size"] = d.signed_number("body size")
    if kind == "text":
        part["lines"] = d.signed_number("body lines")
    elif kind == "message" and subtype in ("rfc822", "global") and toks[d.pos] == b"(":
        part["envelope"] = envelope(d)
        part["body"] = body(d, depth + 1)
        part["lines"] = d.signed_number("body lines")
    if toks[d.pos] != b")":
        part["md5"] = _text(d.nstring())
        _extension(d, part)
    d.close()
    return BodyStructure(kind, subtype, **part)


# ----------------------------------------------------------------- msg-att


def _section_value(d: Decoder, key: str, out: dict[str, Any]) -> None:
    toks = d.toks
    tok = toks[d.pos]
    first = tok[0] if tok else CLOSE
    if first == CLOSE:
        d.defect("missing-value", f"{key} without a value")
        out.setdefault("sections", {})[key] = None
        return
    if tok[-1] == LF:
        d.pos += 1
        data = d.literal(tok)
        if isinstance(data, StreamedLiteral):
            out.setdefault("streamed", {})[key] = data.size
            return
        out.setdefault("sections", {})[key] = data
        return
    out.setdefault("sections", {})[key] = d.nstring()


def _paren_number(d: Decoder, what: str) -> int:
    d.open()
    value = d.signed_number(what)
    d.close()
    return value


def _objectid(d: Decoder) -> str | None:
    tok = d.toks[d.pos]
    if tok.upper() == b"NIL":
        d.pos += 1
        return None
    d.open()
    value = d.astring()
    d.close()
    return value.decode("ascii", "replace")


def _date(d: Decoder, what: str) -> Any:
    raw = d.nstring()
    if raw is None:
        return None
    value = parse_internaldate(raw.decode("utf-8", "replace"))
    if value is None:
        d.defect("bad-date", f"{what} {raw[:40]!r}")
    return value


def _labels(d: Decoder) -> tuple[str, ...]:
    """X-GM-LABELS: a list of astrings (mailbox names and \\Inbox-style flags)."""
    d.open()
    out: list[str] = []
    while not d.skip_close():
        if d.peek() == b"NIL":
            # Gmail answers STORE +X-GM-LABELS with a NIL among the labels.
            d.next()
            d.defect("nil-label", "NIL in X-GM-LABELS")
            continue
        out.append(decode_mailbox_name(d.astring()))
    return tuple(out)


_Reader = Callable[[Decoder], Any]


def _annotations(d: Decoder) -> dict[str, dict[str, bytes | None]]:
    """ANNOTATION (RFC 5257 §5): entries with their attribute values, or names only."""
    d.open()
    out: dict[str, dict[str, bytes | None]] = {}
    while not d.skip_close():
        entry = d.astring().decode("utf-8", "replace")
        values: dict[str, bytes | None] = {}
        if d.peek() == b"(":
            d.open()
            while not d.skip_close():
                attribute = d.astring().decode("utf-8", "replace")
                values[attribute] = d.nstring()
        out[entry] = values
    return out


# Items whose value goes straight into a FetchData field.
_SIMPLE: dict[bytes, tuple[str, _Reader]] = {
    b"UID": ("uid", Decoder.number),
    b"FLAGS": ("flags", Decoder.flag_list),
    b"RFC822.SIZE": ("size", lambda d: d.signed_number("RFC822.SIZE")),
    b"INTERNALDATE": ("internaldate", lambda d: _date(d, "INTERNALDATE")),
    b"ENVELOPE": ("envelope", envelope),
    b"BODYSTRUCTURE": ("bodystructure", body),
    b"BODY": ("bodystructure", body),
    b"MODSEQ": ("modseq", lambda d: _paren_number(d, "MODSEQ")),
    b"EMAILID": ("emailid", _objectid),
    b"THREADID": ("threadid", _objectid),
    b"SAVEDATE": ("savedate", lambda d: _date(d, "SAVEDATE")),
    b"PREVIEW": ("preview", lambda d: _text(d.nstring())),
    b"X-GM-MSGID": ("gm_msgid", Decoder.number),
    b"X-GM-THRID": ("gm_thrid", Decoder.number),
    b"X-GM-LABELS": ("gm_labels", _labels),
    b"ANNOTATION": ("annotations", _annotations),
}
_WHOLE_SECTIONS = frozenset({b"RFC822", b"RFC822.HEADER", b"RFC822.TEXT"})


def msg_att(d: Decoder, seq: int) -> FetchData:
    """``msg-att`` after ``* n FETCH``: ``"(" item SP value *(SP item SP value) ")"``."""
    toks = d.toks
    d.open()
    out: dict[str, Any] = {}
    extra = 0
    simple = _SIMPLE
    while True:
        name = toks[d.pos]
        d.pos += 1
        handler = simple.get(name)
        if handler is not None:
            out[handler[0]] = handler[1](d)
            continue
        if not name:
            raise d.error("FETCH response ended early")
        first = name[0]
        if first == CLOSE:
            if extra:
                extra -= 1
                continue
            break
        if first == OPEN:
            extra += 1
            d.defect("extra-parentheses", "a FETCH item wrapped in parentheses")
            continue
        if first == DQUOTE or name[-1] == LF:
            d.pos -= 1
            raise d.error("expected a FETCH item name")
        key = name.upper()
        handler = simple.get(key)
        if handler is not None:
            out[handler[0]] = handler[1](d)
        elif b"[" in key:
            _section_item(d, key, out)
        elif key in _WHOLE_SECTIONS:
            _section_value(d, key.decode("ascii", "replace"), out)
        else:
            out.setdefault("other", {})[key.decode("ascii", "replace")] = d.value()
    if d.defects:
        out["defects"] = tuple(d.defects)
    return FetchData(seq, **out)


def _section_item(d: Decoder, key: bytes, out: dict[str, Any]) -> None:
    if key.startswith(b"BODY.PEEK["):
        d.defect("peek-echoed", key.decode("ascii", "replace"))
        key = b"BODY[" + key[10:]
    if key.startswith(b"BINARY.SIZE["):
        section = key[12:].split(b"]", 1)[0].decode("ascii", "replace")
        out.setdefault("binary_sizes", {})[section] = d.number()
        return
    _section_value(d, key.decode("utf-8", "replace"), out)
