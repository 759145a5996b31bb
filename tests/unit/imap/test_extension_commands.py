"""Commands and responses of ACL, NOTIFY, ANNOTATE, ESORT, PARTIAL, PREVIEW (LAZY), FILTER.

Expected command bytes are the RFC examples (RFC 4314 §3-4, RFC 5465 §5-6,
RFC 5257 §4, RFC 5267 §3.3, RFC 9394 §3.3, RFC 8970 §3.1), joined onto one
line where the RFC folds them; where an RFC gives no example the bytes are
written from its ABNF. Responses are the RFC examples, unfolded.
"""

from __future__ import annotations

import pytest

from mailwire import imap
from mailwire.imap import FetchData, NotifyGroup, search

from .helpers import read_all


def wire(command: imap.Command, tag: str = "A1") -> bytes:
    return b"".join(s.data for s in command.encode(tag).segments)


CASES: list[tuple[imap.Command, bytes]] = [
    # RFC 4314 §3.1-3.5 and the examples of §3 and §4.
    (imap.SetAcl("INBOX/Drafts", "Chris", "+cda"), b"A1 SETACL INBOX/Drafts Chris +cda\r\n"),
    (imap.SetAcl("INBOX", "-Fred", "-wd"), b"A1 SETACL INBOX -Fred -wd\r\n"),
    (imap.SetAcl("INBOX", "smith", "lrswida"), b"A1 SETACL INBOX smith lrswida\r\n"),
    (imap.DeleteAcl("INBOX", "Fred"), b"A1 DELETEACL INBOX Fred\r\n"),
    (imap.GetAcl("INBOX"), b"A1 GETACL INBOX\r\n"),
    (imap.ListRights("~/Mail/saved", "smith"), b"A1 LISTRIGHTS ~/Mail/saved smith\r\n"),
    (imap.MyRights("INBOX"), b"A1 MYRIGHTS INBOX\r\n"),
    (imap.SetAcl("Shared Box", "fred smith", "lr"), b'A1 SETACL "Shared Box" "fred smith" lr\r\n'),
    # RFC 5465 §8: NOTIFY NONE, NOTIFY SET with and without STATUS.
    (imap.Notify(), b"A1 NOTIFY NONE\r\n"),
    (
        imap.Notify(
            [
                NotifyGroup(
                    "selected",
                    events=["MessageExpunge", "MessageNew"],
                    fetch=["UID", "BODY.PEEK[HEADER.FIELDS (From To)]"],
                ),
                NotifyGroup("personal", events=["MessageNew", "MessageExpunge"]),
            ]
        ),
        b"A1 NOTIFY SET (SELECTED (MessageExpunge MessageNew (UID BODY.PEEK[HEADER.FIELDS"
        b" (From To)]))) (PERSONAL (MessageNew MessageExpunge))\r\n",
    ),
    (
        imap.Notify(
            [
                NotifyGroup("subtree", ["Lists"], ["MessageNew", "MessageExpunge"]),
                NotifyGroup("mailboxes", ["INBOX", "Drafts"], []),
                NotifyGroup("inboxes", events=["mailboxname", "SUBSCRIPTIONCHANGE"]),
            ],
            status=True,
        ),
        b"A1 NOTIFY SET STATUS (SUBTREE Lists (MessageNew MessageExpunge))"
        b" (MAILBOXES (INBOX Drafts) NONE) (INBOXES (MailboxName SubscriptionChange))\r\n",
    ),
    # RFC 5257 §4.1, §4.2 and §4.3 (the examples, unfolded).
    (imap.Select("INBOX", annotate=True), b"A1 SELECT INBOX (ANNOTATE)\r\n"),
    (
        imap.Examine("INBOX", condstore=True, annotate=True),
        b"A1 EXAMINE INBOX (CONDSTORE ANNOTATE)\r\n",
    ),
    (
        imap.Fetch("1", [imap.annotation_item("/comment", "value")], uid=False),
        b"A1 FETCH 1 (ANNOTATION (/comment value))\r\n",
    ),
    (
        imap.Fetch("1123", ["UID", imap.annotation_item("/*", ["value.priv", "size.priv"])]),
        b"A1 UID FETCH 1123 (UID ANNOTATION (/* (value.priv size.priv)))\r\n",
    ),
    (
        imap.Fetch("1", ["ANNOTATION ((/comment /altsubject) value.priv)"], uid=False),
        b"A1 FETCH 1 (ANNOTATION ((/comment /altsubject) value.priv))\r\n",
    ),
    (
        imap.Fetch("1", [imap.annotation_item("/%", "value.shared")], uid=False),
        b"A1 FETCH 1 (ANNOTATION (/% value.shared))\r\n",
    ),
    (
        imap.StoreAnnotation("1", {"/comment": {"value.priv": "My new comment"}}, uid=False),
        b'A1 STORE 1 ANNOTATION (/comment (value.priv "My new comment"))\r\n',
    ),
    (
        imap.StoreAnnotation("1", {"/comment": {"value.shared": None}}, uid=False),
        b"A1 STORE 1 ANNOTATION (/comment (value.shared NIL))\r\n",
    ),
    (
        imap.StoreAnnotation(
            "1",
            {
                "/comment": {"value.priv": "Get tix Tuesday"},
                "/altsubject": {"value.priv": "Wots On"},
            },
            uid=False,
        ),
        b'A1 STORE 1 ANNOTATION (/comment (value.priv "Get tix Tuesday")'
        b' /altsubject (value.priv "Wots On"))\r\n',
    ),
    (
        imap.StoreAnnotation("7", {"/comment": {"value.shared": "ok"}}, unchangedsince=12),
        b'A1 UID STORE 7 (UNCHANGEDSINCE 12) ANNOTATION (/comment (value.shared "ok"))\r\n',
    ),
    # RFC 5257 §4.4 search key, §4.5 sort key (from the ABNF).
    (
        imap.Search((search.annotation("/comment", "value", "IMAP4"),), uid=False),
        b'A1 SEARCH ANNOTATION /comment value "IMAP4"\r\n',
    ),
    (
        imap.Sort(("ANNOTATION", "/altsubject", "value.shared"), ("ALL",), uid=False),
        b"A1 SORT (ANNOTATION /altsubject value.shared) UTF-8 ALL\r\n",
    ),
    # RFC 5267 §3.3: ESORT, the empty return list too.
    (
        imap.Sort(("REVERSE", "DATE"), ("UNDELETED", "UNKEYWORD", "$Junk"), return_options=()),
        b"A1 UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk\r\n",
    ),
    (
        imap.Sort(("ARRIVAL",), ("ALL",), return_options=("MIN", "MAX", "COUNT")),
        b"A1 UID SORT RETURN (MIN MAX COUNT) (ARRIVAL) UTF-8 ALL\r\n",
    ),
    (imap.Search(("ALL",), return_options=()), b"A1 UID SEARCH RETURN () ALL\r\n"),
    # RFC 9394 §3.1 and §3.3.
    (
        imap.Search(("UNDELETED",), return_options=("PARTIAL", "-1:-100")),
        b"A1 UID SEARCH RETURN (PARTIAL -1:-100) UNDELETED\r\n",
    ),
    (
        imap.Fetch("25900:26600", ["UID", "FLAGS"], partial="-1:-3"),
        b"A1 UID FETCH 25900:26600 (UID FLAGS) (PARTIAL -1:-3)\r\n",
    ),
    (
        imap.Fetch("25900:26600", ["UID", "FLAGS"], partial=(1, 5)),
        b"A1 UID FETCH 25900:26600 (UID FLAGS) (PARTIAL 1:5)\r\n",
    ),
    (
        imap.Fetch("25900:26600", ["UID", "FLAGS"], changedsince=98305, partial="-1:-3"),
        b"A1 UID FETCH 25900:26600 (UID FLAGS) (CHANGEDSINCE 98305 PARTIAL -1:-3)\r\n",
    ),
    # RFC 8970 §3.1: PREVIEW with the LAZY modifier.
    (
        imap.Fetch("1", ["RFC822.SIZE", "PREVIEW (LAZY)"], uid=False),
        b"A1 FETCH 1 (RFC822.SIZE PREVIEW (LAZY))\r\n",
    ),
    # RFC 5466 §4: the FILTER search key.
    (imap.Search(("FILTER", "on-the-road"), uid=False), b"A1 SEARCH FILTER on-the-road\r\n"),
    (imap.Search((search.filter_("Urgent"), "UNSEEN")), b"A1 UID SEARCH FILTER Urgent UNSEEN\r\n"),
]


