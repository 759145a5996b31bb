"""IMAP FETCH parsing (research/performance.md W3): a 50,000-message listing.

Input: the server's answer to
``UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)``
for 50,000 messages (500 in quick mode), made by the research notes'
generator (``shared/bench/imapgen.py``): 53.6 MB, about 1,070 bytes and 150
tokens per message, 8-bit subjects as literals, quoted strings with escapes,
RFC 2047 names and subjects, body structures from one part up to
mixed > related > alternative with a message/rfc822 carrying its own
ENVELOPE and BODYSTRUCTURE. It ends with the tagged OK.

Every implementation that parses reads every field back (the summary below
is built inside the timed call):

- ``imaplib+IMAPClient`` (baseline): real imaplib code runs ``uid("FETCH",
  ...)`` over an in-memory socket (an 8 KiB ``BufferedReader``, as
  ``socket.makefile`` gives), then ``imapclient.response_parser.
  parse_fetch_response`` turns imaplib's list into IMAPClient's dict;
- ``IMAPClient parser alone``: the same parser on imaplib's list, made in
  setup;
- ``mailwire``: :class:`mailwire.imap.ResponseReader` over the receive
  buffer fed in 64 KiB chunks; typed, decoded objects (RFC 2047 subjects and
  names, aware datetimes);
- ``mailwire token parser``: the same with the regex fast path switched off,
  so every response goes through the token-based parser (what the fast path
  buys);
- ``imaplib framing alone`` / ``mailwire framing alone``: lines and literals
  cut into responses, nothing parsed;
- ``floor: readline + literals``: ``BufferedReader.readline`` and literal
  skipping, what C alone does.

Summary per message, equal for every parser (checked against IMAPClient's
reading when it is installed): UID, flags, RFC822.SIZE, INTERNALDATE and
envelope Date as timestamps, Message-ID, the From/To/Cc addresses, and
every leaf part's content type and size in order. mailwire's decoded
subjects are checked separately against ``email.header`` decoding of
IMAPClient's raw ones.

Goal (issue 5): mailwire >= 10x ``imaplib+IMAPClient``. Without IMAPClient
installed, the baseline is ``imaplib framing alone``.

Measured 2026-11-27 23:44 UTC (``python -m benchmarks.run imap_fetch_parse
--rounds 3``; 2-core EPYC VM, CPython 3.11.7, IMAPClient 4.1.0, load 0.4-1.1):

==========================  =======  ==========  =======
implementation              median   x baseline  MB/s
==========================  =======  ==========  =======
imaplib+IMAPClient          21.1 s   1.00        2.53
IMAPClient parser alone     20.2 s   1.04        2.65
mailwire                    4.61 s   4.58        11.6
mailwire token parser       11.6 s   1.80        4.60
imaplib framing alone       655 ms   31.9        81.7
mailwire framing alone      197 ms   107         272
floor: readline + literals  84.6 ms  244         633
==========================  =======  ==========  =======

The goal is not met. With the garbage collector off, mailwire's parse and
read-back take 3.2 s instead of 4.8 s in one process: the collector's full
passes walk every object built so far (about nine per message: body parts,
envelope, FETCH data, their tuples). benchmarks/README.md has the details.
"""

from __future__ import annotations

import dataclasses
import email.header
import importlib.util
import io
import re
from pathlib import Path
from typing import Any

from benchmarks.harness import CheckFailed, Options, Unavailable, Workload

_REPO = Path(__file__).resolve().parents[2]
_SHARED = _REPO.parent / "shared"
ITEMS = "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)"
CHUNK = 64 * 1024


@dataclasses.dataclass
class Fixture:
    """The server's bytes and what setup learned from them."""

    untagged: bytes  # the FETCH responses
    count: int
    imaplib_list: list[Any] | None = None  # imaplib's result, for the parser-alone row
    subjects: dict[int, str] | None = None  # UID -> subject decoded by email.header
    reference: list[tuple[Any, ...]] | None = None

    def stream(self, tag: bytes) -> bytes:
        return self.untagged + tag + b" OK FETCH completed\r\n"


