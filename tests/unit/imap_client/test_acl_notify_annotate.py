"""ACL, NOTIFY, ANNOTATE, ESORT and FETCH PARTIAL through both clients, against scripted servers.

Each server answers with the RFC's own example responses (RFC 4314 §3,
RFC 5465 §5-6, RFC 5257 §4, RFC 5267 §3.3, RFC 9394 §3.3); the client bytes
it expects are those examples' commands with our tags. Dovecot (tests/
interop) covers ACL and NOTIFY against a real server; ANNOTATE, ESORT and
PARTIAL are not offered there.
"""

from __future__ import annotations

import pytest

from mailwire import IMAPStatusError, NotSupportedError
from mailwire.imap import ListRightsData, NotifyGroup, SequenceSet, StatusData
from mailwire.imap.events import Exists, ListData
from tests.unit.imap_client.helpers import Both, Script

CAPS = b"IMAP4rev1 IDLE ACL NOTIFY ANNOTATE-EXPERIMENT-1 ESORT PARTIAL CONDSTORE SORT ESEARCH"
GREETING = b"* OK [CAPABILITY " + CAPS + b"] ready\r\n"
LOGIN = (b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY " + CAPS + b"] in\r\n")
SELECT = (
    b"A2 SELECT INBOX (ANNOTATE)\r\n",
    b"* 8 EXISTS\r\n* OK [UIDVALIDITY 3] ok\r\n* OK [ANNOTATIONS 20480 NOPRIVATE] ok\r\n"
    b"A2 OK [READ-WRITE] done\r\n",
)


def test_acl_commands(kind: str) -> None:
    steps = [
        LOGIN,
        (
            b"A2 GETACL INBOX\r\n",
            b"* ACL INBOX Fred rwipslxetad -Fred wetd $team w\r\nA2 OK Getacl complete\r\n",
        ),
        (b"A3 SETACL INBOX/Drafts Chris +cda\r\n", b"A3 OK Setacl complete\r\n"),
        (b"A4 DELETEACL INBOX Fred\r\n", b"A4 OK Deleteacl complete\r\n"),
        (
            b"A5 LISTRIGHTS archive/imap anyone\r\n",
            b'* LISTRIGHTS archive/imap anyone "" lr s w i p k x t c d\r\nA5 OK done\r\n',
        ),
        (b"A6 MYRIGHTS INBOX\r\n", b"* MYRIGHTS INBOX rwiptsldaex\r\nA6 OK done\r\n"),
        (b"A7 MYRIGHTS Secret\r\n", b"A7 NO [NOPERM] no such rights\r\n"),
    ]
    with Script(GREETING, steps) as script:
        c = Both(kind, script.port)
        try:
            c.connect()
            c.login("u", "p")
            assert c.get_acl("INBOX") == {"Fred": "rwipslxetad", "-Fred": "wetd", "$team": "w"}
            c.set_acl("INBOX/Drafts", "Chris", "+cda")
            c.delete_acl("INBOX", "Fred")
            rights = c.list_rights("archive/imap", "anyone")
            assert rights == ListRightsData(
                "archive/imap", "anyone", "", ("lr", "s", "w", "i", "p", "k", "x", "t", "c", "d")
            )
            assert c.my_rights("INBOX") == "rwiptsldaex"
            with pytest.raises(IMAPStatusError) as info:
                c.my_rights("Secret")
            assert info.value.code == "NOPERM"
            with pytest.raises(ValueError, match="lower-case"):
                c.set_acl("INBOX", "John", "lrQswicda")  # RFC 4314 §3.1's example
        finally:
            c.close()
    assert script.errors == []


