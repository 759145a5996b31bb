"""The command encoder (RFC 9051 §6, RFC 7888 literals, RFC 3501 §5.1.3 names).

Table of commands and the exact bytes they become; then how strings are
chosen (atom, quoted, literal), the literal modes, secrets, and the refusal
of input that would break a command (security.md S16, S17).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from mailwire import imap
from mailwire.imap import EncodeOptions, SequenceSet, search
from mailwire.imap._writer import AString, encode

PLUS = EncodeOptions(literal_plus=True)
MINUS = EncodeOptions(literal_minus=True)
UTF8 = EncodeOptions(utf8=True)

CASES: list[tuple[imap.Command, bytes]] = [
    (imap.Capability(), b"A1 CAPABILITY\r\n"),
    (imap.Noop(), b"A1 NOOP\r\n"),
    (imap.Logout(), b"A1 LOGOUT\r\n"),
    (imap.StartTLS(), b"A1 STARTTLS\r\n"),
    (imap.Login("fred", "secret"), b"A1 LOGIN fred secret\r\n"),
    (imap.Login("fred smith", 'a"b\\c'), b'A1 LOGIN "fred smith" "a\\"b\\\\c"\r\n'),
    (imap.Login("nil", ""), b'A1 LOGIN "nil" ""\r\n'),
    (imap.Authenticate("PLAIN"), b"A1 AUTHENTICATE PLAIN\r\n"),
    (imap.Authenticate("PLAIN", b"\0u\0p"), b"A1 AUTHENTICATE PLAIN AHUAcA==\r\n"),
    (imap.Authenticate("EXTERNAL", b""), b"A1 AUTHENTICATE EXTERNAL =\r\n"),
    (imap.Enable(("CONDSTORE", "UTF8=ACCEPT")), b"A1 ENABLE CONDSTORE UTF8=ACCEPT\r\n"),
    (imap.Id({"name": "mailwire", "os": None}), b'A1 ID ("name" "mailwire" "os" NIL)\r\n'),
    (imap.Id(), b"A1 ID NIL\r\n"),
    (imap.Select("INBOX"), b"A1 SELECT INBOX\r\n"),
    (imap.Select("inbox", condstore=True), b"A1 SELECT INBOX (CONDSTORE)\r\n"),
    (
        imap.Select(
            "a", qresync=imap.QResync(67890007, 20050715194045000, "41,43:211", ("1:5", "10:14"))
        ),
        b"A1 SELECT a (QRESYNC (67890007 20050715194045000 41,43:211 (1:5 10:14)))\r\n",
    ),
    (imap.Examine("Sent Items"), b'A1 EXAMINE "Sent Items"\r\n'),
    (imap.Create("Entw\u00fcrfe"), b"A1 CREATE Entw&APw-rfe\r\n"),
    (
        imap.Create("Archive", special_use=("\\Archive",)),
        b"A1 CREATE Archive (USE (\\Archive))\r\n",
    ),
    (imap.Delete("[Gmail]/Trash"), b'A1 DELETE "[Gmail]/Trash"\r\n'),
    (imap.Rename("a&b", "\u53f0\u5317"), b"A1 RENAME a&-b &U,BTFw-\r\n"),
    (imap.Subscribe("x"), b"A1 SUBSCRIBE x\r\n"),
    (imap.Unsubscribe("x"), b"A1 UNSUBSCRIBE x\r\n"),
    (imap.List(), b'A1 LIST "" "*"\r\n'),
    (imap.List("", "%"), b'A1 LIST "" "%"\r\n'),
    (
        imap.List("", ("INBOX", "Drafts"), ("SUBSCRIBED",), ("CHILDREN",), ("MESSAGES", "UNSEEN")),
        b'A1 LIST (SUBSCRIBED) "" (INBOX Drafts) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n',
    ),
    (imap.Lsub("#news.", "comp.mail.*"), b'A1 LSUB #news. "comp.mail.*"\r\n'),
    (imap.Namespace(), b"A1 NAMESPACE\r\n"),
    (
        imap.Status("blurdybloop", ("UIDNEXT", "MESSAGES")),
        b"A1 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
    ),
    (
        imap.Append(
            "saved-messages",
            b"Subject: x\r\n\r\nhi\r\n",
            ("\\Seen",),
            datetime(1994, 2, 7, 21, 52, 25, tzinfo=timezone(timedelta(hours=-8))),
        ),
        b'A1 APPEND saved-messages (\\Seen) " 7-Feb-1994 21:52:25 -0800" {18+}\r\n'
        b"Subject: x\r\n\r\nhi\r\n\r\n",
    ),
    (imap.Idle(), b"A1 IDLE\r\n"),
    (imap.Check(), b"A1 CHECK\r\n"),
    (imap.Close(), b"A1 CLOSE\r\n"),
    (imap.Unselect(), b"A1 UNSELECT\r\n"),
    (imap.Expunge(), b"A1 EXPUNGE\r\n"),
    (imap.Expunge([3, 4, 5, 9]), b"A1 UID EXPUNGE 3:5,9\r\n"),
    (imap.Fetch("1:*", ["FLAGS"]), b"A1 UID FETCH 1:* (FLAGS)\r\n"),
    (imap.Fetch(7, "ENVELOPE", uid=False), b"A1 FETCH 7 (ENVELOPE)\r\n"),
    (imap.Fetch([1, 2, 3, 10], "ALL"), b"A1 UID FETCH 1:3,10 ALL\r\n"),
    (
        imap.Fetch(
            "2:4",
            [
                "BODY.PEEK[HEADER.FIELDS (DATE FROM)]",
                "BODY[1.2.MIME]",
                "BINARY.PEEK[1]<0.1024>",
                "BINARY.SIZE[2]",
            ],
        ),
        b"A1 UID FETCH 2:4 (BODY.PEEK[HEADER.FIELDS (DATE FROM)] BODY[1.2.MIME]"
        b" BINARY.PEEK[1]<0.1024> BINARY.SIZE[2])\r\n",
    ),
    (
        imap.Fetch("1:*", ["FLAGS"], changedsince=12345, vanished=True),
        b"A1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
    ),
    (imap.Fetch("$", ["UID"]), b"A1 UID FETCH $ (UID)\r\n"),
    (imap.Store("2:4", ("\\Deleted",)), b"A1 UID STORE 2:4 +FLAGS (\\Deleted)\r\n"),
    (imap.Store(1, (), action="", uid=False), b"A1 STORE 1 FLAGS ()\r\n"),
    (
        imap.Store("7,9", ("$Junk",), action="-", silent=True, unchangedsince=320162338),
        b"A1 UID STORE 7,9 (UNCHANGEDSINCE 320162338) -FLAGS.SILENT ($Junk)\r\n",
    ),
    (
        imap.Store("1", ("Work Stuff",), item="X-GM-LABELS"),
        b'A1 UID STORE 1 +X-GM-LABELS ("Work Stuff")\r\n',
    ),
    (imap.Copy("2:4", "MEETING"), b"A1 UID COPY 2:4 MEETING\r\n"),
    (imap.Move(SequenceSet.parse("1:3"), "Trash", uid=False), b"A1 MOVE 1:3 Trash\r\n"),
    (imap.Search(), b"A1 UID SEARCH ALL\r\n"),
    (
        imap.Search(("FLAGGED", "SINCE", date(1994, 2, 1), "NOT", "FROM", "Smith")),
        b"A1 UID SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM Smith\r\n",
    ),
    (
        imap.Search(
            (
                search.or_(search.seen(), search.flagged()),
                search.header("X-Tag", ""),
                ["LARGER", 10, "UID", "1:5"],
            )
        ),
        b'A1 UID SEARCH OR SEEN FLAGGED HEADER X-Tag "" (LARGER 10 UID 1:5)\r\n',
    ),
    (
        imap.Search(("2:4", "UNSEEN"), uid=False, return_options=("MIN", "COUNT")),
        b"A1 SEARCH RETURN (MIN COUNT) 2:4 UNSEEN\r\n",
    ),
    (
        imap.Search((search.modseq(620162338), search.younger(3600))),
        b"A1 UID SEARCH MODSEQ 620162338 YOUNGER 3600\r\n",
    ),
    (
        imap.Search(("X-GM-RAW", "has:attachment in:unread")),
        b'A1 UID SEARCH X-GM-RAW "has:attachment in:unread"\r\n',
    ),
    (
        imap.Search(("KEYWORD", "$Forwarded", "UNKEYWORD", "$Junk")),
        b"A1 UID SEARCH KEYWORD $Forwarded UNKEYWORD $Junk\r\n",
    ),
    (imap.Sort(("REVERSE", "DATE"), ("UNSEEN",)), b"A1 UID SORT (REVERSE DATE) UTF-8 UNSEEN\r\n"),
    (
        imap.Thread("REFERENCES", ("SINCE", "5-MAR-2000")),
        b"A1 UID THREAD REFERENCES UTF-8 SINCE 5-MAR-2000\r\n",
    ),
    (imap.GetQuota(""), b'A1 GETQUOTA ""\r\n'),
    (imap.GetQuotaRoot("INBOX"), b"A1 GETQUOTAROOT INBOX\r\n"),
    (imap.SetQuota("", {"STORAGE": 512}), b'A1 SETQUOTA "" (STORAGE 512)\r\n'),
    (
        imap.GetMetadata("INBOX", ("/private/comment",), maxsize=1024, depth="1"),
        b"A1 GETMETADATA (MAXSIZE 1024 DEPTH 1) INBOX /private/comment\r\n",
    ),
    (
        imap.GetMetadata("", ("/shared/a", "/shared/b")),
        b'A1 GETMETADATA "" (/shared/a /shared/b)\r\n',
    ),
    (
        imap.SetMetadata("INBOX", {"/private/comment": "My comment", "/shared/x": None}),
        b'A1 SETMETADATA INBOX (/private/comment "My comment" /shared/x NIL)\r\n',
    ),
    (imap.Compress(), b"A1 COMPRESS DEFLATE\r\n"),
]


@pytest.mark.parametrize(("command", "wire"), CASES, ids=[w[:40].decode() for _, w in CASES])
def test_encoding(command: imap.Command, wire: bytes) -> None:
    assert command.encode("A1", PLUS).data == wire


def test_non_ascii_goes_as_a_literal_with_charset() -> None:
    encoded = imap.Search(("SUBJECT", "Gr\u00fc\u00dfe")).encode("A2")
    assert [s.data for s in encoded.segments] == [
        b"A2 UID SEARCH CHARSET UTF-8 SUBJECT {7}\r\n",
        b"Gr\xc3\xbc\xc3\x9fe\r\n",
    ]
    assert encoded.continuations == 1
    # With UTF8=ACCEPT the string may be quoted UTF-8, and no CHARSET may be
    # given (RFC 6855 §3); an IMAP4rev2 server assumes UTF-8 (RFC 9051 §6.4.4).
    assert imap.Search(("SUBJECT", "Gr\u00fc\u00dfe")).encode("A2", UTF8).data == (
        b'A2 UID SEARCH SUBJECT "Gr\xc3\xbc\xc3\x9fe"\r\n'
    )


def test_literal_modes() -> None:
    """RFC 7888: LITERAL+ for any size, LITERAL- up to 4096 octets."""
    small = imap.Append("x", b"a" * 10)
    big = imap.Append("x", b"a" * 5000)
    assert [s.data[-6:] for s in small.encode("T").segments] == [b"{10}\r\n", b"aaaa\r\n"]
    assert small.encode("T", MINUS).data.startswith(b"T APPEND x {10+}\r\n")
    assert len(small.encode("T", MINUS).segments) == 1
    assert len(big.encode("T", MINUS).segments) == 2  # over 4096: synchronizing
    assert big.encode("T", MINUS).segments[0].data == b"T APPEND x {5000}\r\n"
    assert len(big.encode("T", PLUS).segments) == 1
    long_name = "n" * 5000
    assert imap.Select(long_name).encode("T").segments[0].data == b"T SELECT {5000}\r\n"


def test_literal8_needs_binary() -> None:
    """RFC 3516 §4.2: NUL in APPEND data only as literal8, with BINARY."""
    command = imap.Append("x", b"a\x00b")
    assert command.encode("T", EncodeOptions(binary=True, literal_plus=True)).data == (
        b"T APPEND x ~{3+}\r\na\x00b\r\n"
    )
    with pytest.raises(ValueError, match="BINARY"):
        command.encode("T")


def test_secrets_are_marked() -> None:
    encoded = imap.Login("fred", "hunter2").encode("A1")
    (segment,) = encoded.segments
    assert [segment.data[a:b] for a, b in segment.secrets] == [b"hunter2"]
    assert "hunter2" not in repr(imap.Login("fred", "hunter2"))
    literal = imap.Login("fred", "p\u00e4ss").encode("A1")
    assert literal.segments[0].secrets == ()
    assert [literal.segments[1].data[a:b] for a, b in literal.segments[1].secrets] == [
        "p\u00e4ss".encode()
    ]
    sasl = imap.Authenticate("PLAIN", b"\0u\0p").encode("A1").segments[0]
    assert [sasl.data[a:b] for a, b in sasl.secrets] == [b"AHUAcA=="]


INJECTIONS = [
    lambda: imap.Select("INBOX\r\nA999 DELETE INBOX"),
    lambda: imap.Create("a\nb"),
    lambda: imap.Rename("a", "b\x00"),
    lambda: imap.Login("user\r\n", "pw"),
    lambda: imap.Login("user", "pw\n"),
    lambda: imap.Login("user", "p\x00w"),
    lambda: imap.Search(("TEXT", 'x"\r\nX1 STORE 1:* +FLAGS (\\Deleted)')),
    lambda: imap.Search((search.subject("a\rb"),)),
    lambda: imap.Store("1", ("\\Seen)\r\n",)),
    lambda: imap.Store("1", ("two words",)),
    lambda: imap.Append("x", b"m", ("\\Seen\r\nA1 LOGOUT",)),
    lambda: imap.Fetch("1", ["BODY[]\r\nA1 LOGOUT"]),
    lambda: imap.Fetch("1", ["ENVELOPE)"]),
    lambda: imap.Fetch("1:x", ["UID"]),
    lambda: imap.Fetch(0, ["UID"]),
    lambda: imap.Fetch([], ["UID"]),
    lambda: imap.Id({"name\r\n": "x"}),
    lambda: imap.SetMetadata("INBOX", {"/private/x": "a\r\nb"}),
    lambda: imap.Status("INBOX", ("MESSAGES)",)),
    lambda: imap.Enable(("X Y",)),
    lambda: imap.Search(("SINCE", "yesterday")),
    lambda: imap.Search(("LARGER", "-1")),
    lambda: imap.Search(("NOSUCHKEY",)),
    lambda: imap.Search(("FROM",)),
    lambda: imap.Search(()),
    lambda: imap.Sort(("REVERSE",)),
    lambda: imap.Store("1", ("\\Seen",), action="*"),
    lambda: imap.Fetch("1", ["FLAGS"], vanished=True),
    lambda: imap.GetMetadata("INBOX", ("/x",), depth="2"),
]


@pytest.mark.parametrize("make", INJECTIONS, ids=range(len(INJECTIONS)))
def test_bad_input_is_refused_before_anything_is_produced(make: object) -> None:
    """S16: ValueError at construction, so no tag is spent and nothing queued."""
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_bad_tags() -> None:
    for tag in ("", "A 1", "A+1", "A\r\n", "(x)", "t\u00e9"):
        with pytest.raises(ValueError):
            imap.Noop().encode(tag)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("simple", b"simple"),
        ("", b'""'),
        ("NIL", b'"NIL"'),
        ("a b", b'"a b"'),
        ("tab\there", b'"tab\there"'),
        ('a"b\\c', b'"a\\"b\\\\c"'),
        *[(f"x{c}y", b'"x' + c.encode() + b'y"') for c in "(){ %*]"],
        ("[Gmail]/Sent", b'"[Gmail]/Sent"'),
        ("\u00e9", b"{2}\r\n\xc3\xa9"),
    ],
)
def test_string_forms(value: str, wire: bytes) -> None:
    """S17: specials force quoting; escapes for quote and backslash; 8-bit as literals."""
    assert (
        encode("T", [AString(value)], PLUS).data == b"T " + wire.replace(b"{2}", b"{2+}") + b"\r\n"
    )


def test_mailbox_names_in_utf8_mode() -> None:
    assert imap.Select("Entw\u00fcrfe").encode("T", UTF8).data == b'T SELECT "Entw\xc3\xbcrfe"\r\n'
    assert imap.Select("&").encode("T").data == b"T SELECT &-\r\n"


def test_sequence_sets() -> None:
    assert str(SequenceSet.from_numbers([5, 1, 2, 3, 9, 10])) == "1:3,5,9:10"
    s = SequenceSet.parse("4:2,7,9:*")
    assert s.ranges == ((4, 2), (7, 7), (9, None))
    assert str(s) == "4:2,7,9:*"
    assert list(s.expand(11)) == [2, 3, 4, 7, 9, 10, 11]
    assert 3 in s
    assert 8 not in s
    assert s.has_star
    with pytest.raises(ValueError):
        list(s)
    for bad in ("", "0", "1:", ":2", "1,,2", "a", "4294967296", "1 2"):
        with pytest.raises(ValueError):
            SequenceSet.parse(bad)


def test_idle_done_line() -> None:
    assert imap.DONE == b"DONE\r\n"


def test_body_sections() -> None:
    assert imap.body_section() == "BODY.PEEK[]"
    assert imap.body_section(peek=False) == "BODY[]"
    assert imap.body_section("1.2", "mime") == "BODY.PEEK[1.2.MIME]"
    assert imap.body_section("3", "TEXT", partial=(0, 100)) == "BODY.PEEK[3.TEXT]<0.100>"
    assert (
        imap.body_section(fields=["Subject", "From"]) == "BODY.PEEK[HEADER.FIELDS (Subject From)]"
    )
    assert (
        imap.body_section("2", fields=["X-A"], exclude=True)
        == "BODY.PEEK[2.HEADER.FIELDS.NOT (X-A)]"
    )
    assert imap.body_section("1", binary=True) == "BINARY.PEEK[1]"
    fetch = imap.Fetch("1", [imap.body_section("1.2", "MIME")])
    assert fetch.encode("A1").data == b"A1 UID FETCH 1 (BODY.PEEK[1.2.MIME])\r\n"
    for bad in (
        lambda: imap.body_section("1.x"),
        lambda: imap.body_section("0"),
        lambda: imap.body_section(fields=["a b"]),
        lambda: imap.body_section(fields=["x)"]),
        lambda: imap.body_section("1", "TEXT", binary=True),
        lambda: imap.body_section(text="BOGUS"),
    ):
        with pytest.raises(ValueError):
            bad()