@pytest.mark.parametrize(("command", "expected"), CASES, ids=[c[1].decode()[:60] for c in CASES])
def test_encodes_as_the_rfc_writes_it(command: imap.Command, expected: bytes) -> None:
    assert wire(command) == expected


REFUSED: list[tuple[object, str]] = [
    # RFC 4314 §3.1's own example: upper-case rights are refused (BAD there).
    (lambda: imap.SetAcl("INBOX/Drafts", "John", "lrQswicda"), "lower-case"),
    (lambda: imap.SetAcl("INBOX", "fred", "lr\r\n"), "lower-case"),
    (lambda: imap.SetAcl("INBOX", "fred\r\nA2 LOGOUT", "lr"), "CR"),
    (lambda: imap.DeleteAcl("INBOX", ""), "identifier"),
    (lambda: imap.Notify([NotifyGroup("everything", events=["MessageNew"])]), "filter"),
    (lambda: NotifyGroup("selected", events=["MessageNew"]), "together"),
    (lambda: NotifyGroup("personal", events=["FlagChange"]), "needs MessageNew"),
    (lambda: NotifyGroup("selected", events=["MailboxName"]), "message events only"),
    (
        lambda: NotifyGroup("personal", events=["MessageNew", "MessageExpunge"], fetch=["UID"]),
        "selected mailbox only",
    ),
    (lambda: NotifyGroup("subtree", events=[]), "at least one mailbox"),
    (lambda: NotifyGroup("inboxes", ["INBOX"]), "no mailbox names"),
    (lambda: NotifyGroup("personal", events=["Message New"]), "atom"),
    (
        lambda: imap.Notify(
            [NotifyGroup("selected", events=[]), NotifyGroup("selected-delayed", events=[])]
        ),
        "at most one",
    ),
    (lambda: imap.Fetch("1", ["UID"], uid=False, partial="1:5"), "UID FETCH"),
    (lambda: imap.Fetch("1", ["UID"], partial="0:5"), "PARTIAL"),
    (lambda: imap.Fetch("1", ["UID"], partial="-1:5"), "PARTIAL"),
    (lambda: imap.Fetch("1", ["UID"], partial="1:4294967296"), "PARTIAL"),
    (lambda: imap.Fetch("1", ["UID"], partial="1:*"), "PARTIAL"),
    (lambda: imap.Fetch("1", ["PREVIEW (FUZZY)"]), "FETCH item"),
    (lambda: imap.Fetch("1", ["ANNOTATION (comment value)"]), "FETCH item"),
    (lambda: imap.annotation_item("/comment\r\n", "value"), "annotation entry"),
    (lambda: imap.annotation_item("/comment", "value priv"), "attribute"),
    (lambda: imap.StoreAnnotation("1", {"/c*": {"value.priv": "x"}}), "without"),
    (lambda: imap.StoreAnnotation("1", {"/c": {"size.priv": "x"}}), "value.priv or"),
    (lambda: imap.StoreAnnotation("1", {"/c": {"value.priv": "a\r\nb"}}), "CR"),
    (lambda: imap.StoreAnnotation("1", {}), "at least one"),
    (lambda: imap.Sort(("ANNOTATION", "/c", "value"), ("ALL",)), "value.priv or value.shared"),
    (lambda: imap.Sort(("ANNOTATION", "/c"), ("ALL",)), "entry and an attribute"),
    (lambda: imap.Search(("FILTER", "a/b")), "filter name"),
    (lambda: imap.Search((search.annotation("comment", "value", "x"),)), "entry"),
    (lambda: imap.Search((search.annotation("/comment", "size", "x"),)), "value.priv"),
    # Atoms are visible ASCII: a character above U+FFFF is refused too.
    (lambda: imap.Search(("KEYWORD", "tag\U0001f600")), "atom"),
    (lambda: imap.Search(("FILTER", "\U0001f600")), "filter name"),
    (lambda: imap.Store("1", ["\U0001f600"]), "flag"),
]