def test_acl_and_notify_need_their_capabilities(kind: str) -> None:
    steps = [(b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY IMAP4rev1] in\r\n")]
    with Script(b"* OK [CAPABILITY IMAP4rev1] ready\r\n", steps) as script:
        c = Both(kind, script.port)
        try:
            c.connect()
            c.login("u", "p")
            for call in (
                lambda: c.get_acl("INBOX"),
                lambda: c.my_rights("INBOX"),
                lambda: c.notify(),
                lambda: c.select("INBOX", annotate=True),
                lambda: c.esort(["DATE"]),
                lambda: c.fetch("1:*", ["UID"], partial="1:5"),
            ):
                with pytest.raises(NotSupportedError):
                    call()
        finally:
            c.close()
    assert script.errors == []


def test_notify_set_status_then_events(kind: str) -> None:
    """RFC 5465 §3.1: STATUS answers come with the command; later events are unsolicited."""
    events: list[object] = []
    steps = [
        LOGIN,
        (
            b"A2 NOTIFY SET STATUS (SELECTED (MessageNew (UID FLAGS) MessageExpunge))"
            b" (SUBTREE Lists (MessageNew MessageExpunge MailboxName))\r\n",
            b"* STATUS Lists/imap (UIDVALIDITY 4 UIDNEXT 9999 MESSAGES 500)\r\n"
            b"* STATUS Lists/ietf (UIDVALIDITY 5 UIDNEXT 2 MESSAGES 1)\r\n"
            b"A2 OK done\r\n",
        ),
        (
            b"A3 NOOP\r\n",
            b"* STATUS Lists/imap (UIDVALIDITY 4 UIDNEXT 10000 MESSAGES 501)\r\n"
            b'* LIST () "/" Lists/new\r\nA3 OK done\r\n',
        ),
        (b"A4 NOTIFY NONE\r\n", b"A4 OK done\r\n"),
    ]
    with Script(GREETING, steps) as script:
        c = Both(kind, script.port, on_event=events.append)
        try:
            c.connect()
            c.login("u", "p")
            statuses = c.notify(
                NotifyGroup(
                    "selected", events=["MessageNew", "MessageExpunge"], fetch=["UID", "FLAGS"]
                ),
                NotifyGroup("subtree", ["Lists"], ["MessageNew", "MessageExpunge", "MailboxName"]),
                status=True,
            )
            assert [(s.mailbox, s.items["UIDNEXT"]) for s in statuses] == [
                ("Lists/imap", 9999),
                ("Lists/ietf", 2),
            ]
            assert events == []
            c.noop()
            assert [type(e) for e in events] == [StatusData, ListData]
            assert isinstance(events[0], StatusData)
            assert events[0].items["MESSAGES"] == 501
            assert c.notify() == []
        finally:
            c.close()
    assert script.errors == []


def test_annotate_select_fetch_store_search_sort(kind: str) -> None:
    steps = [
        LOGIN,
        SELECT,
        (
            b"A3 FETCH 1 (ANNOTATION (/comment value))\r\n",
            b'* 1 FETCH (ANNOTATION (/comment (value.priv "My comment" value.shared NIL)))\r\n'
            b"A3 OK Fetch complete\r\n",
        ),
        (
            b'A4 STORE 1 ANNOTATION (/comment (value.priv "My new comment"))\r\n',
            b"* 1 FETCH (ANNOTATION (/comment))\r\nA4 OK Store complete\r\n",
        ),
        (
            b'A5 STORE 1 ANNOTATION (/comment (value.priv "x"))\r\n',
            b"A5 NO [ANNOTATE TOOBIG] Annotation too big\r\n",
        ),
        (
            b'A6 UID SEARCH ANNOTATION /comment value "chowder"\r\n',
            b"* SEARCH 4 7\r\nA6 OK done\r\n",
        ),
        (
            b"A7 UID SORT RETURN (ALL COUNT) (REVERSE ANNOTATION /altsubject value.shared)"
            b" UTF-8 ALL\r\n",
            b'* ESEARCH (TAG "A7") UID ALL 23765,23764,23763,23761 COUNT 4\r\nA7 OK done\r\n',
        ),
    ]
    from mailwire.imap import annotation_item, search

    with Script(GREETING, steps) as script:
        c = Both(kind, script.port)
        try:
            c.connect()
            c.login("u", "p")
            opened = c.select("INBOX", annotate=True)
            assert opened.mailbox.annotations == "20480 NOPRIVATE"
            got = c.fetch(1, [annotation_item("/comment", "value")], uid=False)
            assert got[1].annotations == {
                "/comment": {"value.priv": b"My comment", "value.shared": None}
            }
            stored = c.store_annotations(
                1, {"/comment": {"value.priv": "My new comment"}}, uid=False
            )
            assert stored[1].annotations == {"/comment": {}}
            with pytest.raises(IMAPStatusError) as info:
                c.store_annotations(1, {"/comment": {"value.priv": "x"}}, uid=False)
            assert info.value.code == "ANNOTATE"
            assert c.search(search.annotation("/comment", "value", "chowder")) == [4, 7]
            sorted_ = c.esort(
                ["REVERSE", "ANNOTATION", "/altsubject", "value.shared"],
                returns=["ALL", "COUNT"],
            )
            # RFC 5267 §3.3: ALL keeps the sort order, ranges ascend (§3.2).
            assert list(sorted_.all or ()) == [23765, 23764, 23763, 23761]
            assert sorted_.count == 4
        finally:
            c.close()
    assert script.errors == []


def test_annotations_size_that_is_not_ascii_digits_sets_no_limit(kind: str) -> None:
    # "\u00b2" passes str.isdigit() but not int(); it used to raise ValueError
    # from store_annotations. A size that is no number is no limit.
    steps = [
        LOGIN,
        (
            b"A2 SELECT INBOX (ANNOTATE)\r\n",
            b"* 8 EXISTS\r\n* OK [ANNOTATIONS \xc2\xb2 NOPRIVATE] ok\r\n"
            b"A2 OK [READ-WRITE] done\r\n",
        ),
        (
            b'A3 STORE 1 ANNOTATION (/comment (value.priv "My new comment"))\r\n',
            b"* 1 FETCH (ANNOTATION (/comment))\r\nA3 OK Store complete\r\n",
        ),
    ]
    with Script(GREETING, steps) as script:
        c = Both(kind, script.port)
        try:
            c.connect()
            c.login("u", "p")
            assert c.select("INBOX", annotate=True).mailbox.annotations == "\u00b2 NOPRIVATE"
            stored = c.store_annotations(
                1, {"/comment": {"value.priv": "My new comment"}}, uid=False
            )
            assert stored[1].annotations == {"/comment": {}}
        finally:
            c.close()
    assert script.errors == []


def test_fetch_partial_and_esort_partial(kind: str) -> None:
    """RFC 9394 §3.3's UID FETCH example, and a PARTIAL page of an extended SORT."""
    steps = [
        LOGIN,
        (b"A2 SELECT INBOX\r\n", b"* 13000 EXISTS\r\nA2 OK [READ-WRITE] done\r\n"),
        (
            b"A3 UID FETCH 25900:26600 (UID FLAGS) (PARTIAL -1:-3)\r\n",
            b"* 12888 FETCH (FLAGS (\\Seen) UID 25996)\r\n"
            b"* 12889 FETCH (FLAGS (\\Flagged \\Answered) UID 25997)\r\n"
            b"* 12890 FETCH (FLAGS () UID 26600)\r\n"
            b"A3 OK FETCH completed\r\n",
        ),
        (
            b"A4 UID SORT RETURN (PARTIAL 1:5) (REVERSE DATE) UTF-8 UNDELETED\r\n",
            b'* ESEARCH (TAG "A4") UID PARTIAL (1:5 200,198,190:191,187)\r\nA4 OK done\r\n',
        ),
    ]
    with Script(GREETING, steps) as script:
        c = Both(kind, script.port)
        try:
            c.connect()
            c.login("u", "p")
            c.select("INBOX")
            got = c.fetch("25900:26600", ["UID", "FLAGS"], partial="-1:-3")
            assert sorted(got) == [25996, 25997, 26600]
            assert got[25997].flags == ("\\Flagged", "\\Answered")
            page = c.esort(["REVERSE", "DATE"], "UNDELETED", returns=["PARTIAL", "1:5"])
            assert page.partial == ("1:5", SequenceSet.parse("200,198,190:191,187"))
        finally:
            c.close()
    assert script.errors == []


def test_notify_events_while_idle(kind: str) -> None:
    """RFC 5465 §5.1: events for other mailboxes arrive during IDLE like any update."""
    steps = [
        LOGIN,
        (
            b"A2 NOTIFY SET (INBOXES (MessageNew MessageExpunge))\r\n",
            b"A2 OK done\r\n",
        ),
        (
            b"A3 IDLE\r\n",
            b"+ idling\r\n* STATUS INBOX (MESSAGES 3 UIDNEXT 4)\r\n* 1 EXISTS\r\n",
        ),
        (b"DONE\r\n", b"A3 OK Idle completed\r\n"),
    ]
    with Script(GREETING, steps) as script:
        c = Both(kind, script.port)
        try:
            c.connect()
            c.login("u", "p")
            c.notify(NotifyGroup("inboxes", events=["MessageNew", "MessageExpunge"]))
            seen: list[object] = []
            if kind == "blocking":
                with c.client.idle(timeout=5) as session:
                    for event in session:
                        seen.append(event)
                        if len(seen) == 2:
                            break
            else:

                async def run() -> None:
                    async with c.client.idle(timeout=5) as session:
                        async for event in session:
                            seen.append(event)
                            if len(seen) == 2:
                                break

                assert c.runner is not None
                c.runner.run(run())
            assert isinstance(seen[0], StatusData)
            assert isinstance(seen[1], Exists)
        finally:
            c.close()
    assert script.errors == []


def test_annotations_none_refuses_every_annotation_command(kind: str) -> None:
    """RFC 5257 §4.1: after ANNOTATIONS NONE no command of the mailbox uses annotations.

    FETCH, STORE, SEARCH and SORT by annotation are refused before anything
    is written; a SEARCH without one still goes.
    """
    from mailwire.imap import annotation_item, search

    steps = [
        LOGIN,
        (
            b"A2 SELECT INBOX (ANNOTATE)\r\n",
            b"* 1 EXISTS\r\n* OK [ANNOTATIONS NONE] none here\r\nA2 OK [READ-WRITE] done\r\n",
        ),
        (b"A3 UID SEARCH SEEN\r\n", b"* SEARCH 1\r\nA3 OK done\r\n"),
    ]
    with Script(GREETING, steps) as script:
        c = Both(kind, script.port)
        try:
            c.connect()
            c.login("u", "p")
            c.select("INBOX", annotate=True)
            refused = [
                lambda: c.fetch(1, [annotation_item("/comment", "value")]),
                lambda: c.store_annotations(1, {"/comment": {"value.shared": "x"}}),
                lambda: c.search(search.annotation("/comment", "value", "x")),
                lambda: c.search("NOT", ["ANNOTATION", "/comment", "value", "x"]),
                lambda: c.esearch(search.annotation("/comment", "value", "x")),
                lambda: c.sort(["ANNOTATION", "/altsubject", "value.shared"]),
                lambda: c.esort(["ANNOTATION", "/altsubject", "value.shared"], returns=[]),
            ]
            for call in refused:
                with pytest.raises(NotSupportedError, match="ANNOTATIONS NONE"):
                    call()
            assert c.search("SEEN") == [1]
        finally:
            c.close()
    assert script.errors == []
    assert b"ANNOTATION " not in script.server.received
