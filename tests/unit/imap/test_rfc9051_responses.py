"""Table-driven parser tests over every response type (RFC 9051 §7 and extensions).

Each case is the server's bytes and the one response object they must give;
every case is also fed one byte at a time and cut at every offset, which must
change nothing (the reader keeps what it has until a response is whole).
"""

from __future__ import annotations

from types import MappingProxyType

import pytest

from mailwire.errors import RemoteProtocolError
from mailwire.imap import (
    AclData,
    AppendUid,
    CapabilityData,
    Continuation,
    CopyUid,
    Defect,
    Enabled,
    ESearchData,
    Exists,
    ExpungeData,
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
    ResponseCode,
    SearchData,
    SequenceSet,
    SortData,
    StatusData,
    StatusResponse,
    Tagged,
    ThreadData,
    UntaggedData,
    Vanished,
)

from .helpers import read_all

S = SequenceSet.parse

CASES: list[tuple[bytes, object]] = [
    # ---- status responses (RFC 9051 §7.1)
    (b"A1 OK LOGIN completed\r\n", Tagged("A1", "OK", None, "LOGIN completed")),
    (
        b"a2 no [TRYCREATE] no such mailbox\r\n",
        Tagged("a2", "NO", ResponseCode("TRYCREATE"), "no such mailbox"),
    ),
    (b"A3 BAD [PARSE] eh?\r\n", Tagged("A3", "BAD", ResponseCode("PARSE"), "eh?")),
    (b"* OK IMAP4rev2 ready\r\n", StatusResponse("OK", None, "IMAP4rev2 ready")),
    (b"* PREAUTH [READ-WRITE] hi\r\n", StatusResponse("PREAUTH", ResponseCode("READ-WRITE"), "hi")),
    (
        b"* BYE Autologout; idle too long\r\n",
        StatusResponse("BYE", None, "Autologout; idle too long"),
    ),
    (
        b"* NO [ALERT] Disk is 98% full\r\n",
        StatusResponse("NO", ResponseCode("ALERT"), "Disk is 98% full"),
    ),
    (
        b"* OK [CAPABILITY IMAP4rev2 STARTTLS auth=plain] go\r\n",
        StatusResponse(
            "OK",
            ResponseCode(
                "CAPABILITY",
                ("IMAP4REV2", "STARTTLS", "AUTH=PLAIN"),
                "IMAP4rev2 STARTTLS auth=plain",
            ),
            "go",
        ),
    ),
    (
        b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
        StatusResponse(
            "OK",
            ResponseCode(
                "PERMANENTFLAGS", ("\\Deleted", "\\Seen", "\\*"), "(\\Deleted \\Seen \\*)"
            ),
            "Limited",
        ),
    ),
    (
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
        StatusResponse("OK", ResponseCode("UIDVALIDITY", 3857529045, "3857529045"), "UIDs valid"),
    ),
    (
        b"* OK [UIDNEXT 4392] next\r\n",
        StatusResponse("OK", ResponseCode("UIDNEXT", 4392, "4392"), "next"),
    ),
    (
        b"* OK [UNSEEN 12] first unseen\r\n",
        StatusResponse("OK", ResponseCode("UNSEEN", 12, "12"), "first unseen"),
    ),
    (
        b"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
        StatusResponse(
            "OK", ResponseCode("HIGHESTMODSEQ", 715194045007, "715194045007"), "Highest"
        ),
    ),
    (b"* OK [NOMODSEQ] Sorry\r\n", StatusResponse("OK", ResponseCode("NOMODSEQ"), "Sorry")),
    (
        b"* OK [CLOSED] Previous mailbox closed\r\n",
        StatusResponse("OK", ResponseCode("CLOSED"), "Previous mailbox closed"),
    ),
    (
        b"A4 OK [APPENDUID 38505 3955] APPEND completed\r\n",
        Tagged(
            "A4",
            "OK",
            ResponseCode("APPENDUID", AppendUid(38505, S("3955")), "38505 3955"),
            "APPEND completed",
        ),
    ),
    (
        b"A5 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
        Tagged(
            "A5",
            "OK",
            ResponseCode(
                "COPYUID",
                CopyUid(38505, S("304,319:320"), S("3956:3958")),
                "38505 304,319:320 3956:3958",
            ),
            "Done",
        ),
    ),
    (
        b"A6 OK [MODIFIED 7,9] Conditional STORE failed\r\n",
        Tagged("A6", "OK", ResponseCode("MODIFIED", S("7,9"), "7,9"), "Conditional STORE failed"),
    ),
    (
        b'A7 NO [BADCHARSET (UTF-8 "US-ASCII")] charset\r\n',
        Tagged(
            "A7",
            "NO",
            ResponseCode("BADCHARSET", ("UTF-8", "US-ASCII"), '(UTF-8 "US-ASCII")'),
            "charset",
        ),
    ),
    (
        b"A8 NO [AUTHENTICATIONFAILED] nope\r\n",
        Tagged("A8", "NO", ResponseCode("AUTHENTICATIONFAILED"), "nope"),
    ),
    (b"A9 NO [OVERQUOTA] full\r\n", Tagged("A9", "NO", ResponseCode("OVERQUOTA"), "full")),
    (
        b"A10 NO [ALREADYEXISTS] exists\r\n",
        Tagged("A10", "NO", ResponseCode("ALREADYEXISTS"), "exists"),
    ),
    (
        b"* NO [WEBALERT https://example.org/x] Web login required\r\n",
        StatusResponse(
            "NO",
            ResponseCode("WEBALERT", "https://example.org/x", "https://example.org/x"),
            "Web login required",
        ),
    ),
    (
        b"A11 NO [METADATA MAXSIZE 1024] too big\r\n",
        Tagged("A11", "NO", ResponseCode("METADATA", ("MAXSIZE", 1024), "MAXSIZE 1024"), "too big"),
    ),
    (
        b"A12 OK [MAILBOXID (F2212ea87)] created\r\n",
        Tagged("A12", "OK", ResponseCode("MAILBOXID", "F2212ea87", "(F2212ea87)"), "created"),
    ),
    (
        b"A13 OK [X-FOO bar baz] hm\r\n",
        Tagged("A13", "OK", ResponseCode("X-FOO", "bar baz", "bar baz"), "hm"),
    ),
    # ---- continuation requests (RFC 9051 §7.5)
    (b"+ Ready for literal data\r\n", Continuation("Ready for literal data")),
    (b"+ \r\n", Continuation("")),
    (b"+ dGVzdA==\r\n", Continuation("dGVzdA==")),
    (b"+ [ALERT] careful\r\n", Continuation("careful", ResponseCode("ALERT"))),
    # ---- server and mailbox data
    (
        b"* CAPABILITY IMAP4rev1 IDLE literal+ AUTH=PLAIN\r\n",
        CapabilityData(("IMAP4REV1", "IDLE", "LITERAL+", "AUTH=PLAIN")),
    ),
    (b"* ENABLED CONDSTORE QRESYNC\r\n", Enabled(("CONDSTORE", "QRESYNC"))),
    (b"* ENABLED\r\n", Enabled(())),
    (
        b'* ID ("name" "Cyrus" "version" "1.5" "os" NIL)\r\n',
        IdData({"name": "Cyrus", "version": "1.5", "os": None}),
    ),
    (b"* ID NIL\r\n", IdData(None)),
    (
        b'* NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/")("#public/" "/"))\r\n',
        NamespaceData(
            (NamespaceInfo("", "/"),),
            (NamespaceInfo("~", "/"),),
            (NamespaceInfo("#shared/", "/"), NamespaceInfo("#public/", "/")),
        ),
    ),
    (
        b'* NAMESPACE (("" "/" "X-PARAM" ("a" "b"))) NIL NIL\r\n',
        NamespaceData((NamespaceInfo("", "/", {"X-PARAM": ("a", "b")}),), (), ()),
    ),
    (
        b'* LIST (\\Noselect) "/" ~/Mail/foo\r\n',
        ListData(("\\Noselect",), "/", "~/Mail/foo", raw_name=b"~/Mail/foo"),
    ),
    (b'* LIST () "." inbox\r\n', ListData((), ".", "INBOX", raw_name=b"inbox")),
    (b"* LIST () NIL Flat\r\n", ListData((), None, "Flat", raw_name=b"Flat")),
    (
        b'* LIST (\\HasNoChildren \\Sent) "/" "Sent Items"\r\n',
        ListData(("\\HasNoChildren", "\\Sent"), "/", "Sent Items", raw_name=b"Sent Items"),
    ),
    (
        b'* LIST () "/" "Entw&APw-rfe"\r\n',
        ListData((), "/", "Entw\u00fcrfe", raw_name=b"Entw&APw-rfe"),
    ),
    (
        b'* LIST () "/" {11}\r\nLiteral Box\r\n',
        ListData((), "/", "Literal Box", raw_name=b"Literal Box"),
    ),
    (
        b'* LIST (\\Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))\r\n',
        ListData(
            ("\\Subscribed",),
            "/",
            "Foo",
            ("SUBSCRIBED",),
            None,
            {"CHILDINFO": ("SUBSCRIBED",)},
            raw_name=b"Foo",
        ),
    ),
    (
        b'* LIST () "/" "NewBox" ("OLDNAME" ("OldBox"))\r\n',
        ListData((), "/", "NewBox", (), "OldBox", {"OLDNAME": "OldBox"}, raw_name=b"NewBox"),
    ),
    (
        b'* LSUB () "." #news.comp.mail.misc\r\n',
        ListData((), ".", "#news.comp.mail.misc", kind="LSUB", raw_name=b"#news.comp.mail.misc"),
    ),
    (
        b'* XLIST (\\Inbox) "/" "Inbox"\r\n',
        ListData(("\\Inbox",), "/", "INBOX", kind="XLIST", raw_name=b"Inbox"),
    ),
    (
        b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 SIZE 1234567 DELETED 3)\r\n",
        StatusData(
            "blurdybloop", {"MESSAGES": 231, "UIDNEXT": 44292, "SIZE": 1234567, "DELETED": 3}
        ),
    ),
    (
        b'* STATUS "INBOX" (HIGHESTMODSEQ 7011231777 APPENDLIMIT NIL MAILBOXID (F22))\r\n',
        StatusData("INBOX", {"HIGHESTMODSEQ": 7011231777, "APPENDLIMIT": None, "MAILBOXID": "F22"}),
    ),
    (
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n",
        Flags(("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "$Forwarded")),
    ),
    (b"* 172 EXISTS\r\n", Exists(172)),
    (b"* 1 RECENT\r\n", Recent(1)),
    (b"* 44 EXPUNGE\r\n", ExpungeData(44)),
    (b"* 3 exists\r\n", Exists(3)),
    (b"* VANISHED 405,407,410\r\n", Vanished(S("405,407,410"))),
    (b"* VANISHED (EARLIER) 41,43:116\r\n", Vanished(S("41,43:116"), earlier=True)),
    (b"* SEARCH 2 3 6\r\n", SearchData((2, 3, 6))),
    (b"* SEARCH\r\n", SearchData(())),
    (
        b"* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n",
        SearchData((2, 5, 6, 7, 11, 12, 18, 19, 20, 23), 917162500),
    ),
    (
        b'* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n',
        ESearchData("A282", False, min=2, count=3, items={"MIN": 2, "COUNT": 3}),
    ),
    (
        b'* ESEARCH (TAG "A284") UID ALL 4:19,21,28 MODSEQ 1234\r\n',
        ESearchData(
            "A284",
            True,
            all=S("4:19,21,28"),
            modseq=1234,
            items={"ALL": S("4:19,21,28"), "MODSEQ": 1234},
        ),
    ),
    (
        b'* ESEARCH (TAG "A1") UID PARTIAL (-1:-100 NIL)\r\n',
        ESearchData("A1", True, partial=("-1:-100", None), items={"PARTIAL": ("-1:-100", None)}),
    ),
    (b"* ESEARCH\r\n", ESearchData()),
    (b"* SORT 2 3 6\r\n", SortData((2, 3, 6))),
    (
        b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n",
        ThreadData(((2,), (3, 6, (4, 23), (44, 7, 96)))),
    ),
    (b"* THREAD ((3)(5))\r\n", ThreadData((((3,), (5,)),))),
    (b"* THREAD\r\n", ThreadData(())),
    (b'* QUOTA "" (STORAGE 10 512)\r\n', Quota("", (QuotaResource("STORAGE", 10, 512),))),
    (
        b"* QUOTA user.x (STORAGE 10 512 MESSAGE 3 100)\r\n",
        Quota("user.x", (QuotaResource("STORAGE", 10, 512), QuotaResource("MESSAGE", 3, 100))),
    ),
    (b'* QUOTAROOT INBOX ""\r\n', QuotaRoot("INBOX", ("",))),
    (b"* QUOTAROOT comp.mail.mime\r\n", QuotaRoot("comp.mail.mime", ())),
    (
        b'* METADATA "INBOX" (/private/comment "My own comment")\r\n',
        MetadataData("INBOX", {"/private/comment": b"My own comment"}),
    ),
    (b'* METADATA "" (/shared/x NIL)\r\n', MetadataData("", {"/shared/x": None})),
    (
        b"* METADATA INBOX /shared/comment /private/comment\r\n",
        MetadataData(
            "INBOX", {"/shared/comment": None, "/private/comment": None}, changed_only=True
        ),
    ),
    # ---- ACL (RFC 4314 §3.6-3.8; the examples of §3.4, §4 and §5.1)
    (b"* MYRIGHTS INBOX rwiptsldaex\r\n", MyRightsData("INBOX", "rwiptsldaex")),
    (
        b"* ACL INBOX Fred rwipslxcetda David lrswideta\r\n",
        AclData("INBOX", {"Fred": "rwipslxcetda", "David": "lrswideta"}),
    ),
    (
        b"* ACL INBOX Fred rwipslxetad -Fred wetd $team w\r\n",
        AclData("INBOX", {"Fred": "rwipslxetad", "-Fred": "wetd", "$team": "w"}),
    ),
    (b"* ACL Empty\r\n", AclData("Empty", {})),
    (
        b'* LISTRIGHTS archive/imap anyone "" lr s w i p k x t c d\r\n',
        ListRightsData(
            "archive/imap", "anyone", "", ("lr", "s", "w", "i", "p", "k", "x", "t", "c", "d")
        ),
    ),
    # ---- ESEARCH RELEVANCY (RFC 6203 §4's example)
    (
        b'* ESEARCH (TAG "B1") ALL 1,5,10 RELEVANCY (4 99 42)\r\n',
        ESearchData(
            "B1",
            all=SequenceSet.parse("1,5,10"),
            relevancy=(4, 99, 42),
            items={"ALL": SequenceSet.parse("1,5,10"), "RELEVANCY": (4, 99, 42)},
        ),
    ),
    # ---- anything else is kept raw
    (b"* 5 XFOO (1 2)\r\n", UntaggedData("XFOO", 5, ((1, 2),), "(1 2)")),
    (
        b"* XTEXT hello: world!\r\n",
        UntaggedData("XTEXT", None, ("hello:", "world!"), "hello: world!"),
    ),
    # ---- deviations accepted, with a defect
    (
        b"A14 OK\r\n",
        Tagged("A14", "OK", None, "", (Defect("missing-text", "no text after the status"),)),
    ),
    (
        b"* OK\r\n",
        StatusResponse("OK", None, "", (Defect("missing-text", "no text after the status"),)),
    ),
    (
        b"A15 OK [READ-WRITE]done\r\n",
        Tagged(
            "A15",
            "OK",
            ResponseCode("READ-WRITE"),
            "done",
            (Defect("missing-space", "no space after the response code"),),
        ),
    ),
    (
        b'* LIST () "" "Folder2"\r\n',
        ListData(
            (),
            None,
            "Folder2",
            raw_name=b"Folder2",
            defects=(Defect("empty-delimiter", '"" instead of NIL'),),
        ),
    ),
    (
        b"A16 OK [UIDNEXT abc] odd\r\n",
        Tagged(
            "A16",
            "OK",
            ResponseCode("UIDNEXT", None, "abc"),
            "odd",
            (Defect("bad-code-argument", "[UIDNEXT abc]: abc"),),
        ),
    ),
    (b"+go\r\n", Continuation("go", None, (Defect("missing-space", "no space after '+'"),))),
    (
        b"* OK done\n",
        StatusResponse("OK", None, "done", (Defect("bare-lf", "a line ended in LF alone"),)),
    ),
]

BAD = [
    b"\r\n",
    b"*\r\n",
    b"* \r\n",
    b"A1\r\n",
    b"A1 MAYBE done\r\n",
    b"(A1) OK x\r\n",
    b"* 1 FETCH (UID)\r\n",
    b"* 1 FETCH UID 1\r\n",
    b"* 1 FETCH (UID 1\r\n",
    b"* 1 FETCH (UID 1))\r\n",
    b'* 1 FETCH (ENVELOPE ("x"))\r\n',
    b'* 1 FETCH (BODYSTRUCTURE ("TEXT"))\r\n',
    b"* SEARCH 1 x\r\n",
    b"* STATUS INBOX MESSAGES 1\r\n",
    b'* LIST \\Noselect "/" foo\r\n',
    b"* VANISHED 0:x\r\n",
    b"* QUOTA root (STORAGE ten 5)\r\n",
    b'* CAPABILITY "IMAP4rev1"\r\n',
    b'* ID ("a")\r\n',
    b'* NAMESPACE (("" "/")) NIL\r\n',
    b"* THREAD 1 2\r\n",
]


def ids(case: tuple[bytes, object]) -> str:
    return case[0][:40].decode("ascii", "replace")


@pytest.mark.parametrize(("data", "expected"), CASES, ids=[ids(c) for c in CASES])
def test_whole(data: bytes, expected: object) -> None:
    assert read_all([data]) == [expected]


@pytest.mark.parametrize(("data", "expected"), CASES, ids=[ids(c) for c in CASES])
def test_byte_by_byte_and_every_split(data: bytes, expected: object) -> None:
    assert read_all([data[i : i + 1] for i in range(len(data))]) == [expected]
    for cut in range(len(data) + 1):
        assert read_all([data[:cut], data[cut:]]) == [expected], cut


def test_all_cases_in_one_stream() -> None:
    stream = b"".join(data for data, _ in CASES)
    assert read_all([stream]) == [expected for _, expected in CASES]


@pytest.mark.parametrize("data", BAD, ids=lambda d: d[:40].decode("ascii", "replace"))
def test_malformed(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        read_all([data])


def test_mappings_are_read_only_and_equal_to_dicts() -> None:
    (status,) = read_all([b"* STATUS x (MESSAGES 2)\r\n"])
    assert isinstance(status, StatusData)
    assert status.messages == 2
    assert status.uidnext is None
    (fetch,) = read_all(
        [b'* 1 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 1 1))\r\n']
    )
    params = fetch.bodystructure.params  # type: ignore[attr-defined]
    assert params == {"charset": "utf-8"}
    (again,) = read_all(
        [b'* 2 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 1 1))\r\n']
    )
    shared = again.bodystructure.params  # type: ignore[attr-defined]
    assert isinstance(shared, MappingProxyType)  # seen before: the shared, read-only one
    assert shared == params


def test_list_attribute_lookup_ignores_case() -> None:
    (item,) = read_all([b'* LIST (\\NOSELECT \\HasChildren) "/" foo\r\n'])
    assert isinstance(item, ListData)
    assert item.has_attribute("\\Noselect")
    assert not item.has_attribute("\\Marked")