@pytest.mark.parametrize(("build", "match"), REFUSED)
def test_bad_input_is_refused_before_anything_is_encoded(build: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()  # type: ignore[operator]


def test_annotation_search_value_is_never_an_atom() -> None:
    """RFC 5257 §5: the value is an nstring, so even a one-word value is quoted."""
    command = imap.Search((search.annotation("/comment", "value", "urgent"),), uid=False)
    assert wire(command) == b'A1 SEARCH ANNOTATION /comment value "urgent"\r\n'


def one_fetch(data: bytes) -> FetchData:
    (response,) = read_all([data])
    assert isinstance(response, FetchData), response
    return response


def test_fetch_annotation_values() -> None:
    """RFC 5257 §4.4's examples: values, NIL, several entries and attributes."""
    got = one_fetch(
        b'* 1 FETCH (ANNOTATION (/comment (value.priv "My comment" value.shared NIL)'
        b' /altsubject (value.priv "My subject" value.shared NIL)))\r\n'
    )
    assert got.annotations == {
        "/comment": {"value.priv": b"My comment", "value.shared": None},
        "/altsubject": {"value.priv": b"My subject", "value.shared": None},
    }
    got = one_fetch(
        b"* 12 FETCH (UID 1123 ANNOTATION (/vendor/foobar/personality (value.priv {17}\r\n"
        b'Tallulah Bankhead size.priv "17")))\r\n'
    )
    assert got.uid == 1123
    assert got.annotations == {
        "/vendor/foobar/personality": {"value.priv": b"Tallulah Bankhead", "size.priv": b"17"}
    }


def test_fetch_annotation_names_only() -> None:
    """RFC 5257 §4.3: after a STORE the server may name the changed entries only."""
    got = one_fetch(b"* 1 FETCH (UID 5 ANNOTATION (/comment /altsubject))\r\n")
    assert got.annotations == {"/comment": {}, "/altsubject": {}}


def test_fetch_preview_lazy_answer_nil() -> None:
    """RFC 8970 §3.1: with LAZY the server may answer NIL when no preview is at hand."""
    got = one_fetch(b"* 1 FETCH (UID 1 PREVIEW NIL)\r\n")
    assert got.preview is None
    assert one_fetch(b'* 2 FETCH (UID 2 PREVIEW "Hi there")\r\n').preview == "Hi there"


def test_selected_mailbox_keeps_the_annotations_limit() -> None:
    from tests.unit.imap_client.helpers import events, logged_in

    conn = logged_in()
    tag = conn.send(imap.Select("INBOX", annotate=True))
    conn.data_to_send()
    events(
        conn,
        b"* 8 EXISTS\r\n* OK [ANNOTATIONS 20480 NOPRIVATE] limits\r\n"
        + tag.encode()
        + b" OK [READ-WRITE] done\r\n",
    )
    assert conn.mailbox is not None
    assert conn.mailbox.annotations == "20480 NOPRIVATE"
