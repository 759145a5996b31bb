"""FETCH responses (RFC 9051 §7.5.2): every item, ENVELOPE and BODYSTRUCTURE.

Each case is checked through the public reader, fed whole and byte by byte,
and through the tolerant token parser alone (the fast regex path must agree
with it wherever both accept the input).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailwire._buffer import ReceiveBuffer
from mailwire.errors import NestingTooDeep, RemoteProtocolError
from mailwire.imap import Address, BodyStructure, Defect, Envelope, FetchData
from mailwire.imap._fastfetch import fast_msg_att
from mailwire.imap._fetch import msg_att
from mailwire.imap._frames import FrameReader
from mailwire.imap._lexer import Decoder

from .helpers import read_all

UTC = UTC
EST = timezone(timedelta(hours=-5))

A_FROM = Address("Terry Gray", None, "gray", "cac.washington.edu")
A_TO = Address(None, None, "imap", "cac.washington.edu")

ENVELOPE = (
    b'ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry'
    b' Gray" NIL "gray" "cac.washington.edu")) '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) '
    b'((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL '
    b'"<B27397-0100000@cac.washington.edu>")'
)
ENVELOPE_VALUE = Envelope(
    datetime(1996, 7, 17, 2, 23, 25, tzinfo=timezone(timedelta(hours=-7))),
    "IMAP4rev1 WG mtg summary and minutes",
    (A_FROM,),
    (A_FROM,),
    (A_FROM,),
    (A_TO,),
    (
        Address(None, None, "minutes", "CNRI.Reston.VA.US"),
        Address("John Klensin", None, "KLENSIN", "MIT.EDU"),
    ),
    (),
    None,
    "<B27397-0100000@cac.washington.edu>",
    "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
)

TEXT_PLAIN = b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)'
TEXT_PLAIN_VALUE = BodyStructure(
    "text", "plain", {"charset": "US-ASCII"}, (), None, None, "7BIT", 3028, 92
)

MIXED = (
    b'(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 120 4 NIL NIL NIL NIL)'
    b'("APPLICATION" "PDF" ("NAME" "a b.pdf") "<id@x>" "the'
    b' =?utf-8?q?r=C3=A9sum=C3=A9?=" "BASE64" 4000 '
    b'"md5sum" ("ATTACHMENT" ("FILENAME" "a b.pdf")) ("EN" "DE") "http://x/y")'
    b' "MIXED" ("BOUNDARY" "xyz") ("INLINE" NIL) "fr" NIL)'
)
MIXED_VALUE = BodyStructure(
    "multipart",
    "mixed",
    {"boundary": "xyz"},
    (
        BodyStructure(
            "text", "plain", {"charset": "utf-8"}, (), None, None, "QUOTED-PRINTABLE", 120, 4
        ),
        BodyStructure(
            "application",
            "pdf",
            {"name": "a b.pdf"},
            (),
            "<id@x>",
            "the r\u00e9sum\u00e9",
            "BASE64",
            4000,
            None,
            md5="md5sum",
            disposition="attachment",
            disposition_params={"filename": "a b.pdf"},
            language=("EN", "DE"),
            location="http://x/y",
        ),
    ),
    disposition="inline",
    language=("fr",),
)

RFC822 = (
    b'(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 1)("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 300 '
    b'(NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) '
    b'(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 5 1)("TEXT" "HTML"'
    b' NIL NIL NIL "7BIT" 6 1) "ALTERNATIVE") 12)'
    b' "MIXED")'
)
RFC822_VALUE = BodyStructure(
    "multipart",
    "mixed",
    parts=(
        BodyStructure("text", "plain", {}, (), None, None, "7BIT", 10, 1),
        BodyStructure(
            "message",
            "rfc822",
            {},
            (),
            None,
            None,
            "7BIT",
            300,
            12,
            Envelope(None, "inner", (), (), (), (), (), (), None, None, None),
            BodyStructure(
                "multipart",
                "alternative",
                parts=(
                    BodyStructure("text", "plain", {}, (), None, None, "7BIT", 5, 1),
                    BodyStructure("text", "html", {}, (), None, None, "7BIT", 6, 1),
                ),
            ),
        ),
    ),
)

CASES: list[tuple[bytes, FetchData]] = [
    (
        b"* 12 FETCH (FLAGS (\\Seen $Forwarded) UID 4827313)\r\n",
        FetchData(12, uid=4827313, flags=("\\Seen", "$Forwarded")),
    ),
    (b"* 1 FETCH (FLAGS ())\r\n", FetchData(1, flags=())),
    (
        (
            b'* 2 FETCH (INTERNALDATE "17-Jul-1996 02:44:25 -0700"'
            b" RFC822.SIZE 4286 MODSEQ (12121231000))\r\n"
        ),
        FetchData(
            2,
            internaldate=datetime(1996, 7, 17, 2, 44, 25, tzinfo=timezone(timedelta(hours=-7))),
            size=4286,
            modseq=12121231000,
        ),
    ),
    (
        b'* 3 FETCH (INTERNALDATE " 7-Jul-1996 02:44:25 +0000")\r\n',
        FetchData(3, internaldate=datetime(1996, 7, 7, 2, 44, 25, tzinfo=UTC)),
    ),
    (b"* 4 FETCH (UID 9 " + ENVELOPE + b")\r\n", FetchData(4, uid=9, envelope=ENVELOPE_VALUE)),
    (
        b"* 5 FETCH (BODYSTRUCTURE " + TEXT_PLAIN + b")\r\n",
        FetchData(5, bodystructure=TEXT_PLAIN_VALUE),
    ),
    (b"* 5 FETCH (BODY " + TEXT_PLAIN + b")\r\n", FetchData(5, bodystructure=TEXT_PLAIN_VALUE)),
    (b"* 6 FETCH (BODYSTRUCTURE " + MIXED + b")\r\n", FetchData(6, bodystructure=MIXED_VALUE)),
    (b"* 7 FETCH (BODYSTRUCTURE " + RFC822 + b")\r\n", FetchData(7, bodystructure=RFC822_VALUE)),
    (
        b"* 8 FETCH (UID 3 BODY[] {10}\r\nHello\r\nThe FLAGS (\\Seen))\r\n",
        FetchData(8, uid=3, flags=("\\Seen",), sections={"BODY[]": b"Hello\r\nThe"}),
    ),
    (
        (
            b'* 9 FETCH (BODY[1.2]<0> "abc" BODY[HEADER.FIELDS'
            b" (SUBJECT)] NIL RFC822.HEADER {4}\r\nX: y)\r\n"
        ),
        FetchData(
            9,
            sections={
                "BODY[1.2]<0>": b"abc",
                "BODY[HEADER.FIELDS (SUBJECT)]": None,
                "RFC822.HEADER": b"X: y",
            },
        ),
    ),
    (
        b"* 10 FETCH (BINARY[1] ~{3}\r\n\x00\x01\x02 BINARY.SIZE[1] 3)\r\n",
        FetchData(10, sections={"BINARY[1]": b"\x00\x01\x02"}, binary_sizes={"1": 3}),
    ),
    (
        b'* 11 FETCH (RFC822 {3}\r\nabc RFC822.TEXT "q\\"")\r\n',
        FetchData(11, sections={"RFC822": b"abc", "RFC822.TEXT": b'q"'}),
    ),
    (
        (
            b"* 12 FETCH (UID 1 EMAILID (M6d99ac3275bb4e) THREADID"
            b' NIL SAVEDATE "03-Mar-2016 17:25:01 +0000")\r\n'
        ),
        FetchData(
            12,
            uid=1,
            emailid="M6d99ac3275bb4e",
            threadid=None,
            savedate=datetime(2016, 3, 3, 17, 25, 1, tzinfo=UTC),
        ),
    ),
    (
        b'* 13 FETCH (THREADID (T64b4) SAVEDATE NIL PREVIEW "Hi there")\r\n',
        FetchData(13, threadid="T64b4", preview="Hi there"),
    ),
    (b"* 14 FETCH (PREVIEW NIL)\r\n", FetchData(14)),
    (
        (
            b"* 15 FETCH (X-GM-THRID 1592225494819146101 X-GM-MSGID 1592225494819146102"
            b' X-GM-LABELS ("Test Messages" "\\\\Important" \\Inbox Entw&APw-rfe))\r\n'
        ),
        FetchData(
            15,
            gm_thrid=1592225494819146101,
            gm_msgid=1592225494819146102,
            gm_labels=("Test Messages", "\\Important", "\\Inbox", "Entw\u00fcrfe"),
        ),
    ),
    (
        b'* 16 FETCH (X-UNKNOWN (1 "two" NIL) UID 2)\r\n',
        FetchData(16, uid=2, other={"X-UNKNOWN": (1, b"two", None)}),
    ),
    (b"* 17 fetch (uid 5 flags (\\seen))\r\n", FetchData(17, uid=5, flags=("\\seen",))),
    (
        (
            b"* 18 FETCH (ENVELOPE (NIL {11}\r\nGr\xc3\xbc\xc3\x9fe Dir "
            b'((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))'
            b" NIL NIL NIL NIL NIL NIL NIL))\r\n"
        ),
        FetchData(
            18,
            envelope=Envelope(
                None,
                "Gr\u00fc\u00dfe Dir",
                (
                    Address(None, None, "undisclosed-recipients", None),
                    Address(None, None, None, None),
                ),
                (),
                (),
                (),
                (),
                (),
                None,
                None,
                None,
            ),
        ),
    ),
    (
        (
            b'* 19 FETCH (ENVELOPE ("bad date" "=?iso-8859-1?q?caf=E9?='
            b' =?utf-8?b?w6k=?=" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n'
        ),
        FetchData(
            19,
            envelope=Envelope(
                None, "caf\u00e9\u00e9", (), (), (), (), (), (), None, None, "bad date"
            ),
        ),
    ),
    # deviations: each accepted with a defect
    (
        b"* 20 FETCH (MODSEQ (-1) UID 3)\r\n",
        FetchData(20, uid=3, modseq=-1, defects=(Defect("negative-number", "MODSEQ -1"),)),
    ),
    (
        b'* 21 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" NIL NIL NIL "7BIT" -1 -1))\r\n',
        FetchData(
            21,
            bodystructure=BodyStructure("text", "plain", {}, (), None, None, "7BIT", -1, -1),
            defects=(
                Defect("negative-number", "body size -1"),
                Defect("negative-number", "body lines -1"),
            ),
        ),
    ),
    (
        b"* 22 FETCH (UID 3016 BODY[2] )\r\n",
        FetchData(
            22,
            uid=3016,
            sections={"BODY[2]": None},
            defects=(Defect("missing-value", "BODY[2] without a value"),),
        ),
    ),
    (
        b"* 23 FETCH (UID 1 (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)))\r\n",
        FetchData(
            23,
            uid=1,
            envelope=Envelope(None, None, (), (), (), (), (), (), None, None, None),
            defects=(Defect("extra-parentheses", "a FETCH item wrapped in parentheses"),),
        ),
    ),
    (
        b'* 24 FETCH (BODY.PEEK[] "x")\r\n',
        FetchData(24, sections={"BODY[]": b"x"}, defects=(Defect("peek-echoed", "BODY.PEEK[]"),)),
    ),
    (
        b"* 25 FETCH (ENVELOPE (NIL NIL () NIL NIL NIL NIL NIL NIL NIL))\r\n",
        FetchData(
            25,
            envelope=Envelope(None, None, (), (), (), (), (), (), None, None, None),
            defects=(Defect("empty-address-list", "() instead of NIL"),),
        ),
    ),
    (
        b"* 26 FETCH (BODYSTRUCTURE (NIL NIL NIL NIL NIL NIL 0))\r\n",
        FetchData(
            26,
            bodystructure=BodyStructure("", "", {}, (), None, None, None, 0),
            defects=(
                Defect("nil-string", "NIL media type"),
                Defect("nil-string", "NIL media subtype"),
                Defect("nil-string", "NIL body encoding"),
            ),
        ),
    ),
    (
        (
            b'* 27 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" NIL NIL'
            b' NIL "7BIT" 1 1 NIL NIL NIL NIL (1 "x") 2))\r\n'
        ),
        FetchData(
            27,
            bodystructure=BodyStructure(
                "text", "plain", {}, (), None, None, "7BIT", 1, 1, extensions=((1, b"x"), 2)
            ),
        ),
    ),
]


def _slow(data: bytes) -> FetchData:
    buf = ReceiveBuffer()
    buf.feed(data)
    frame = FrameReader().read(buf)
    assert frame is not None
    args = frame.text.split(b" ", 3)[3]
    d = Decoder(args, frame.literals)
    result = msg_att(d, int(frame.text.split(b" ")[1]))
    d.end()
    return result


def _fast(data: bytes) -> FetchData | None:
    buf = ReceiveBuffer()
    buf.feed(data)
    frame = FrameReader().read(buf)
    assert frame is not None
    pos = frame.text.index(b"(")
    return fast_msg_att(frame.text, pos, frame.literals, int(frame.text.split(b" ")[1]), 100)


def ids(case: tuple[bytes, object]) -> str:
    return case[0][:50].decode("ascii", "replace")


@pytest.mark.parametrize(("data", "expected"), CASES, ids=[ids(c) for c in CASES])
def test_fetch(data: bytes, expected: FetchData) -> None:
    assert read_all([data]) == [expected]
    assert read_all([data[i : i + 1] for i in range(len(data))]) == [expected]


@pytest.mark.parametrize(("data", "expected"), CASES, ids=[ids(c) for c in CASES])
def test_both_paths_agree(data: bytes, expected: FetchData) -> None:
    assert _slow(data) == expected
    fast = _fast(data)
    if fast is not None:
        assert fast == expected
    off_path = (b" fetch ", b"PREVIEW", b"EMAILID", b"BINARY.SIZE", b'(1 "x")')
    strict = not expected.defects and not expected.other and not expected.gm_labels
    if strict and not any(marker in data for marker in off_path):
        # The strict cases of this table are what the fast path is for.
        assert fast is not None, "expected the fast path to take this"


def test_walk_numbers_sections_like_rfc9051() -> None:
    (fetch,) = read_all([b"* 7 FETCH (BODYSTRUCTURE " + RFC822 + b")\r\n"])
    assert isinstance(fetch, FetchData)
    assert fetch.bodystructure is not None
    walked = [(section, part.content_type) for section, part in fetch.bodystructure.walk()]
    assert walked == [
        ("", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "message/rfc822"),
        ("2.1", "text/plain"),
        ("2.2", "text/html"),
    ]
    assert MIXED_VALUE.parts[1].filename == "a b.pdf"


def test_walk_numbers_the_complex_example_of_rfc9051_6_4_5() -> None:
    # The example message of RFC 9051 section 6.4.5, with its part specifiers.
    def part(media: str, *parts: BodyStructure, body: BodyStructure | None = None) -> BodyStructure:
        kind, subtype = media.split("/")
        return BodyStructure(kind, subtype, parts=parts, body=body)

    message = part(
        "multipart/mixed",
        part("text/plain"),
        part("application/octet-stream"),
        part(
            "message/rfc822",
            body=part("multipart/mixed", part("text/plain"), part("application/octet-stream")),
        ),
        part(
            "multipart/mixed",
            part("image/gif"),
            part(
                "message/rfc822",
                body=part(
                    "multipart/mixed",
                    part("text/plain"),
                    part("multipart/alternative", part("text/plain"), part("text/richtext")),
                ),
            ),
        ),
    )
    walked = [(section, p.content_type) for section, p in message.walk()]
    assert walked == [
        ("", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "application/octet-stream"),
        ("3", "message/rfc822"),
        ("3.1", "text/plain"),
        ("3.2", "application/octet-stream"),
        ("4", "multipart/mixed"),
        ("4.1", "image/gif"),
        ("4.2", "message/rfc822"),
        ("4.2.1", "text/plain"),
        ("4.2.2", "multipart/alternative"),
        ("4.2.2.1", "text/plain"),
        ("4.2.2.2", "text/richtext"),
    ]
    # A message/rfc822 whose body is a single part: that part is n.1.
    single = part("message/rfc822", body=part("text/plain"))
    assert [s for s, _ in part("multipart/mixed", single).walk()] == ["", "1", "1.1"]


def test_address_helpers() -> None:
    assert A_FROM.addr_spec == "gray@cac.washington.edu"
    assert str(A_FROM) == "Terry Gray <gray@cac.washington.edu>"
    start = Address(None, None, "undisclosed", None)
    end = Address(None, None, None, None)
    assert start.is_group_start
    assert not start.is_group_end
    assert start.addr_spec is None
    assert end.is_group_end
    assert end.addr_spec is None


def test_streamed_literal_goes_to_the_sink() -> None:
    chunks: list[bytes] = []

    class Sink:
        closed = False

        def write(self, data: bytes) -> None:
            chunks.append(data)

        def close(self) -> None:
            Sink.closed = True

    seen: list[tuple[bytes, int]] = []

    def factory(prefix: bytes, size: int) -> Sink | None:
        seen.append((prefix, size))
        return Sink() if size > 4 else None

    from mailwire.imap import ResponseReader
    from mailwire.limits import Limits

    limits = Limits(chunk_size=3, max_literal_size=5)
    buf = ReceiveBuffer(limits)
    reader = ResponseReader(limits, sink_factory=factory)
    data = b"* 1 FETCH (UID 7 BODY[1] {10}\r\n0123456789 BODY[2] {2}\r\nab)\r\n"
    out = []
    for i in range(len(data)):
        buf.feed(data[i : i + 1])
        while (r := reader.read(buf)) is not None:
            out.append(r)
    assert out == [FetchData(1, uid=7, sections={"BODY[2]": b"ab"}, streamed={"BODY[1]": 10})]
    assert b"".join(chunks) == b"0123456789"
    assert Sink.closed
    assert seen == [
        (b"* 1 FETCH (UID 7 BODY[1] ", 10),
        (b"* 1 FETCH (UID 7 BODY[1] {10}\r\n BODY[2] ", 2),
    ]


def test_bodystructure_nesting_is_capped_without_recursion_error() -> None:
    """S28: 10,000 opening parentheses give NestingTooDeep, never RecursionError."""
    data = (
        b"* 1 FETCH (BODYSTRUCTURE "
        + b"(" * 10_000
        + b'"TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1'
        + b")" * 10_000
        + b")\r\n"
    )
    with pytest.raises(NestingTooDeep):
        read_all([data])
    # Generic lists in other responses too.
    with pytest.raises(NestingTooDeep):
        read_all([b"* 1 FETCH (X-ITEM " + b"(" * 10_000 + b")" * 10_000 + b")\r\n"])
    with pytest.raises(NestingTooDeep):
        read_all([b"* THREAD " + b"(" * 10_000 + b"1" + b")" * 10_000 + b"\r\n"])


def test_nesting_within_the_cap_is_fine() -> None:
    depth = 50
    body = b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1)'
    for _ in range(depth):
        body = b"(" + body + b' "MIXED")'
    (fetch,) = read_all([b"* 1 FETCH (BODYSTRUCTURE " + body + b")\r\n"])
    assert isinstance(fetch, FetchData)
    assert fetch.bodystructure is not None
    assert len(list(fetch.bodystructure.walk())) == depth + 1


def test_a_literal_where_a_name_belongs_is_an_error() -> None:
    with pytest.raises(RemoteProtocolError):
        read_all([b"* 1 FETCH ({3}\r\nUID 5)\r\n"])
