"""From a :class:`~mailwire.imap._frames.Frame` to a typed response (RFC 9051 §7).

:func:`parse_response` looks at the start of the text to tell a
continuation (``+``), an untagged response (``*``) and a tagged completion
apart, then hands the rest to the reader for that response. Keywords and
status words are case-insensitive (RFC 9051 §9 note 1), so ``* capability``
and ``a1 ok`` are read like their upper-case forms.

Whatever the bytes, the result is a response or a
:class:`~mailwire.errors.RemoteProtocolError` (or one of its
:class:`~mailwire.errors.LimitExceeded` subclasses); a parser slip that
would surface as ``IndexError`` or ``ValueError`` is turned into the former.

Deviations accepted and recorded (beyond those of :mod:`._fetch`):
``missing-text`` (no SP and text after the status word), ``missing-star``
(Exchange's bare ``[COPYUID ...]`` line), ``empty-delimiter`` (``""`` as a
LIST delimiter), ``missing-space``, and the framing defects of
:mod:`._frames` (``bare-lf``, ``line-break-after-literal``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from mailwire.errors import RemoteProtocolError
from mailwire.imap._codes import resp_text
from mailwire.imap._frames import Frame
from mailwire.imap._lexer import HARD_DEPTH, Decoder, shorten
from mailwire.imap._seqset import SequenceSet
from mailwire.imap._utf7 import decode_mailbox_name
from mailwire.imap.events import (
    AclData,
    CapabilityData,
    Continuation,
    Defect,
    Enabled,
    ESearchData,
    Exists,
    ExpungeData,
    FetchData,
    Flags,
    IdData,
    ListData,
    ListRightsData,
    MetadataData,
    MyRightsData,
    NamespaceData,
    NamespaceInfo,
    Quota,
    QuotaResource,
    QuotaRoot,
    Recent,
    Response,
    ResponseCode,
    SearchData,
    SortData,
    StatusData,
    StatusResponse,
    Tagged,
    ThreadData,
    UntaggedData,
    Vanished,
)
from mailwire.limits import DEFAULT_LIMITS, Limits

__all__ = ["parse_response"]

_STATUS = frozenset({b"OK", b"NO", b"BAD", b"PREAUTH", b"BYE"})

_TAG = re.compile(rb'[^\x00-\x20\x7f(){%*"\\+\]]+\Z')

#: Whether FETCH responses try the regex fast path first (benchmarks and
#: tests switch it off to measure or check the token parser alone).
USE_FAST_PATH = True


# The two FETCH parsers, imported on the first FETCH: the fast path's
# regular expressions take a while to compile, and a session that never
# fetches need not pay for them.
_FETCH_PARSERS: list[Callable[..., FetchData | None]] = []


def _fetch_parsers() -> list[Callable[..., FetchData | None]]:
    if not _FETCH_PARSERS:
        from mailwire.imap._fastfetch import fast_msg_att
        from mailwire.imap._fetch import msg_att

        _FETCH_PARSERS.extend((fast_msg_att, msg_att))
    return _FETCH_PARSERS


def parse_response(frame: Frame, limits: Limits = DEFAULT_LIMITS) -> Response:
    """The typed response for one frame.

    Raises:
        RemoteProtocolError: the frame is not a valid response (also its
            subclasses, e.g. NestingTooDeep for lists nested past the cap).
    """
    try:
        return _dispatch(frame, limits)
    except (IndexError, ValueError) as exc:
        raise RemoteProtocolError(
            f"malformed response ({exc.__class__.__name__}: {exc}): {shorten(frame.text)}"
        ) from exc


def _defects(frame: Frame, found: list[Defect]) -> tuple[Defect, ...]:
    return (*frame.defects, *found)


def _dispatch(frame: Frame, limits: Limits) -> Response:
    text = frame.text
    if text.startswith(b"* "):
        space = text.find(b" ", 2)
        word = text[2:space] if space > 0 else text[2:]
        if word.isdigit() and word.isascii():
            if text.startswith(b"FETCH ", space + 1) and not frame.defects and USE_FAST_PATH:
                fast = (_FETCH_PARSERS or _fetch_parsers())[0](
                    text,
                    space + 7,
                    frame.literals,
                    int(word),
                    min(limits.max_nesting_depth, HARD_DEPTH),
                )
                if fast is not None:
                    return fast
            return _numbered(frame, int(word), text[space + 1 :] if space > 0 else b"", limits)
        rest = text[space + 1 :] if space > 0 else b""
        keyword = word.upper()
        if keyword in _STATUS:
            found: list[Defect] = []
            code, msg = _status_text(text[2 + len(word) :], text, found)
            return StatusResponse(keyword.decode(), code, msg, _defects(frame, found))
        reader = _READERS.get(keyword)
        d = Decoder(rest, frame.literals, limits) if reader is not None else None
        if reader is None or d is None:
            return _unknown(frame, keyword, None, rest, limits)
        response = reader(d)
        d.end()
        if d.defects or frame.defects:
            return _with_defects(response, _defects(frame, d.defects))
        return response
    if text.startswith(b"+"):
        found = []
        rest = text[1:]
        if rest.startswith(b" "):
            rest = rest[1:]
        elif rest:
            found.append(Defect("missing-space", "no space after '+'"))
        code, msg = _resp_text_or_base64(rest, found)
        return Continuation(msg, code, _defects(frame, found))
    if text.startswith(b"["):
        # Exchange sends "[COPYUID ...]" on a line of its own (MailKit issue 115).
        found = [Defect("missing-star", "a response code line without '* OK'")]
        code, msg = resp_text(text, found)
        return StatusResponse("OK", code, msg, _defects(frame, found))
    tag, _, rest = text.partition(b" ")
    if not _TAG.match(tag):
        raise RemoteProtocolError(f"not an IMAP response: {shorten(text)}")
    status = rest.partition(b" ")[0].upper()
    if status not in (b"OK", b"NO", b"BAD"):
        raise RemoteProtocolError(f"tagged response without OK/NO/BAD: {shorten(text)}")
    found = []
    code, msg = _status_text(rest[len(status) :], text, found)
    return Tagged(tag.decode("ascii"), status.decode(), code, msg, _defects(frame, found))


def _status_text(
    after_word: bytes, text: bytes, found: list[Defect]
) -> tuple[ResponseCode | None, str]:
    """resp-text after a status word; ``after_word`` starts with the SP."""
    if after_word.startswith(b" "):
        return resp_text(after_word[1:], found)
    if after_word:
        return resp_text(after_word, found)
    found.append(Defect("missing-text", "no text after the status"))
    return None, ""


def _resp_text_or_base64(rest: bytes, found: list[Defect]) -> tuple[ResponseCode | None, str]:
    if rest.startswith(b"["):
        return resp_text(rest, found)
    return None, rest.decode("utf-8", "replace")


def _with_defects(response: Response, defects: tuple[Defect, ...]) -> Response:
    return dataclasses.replace(response, defects=defects)  # type: ignore[type-var]


def _numbered(frame: Frame, number: int, rest: bytes, limits: Limits) -> Response:
    keyword, _, args = rest.partition(b" ")
    keyword = keyword.upper()
    if keyword == b"FETCH":
        d = Decoder(args, frame.literals, limits)
        response = (_FETCH_PARSERS or _fetch_parsers())[1](d, number)
        assert response is not None
        d.end()
        if frame.defects:
            return _with_defects(response, _defects(frame, list(response.defects)))
        return response
    if args:
        return _unknown(frame, keyword, number, args, limits)
    found: list[Defect] = []
    if keyword == b"EXISTS":
        return Exists(number, _defects(frame, found))
    if keyword == b"EXPUNGE":
        return ExpungeData(number, _defects(frame, found))
    if keyword == b"RECENT":
        return Recent(number, _defects(frame, found))
    return _unknown(frame, keyword, number, args, limits)


def _unknown(
    frame: Frame, keyword: bytes, number: int | None, args: bytes, limits: Limits
) -> UntaggedData:
    name = keyword.decode("ascii", "replace")
    if not keyword or not _TAG.match(keyword):
        raise RemoteProtocolError(f"not an IMAP response: {shorten(frame.text)}")
    text = args.decode("utf-8", "replace")
    try:
        d = Decoder(args, frame.literals, limits)
        values = d.rest()
    except RemoteProtocolError:
        # Not list-shaped (free text): keep the text only.
        values = ()
    return UntaggedData(name, number, values, text, _defects(frame, []))


# ------------------------------------------------------------ server data


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")


def _capability(d: Decoder) -> CapabilityData:
    return CapabilityData(_capabilities(d))


def _capabilities(d: Decoder) -> tuple[str, ...]:
    out = []
    while not d.at_end():
        out.append(d.atom().decode("ascii", "replace").upper())
    return tuple(out)


def _enabled(d: Decoder) -> Enabled:
    return Enabled(_capabilities(d))


def _id(d: Decoder) -> IdData:
    if d.peek().upper() == b"NIL":
        d.next()
        return IdData(None)
    d.open()
    params: dict[str, str | None] = {}
    while not d.skip_close():
        key = d.string().decode("utf-8", "replace")
        params[key] = _text(d.nstring())
    return IdData(params)


def _namespace_list(d: Decoder) -> tuple[NamespaceInfo, ...]:
    if d.peek().upper() == b"NIL":
        d.next()
        return ()
    d.open()
    out = []
    while not d.skip_close():
        d.open()
        prefix = decode_mailbox_name(d.string())
        delimiter = _text(d.nstring())
        extensions: dict[str, tuple[str, ...]] = {}
        while not d.skip_close():
            name = d.string().decode("utf-8", "replace").upper()
            extensions[name] = d.text_list()
        out.append(NamespaceInfo(prefix, delimiter or None, extensions))
    return tuple(out)


def _namespace(d: Decoder) -> NamespaceData:
    return NamespaceData(_namespace_list(d), _namespace_list(d), _namespace_list(d))


def _mailbox(d: Decoder) -> tuple[str, bytes]:
    raw = d.astring()
    if raw.upper() == b"INBOX":
        # RFC 9051 §9 "mailbox": any case of INBOX is INBOX.
        return "INBOX", raw
    return decode_mailbox_name(raw), raw


def _list(kind: str) -> Callable[[Decoder], ListData]:
    def read(d: Decoder) -> ListData:
        attributes = d.flag_list()
        delimiter_raw = d.nstring()
        delimiter = _text(delimiter_raw)
        if delimiter == "":
            d.defect("empty-delimiter", '"" instead of NIL')
            delimiter = None
        name, raw = _mailbox(d)
        childinfo: tuple[str, ...] = ()
        oldname = None
        extended: dict[str, object] = {}
        if not d.at_end():
            d.open()
            while not d.skip_close():
                tag = d.astring().decode("utf-8", "replace").upper()
                if tag == "OLDNAME":
                    d.open()
                    oldname = _mailbox(d)[0]
                    d.close()
                    extended[tag] = oldname
                elif tag == "CHILDINFO":
                    childinfo = tuple(s.upper() for s in d.text_list())
                    extended[tag] = childinfo
                else:
                    extended[tag] = d.value()
        return ListData(attributes, delimiter, name, childinfo, oldname, extended, kind, raw)

    return read


def _status(d: Decoder) -> StatusData:
    mailbox = _mailbox(d)[0]
    d.open()
    items: dict[str, int | str | None] = {}
    while not d.skip_close():
        name = d.atom().decode("ascii", "replace").upper()
        value = d.value()
        if isinstance(value, tuple):
            value = str(value[0]) if value else ""
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif value is not None and not isinstance(value, int | str):
            raise d.error("bad STATUS value")
        items[name] = value
    return StatusData(mailbox, items)


def _flags(d: Decoder) -> Flags:
    return Flags(d.flag_list())


def _numbers_and_modseq(d: Decoder) -> tuple[tuple[int, ...], int | None]:
    numbers = []
    modseq = None
    while not d.at_end():
        if d.peek() == b"(":
            d.open()
            if d.atom().upper() != b"MODSEQ":
                raise d.error("expected MODSEQ")
            modseq = d.number()
            d.close()
            continue
        numbers.append(d.number())
    return tuple(numbers), modseq


def _search(d: Decoder) -> SearchData:
    numbers, modseq = _numbers_and_modseq(d)
    return SearchData(numbers, modseq)


def _sort(d: Decoder) -> SortData:
    numbers, modseq = _numbers_and_modseq(d)
    return SortData(numbers, modseq)


def _esearch(d: Decoder) -> ESearchData:
    tag = None
    if d.peek() == b"(":
        d.open()
        if d.atom().upper() != b"TAG":
            raise d.error("expected TAG in the search correlator")
        tag = d.astring().decode("utf-8", "replace")
        d.close()
    uid = False
    if d.peek().upper() == b"UID":
        d.next()
        uid = True
    fields: dict[str, object] = {}
    items: dict[str, object] = {}
    while not d.at_end():
        name = d.atom().decode("ascii", "replace").upper()
        if name in ("MIN", "MAX", "COUNT", "MODSEQ"):
            fields[name.lower()] = items[name] = d.number()
        elif name == "ALL":
            fields["all"] = items[name] = SequenceSet.parse(d.atom())
        elif name == "PARTIAL":
            d.open()
            span = d.atom().decode("ascii", "replace")
            found = d.atom()
            found_set = None if found.upper() == b"NIL" else SequenceSet.parse(found)
            d.close()
            fields["partial"] = items[name] = (span, found_set)
        elif name == "RELEVANCY":
            d.open()
            scores = []
            while not d.skip_close():
                scores.append(d.number())
            fields["relevancy"] = items[name] = tuple(scores)
        else:
            items[name] = d.value()
    return ESearchData(tag, uid, items=items, **fields)  # type: ignore[arg-type]


def _thread(d: Decoder) -> ThreadData:
    threads = []
    while not d.at_end():
        value = d.value()
        if not isinstance(value, tuple):
            raise d.error("expected a thread list")
        threads.append(value)
    return ThreadData(tuple(threads))


def _quota(d: Decoder) -> Quota:
    root = d.astring().decode("utf-8", "replace")
    d.open()
    resources = []
    while not d.skip_close():
        name = d.atom().decode("ascii", "replace").upper()
        resources.append(QuotaResource(name, d.number(), d.number()))
    return Quota(root, tuple(resources))


def _quotaroot(d: Decoder) -> QuotaRoot:
    mailbox = _mailbox(d)[0]
    roots = []
    while not d.at_end():
        roots.append(d.astring().decode("utf-8", "replace"))
    return QuotaRoot(mailbox, tuple(roots))


def _metadata(d: Decoder) -> MetadataData:
    mailbox = _mailbox(d)[0]
    entries: dict[str, bytes | None] = {}
    if d.peek() == b"(":
        d.open()
        while not d.skip_close():
            entry = d.astring().decode("utf-8", "replace")
            entries[entry] = d.nstring()
        return MetadataData(mailbox, entries)
    while not d.at_end():
        entries[d.astring().decode("utf-8", "replace")] = None
    return MetadataData(mailbox, entries, changed_only=True)


def _acl(d: Decoder) -> AclData:
    mailbox = _mailbox(d)[0]
    rights: dict[str, str] = {}
    while not d.at_end():
        identifier = d.astring().decode("utf-8", "replace")
        rights[identifier] = d.astring().decode("utf-8", "replace")
    return AclData(mailbox, rights)


def _listrights(d: Decoder) -> ListRightsData:
    mailbox = _mailbox(d)[0]
    identifier = d.astring().decode("utf-8", "replace")
    required = d.astring().decode("utf-8", "replace")
    optional = []
    while not d.at_end():
        optional.append(d.astring().decode("utf-8", "replace"))
    return ListRightsData(mailbox, identifier, required, tuple(optional))


def _myrights(d: Decoder) -> MyRightsData:
    mailbox = _mailbox(d)[0]
    return MyRightsData(mailbox, d.astring().decode("utf-8", "replace"))


def _vanished(d: Decoder) -> Vanished:
    earlier = False
    if d.peek() == b"(":
        d.open()
        if d.atom().upper() != b"EARLIER":
            raise d.error("expected EARLIER")
        d.close()
        earlier = True
    return Vanished(SequenceSet.parse(d.atom()), earlier)


_READERS: dict[bytes, Callable[[Decoder], Response]] = {
    b"CAPABILITY": _capability,
    b"ENABLED": _enabled,
    b"ID": _id,
    b"NAMESPACE": _namespace,
    b"LIST": _list("LIST"),
    b"LSUB": _list("LSUB"),
    b"XLIST": _list("XLIST"),
    b"STATUS": _status,
    b"FLAGS": _flags,
    b"SEARCH": _search,
    b"ESEARCH": _esearch,
    b"SORT": _sort,
    b"THREAD": _thread,
    b"QUOTA": _quota,
    b"QUOTAROOT": _quotaroot,
    b"METADATA": _metadata,
    b"VANISHED": _vanished,
    b"ACL": _acl,
    b"LISTRIGHTS": _listrights,
    b"MYRIGHTS": _myrights,
}