def _generator() -> Any:
    path = _SHARED / "bench" / "imapgen.py"
    if not path.is_file():
        raise Unavailable("shared/bench/imapgen.py not beside the checkout")
    spec = importlib.util.spec_from_file_location("mailwire_w3_imapgen", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    import sys

    sys.path.insert(0, str(path.parent))  # imapgen imports its sibling benchlib
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def setup(options: Options) -> Fixture:
    count = 500 if options.quick else 50_000
    fixture = Fixture(_generator().fetch_lines(count), count)
    try:
        import imapclient.response_parser  # noqa: F401
    except ImportError:
        # No independent parser here: check the regex fast path against
        # mailwire's token parser, a separate code path (the rows, not the
        # ("summary", rows) pair the implementations return).
        fixture.reference = _mailwire_tokens(fixture)[1]
        return fixture
    fixture.imaplib_list = _imaplib_fetch(fixture)
    parsed = _imapclient_parse(fixture.imaplib_list)
    fixture.reference = _imapclient_summary(parsed)
    fixture.subjects = {
        uid: str(email.header.make_header(email.header.decode_header(raw.decode("utf-8"))))
        for uid, raw in ((uid, data[b"ENVELOPE"].subject or b"") for uid, data in parsed.items())
    }
    return fixture


# ---------------------------------------------------------------- imaplib --


class _ReplayRaw(io.RawIOBase):
    """A socket's reading side: answers each command imaplib writes."""

    def __init__(self, fixture: Fixture) -> None:
        self.fixture = fixture
        self.pending = memoryview(b"* OK replay ready\r\n")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def answer(self, command: bytes) -> None:
        tag, verb = command.strip().split(b" ", 2)[:2]
        if verb.upper() == b"CAPABILITY":
            reply = b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n"
        else:
            reply = self.fixture.stream(tag)
        self.pending = memoryview(bytes(self.pending) + reply)


def _imaplib_fetch(fixture: Fixture) -> list[Any]:
    import imaplib

    raw = _ReplayRaw(fixture)

    class MemoryIMAP4(imaplib.IMAP4):
        def open(self, host: str = "", port: int = 0, timeout: float | None = None) -> None:
            self.host, self.port = host, port
            self.file = io.BufferedReader(raw, 8192)

        def send(self, data: bytes) -> None:
            raw.answer(data)

        def shutdown(self) -> None:
            self.file.close()

    client = MemoryIMAP4("replay")
    client.state = "SELECTED"  # as after a SELECT, which this replay leaves out
    typ, data = client.uid("FETCH", "1:*", ITEMS)
    if typ != "OK":
        raise CheckFailed(f"imaplib: {typ}")
    return data


def _imapclient_parse(data: list[Any]) -> Any:
    from imapclient.response_parser import parse_fetch_response

    return parse_fetch_response(data, normalise_times=False, uid_is_key=True)


def _ic_text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


def _ic_addresses(addresses: Any) -> tuple[str, ...]:
    out = []
    for a in addresses or ():
        name, mailbox, host = _ic_text(a.name), _ic_text(a.mailbox), _ic_text(a.host)
        del name
        out.append(f"{mailbox}@{host}" if host else str(mailbox))
    return tuple(out)


def _ic_leaves(body: Any, out: list[tuple[str, int]]) -> None:
    from imapclient.response_types import BodyData

    stack = [body]
    while stack:
        part = stack.pop()
        if not isinstance(part, BodyData):
            part = BodyData.create(part)  # the body inside a message/rfc822 part
        if part.is_multipart:
            stack.extend(reversed(part[0]))
            continue
        kind, sub = part[0].decode().lower(), part[1].decode().lower()
        out.append((f"{kind}/{sub}", part[6]))
        if kind == "message" and sub in ("rfc822", "global") and len(part) > 8:
            stack.append(part[8])


def _imapclient_summary(parsed: Any) -> list[tuple[Any, ...]]:
    rows = []
    for uid, data in parsed.items():
        env = data[b"ENVELOPE"]
        leaves: list[tuple[str, int]] = []
        _ic_leaves(data[b"BODYSTRUCTURE"], leaves)
        _ic_text(env.subject)
        _ic_addresses(env.sender)
        _ic_addresses(env.reply_to)
        _ic_addresses(env.bcc)
        _ic_text(env.in_reply_to)
        rows.append(
            (
                uid,
                tuple(f.decode() for f in data[b"FLAGS"]),
                data[b"RFC822.SIZE"],
                data[b"INTERNALDATE"].timestamp(),
                None if env.date is None else env.date.timestamp(),
                _ic_text(env.message_id),
                _ic_addresses(env.from_),
                _ic_addresses(env.to),
                _ic_addresses(env.cc),
                tuple(leaves),
            )
        )
    return rows


def _imaplib_imapclient(fixture: Fixture) -> Any:
    try:
        import imapclient.response_parser  # noqa: F401
    except ImportError:
        raise Unavailable("IMAPClient is not installed (pip install imapclient)") from None
    return ("summary", _imapclient_summary(_imapclient_parse(_imaplib_fetch(fixture))))


def _imapclient_alone(fixture: Fixture) -> Any:
    if fixture.imaplib_list is None:
        raise Unavailable("IMAPClient is not installed (pip install imapclient)")
    return ("summary", _imapclient_summary(_imapclient_parse(fixture.imaplib_list)))


def _imaplib_framing(fixture: Fixture) -> Any:
    data = _imaplib_fetch(fixture)
    return ("frames", sum(1 for item in data if isinstance(item, bytes) and item != b")"))


# ---------------------------------------------------------------- mailwire --


def _mailwire_rows(responses: list[Any]) -> list[tuple[Any, ...]]:
    from mailwire.imap import FetchData

    rows = []
    for f in responses:
        if not isinstance(f, FetchData):
            continue
        env = f.envelope
        body = f.bodystructure
        assert env is not None
        assert body is not None
        lists = []
        for addresses in (env.from_, env.sender, env.reply_to, env.to, env.cc, env.bcc):
            specs = []
            for a in addresses:
                a.name  # noqa: B018 - read back, as the baseline's reader does
                specs.append(a.addr_spec)
            lists.append(tuple(specs))
        leaves = []
        for _, part in body.walk():
            part.params.get("charset")
            if part.is_multipart:
                continue
            part.encoding, part.lines, part.disposition, part.id  # noqa: B018
            leaves.append((part.content_type, part.size))
        env.in_reply_to  # noqa: B018
        rows.append(
            (
                f.uid,
                f.flags,
                f.size,
                f.internaldate.timestamp() if f.internaldate else None,
                None if env.date is None else env.date.timestamp(),
                env.message_id,
                lists[0],
                lists[3],
                lists[4],
                tuple(leaves),
                env.subject,
            )
        )
    return rows


def _read(fixture: Fixture, *, fast: bool = True) -> list[Any]:
    try:
        from mailwire._buffer import ReceiveBuffer
        from mailwire.imap import ResponseReader, _parser
    except ImportError:
        raise Unavailable("mailwire.imap is not written yet") from None
    data = fixture.stream(b"A1")
    buf = ReceiveBuffer()
    reader = ResponseReader()
    out: list[Any] = []
    saved = _parser.USE_FAST_PATH
    _parser.USE_FAST_PATH = fast
    try:
        for start in range(0, len(data), CHUNK):
            buf.feed(data[start : start + CHUNK])
            while (response := reader.read(buf)) is not None:
                out.append(response)
    finally:
        _parser.USE_FAST_PATH = saved
    return out


def _mailwire(fixture: Fixture) -> Any:
    return ("summary", _mailwire_rows(_read(fixture)))


def _mailwire_tokens(fixture: Fixture) -> Any:
    return ("summary", _mailwire_rows(_read(fixture, fast=False)))


def _mailwire_framing(fixture: Fixture) -> Any:
    try:
        from mailwire._buffer import ReceiveBuffer
        from mailwire.imap import FrameReader
    except ImportError:
        raise Unavailable("mailwire.imap is not written yet") from None
    data = fixture.stream(b"A1")
    buf = ReceiveBuffer()
    reader = FrameReader()
    frames = 0
    for start in range(0, len(data), CHUNK):
        buf.feed(data[start : start + CHUNK])
        while reader.read(buf) is not None:
            frames += 1
    return ("frames", frames - 1)


_LITERAL = re.compile(rb"\{(\d+)\}\r\n\Z")
_ANNOUNCEMENT_END = b"}\r\n"


def _floor(fixture: Fixture) -> Any:
    reader = io.BufferedReader(io.BytesIO(fixture.stream(b"A1")), CHUNK)
    responses = 0
    while line := reader.readline():
        match = _LITERAL.search(line[-24:])
        if match:
            reader.read(int(match[1]))
            continue
        responses += 1
    return ("frames", responses - 1)


# ---------------------------------------------------------------- check --


def check(fixture: Fixture, result: Any) -> bool:
    kind, value = result
    if kind == "frames":
        return bool(value == fixture.count)
    assert fixture.reference is not None
    rows = value
    if len(rows) != fixture.count:
        return False
    common = [row[:10] for row in rows]
    if common != [row[:10] for row in fixture.reference]:
        return False
    if fixture.subjects is not None and rows and len(rows[0]) > 10:
        # mailwire decodes subjects; email.header must read them the same.
        for row in rows:
            expected = fixture.subjects[row[0]]
            if (row[10] or "") != expected and " ".join((row[10] or "").split()) != " ".join(
                expected.split()
            ):
                raise CheckFailed(
                    f"UID {row[0]}: subject {row[10]!r}, email.header says {expected!r}"
                )
    return True


# IMAPClient is the baseline where it is installed (``pip install imapclient``,
# as in shared/bench/requirements.txt); without it the ratios are against
# imaplib's framing and the IMAPClient rows show as unavailable.
BASELINE = (
    "imaplib+IMAPClient" if importlib.util.find_spec("imapclient") else "imaplib framing alone"
)

WORKLOAD = Workload(
    name="imap_fetch_parse",
    description="UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE), parsed",
    implementations={
        "imaplib+IMAPClient": _imaplib_imapclient,
        "IMAPClient parser alone": _imapclient_alone,
        "mailwire": _mailwire,
        "mailwire token parser": _mailwire_tokens,
        "imaplib framing alone": _imaplib_framing,
        "mailwire framing alone": _mailwire_framing,
        "floor: readline + literals": _floor,
    },
    baseline=BASELINE,
    check=check,
    setup=setup,
    describe=lambda f: (
        f"{f.count} messages, {len(f.untagged) / 1e6:.1f} MB, "
        f"{f.untagged.count(_ANNOUNCEMENT_END)} literals"
    ),
    rounds=3,
    work_bytes=lambda f: len(f.untagged),
)
