"""A server's number set is a few bytes that can name four billion numbers.

``1:4294967295`` costs a server 12 bytes; expanded into a Python list it
would cost the client tens of gigabytes. The parser keeps sets as ranges
(``SequenceSet``); the client expands one into a list only where its API
returns a list (SEARCH answered with ESEARCH ALL, SORT, the UIDs of VANISHED
after FETCH, EXPUNGE and SELECT), and then at most
``Limits.max_held_responses`` numbers, the bound on one command's
responses. STORE's ``[MODIFIED ...]`` set stays a set, and APPENDUID must
name one UID per message appended (RFC 4315 §3) or none is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mailwire import Limits, TooManyResponses
from mailwire.imap import SequenceSet
from tests.unit.imap_client.helpers import Both, Script

CAPS = b"IMAP4rev1 ESEARCH SORT CONDSTORE QRESYNC UIDPLUS ENABLE"
GREETING = b"* OK [CAPABILITY " + CAPS + b"] ready\r\n"
LOGIN = (b"A1 LOGIN u p\r\n", b"A1 OK [CAPABILITY " + CAPS + b"] in\r\n")
SELECT = (b"A2 SELECT INBOX\r\n", b"* 9 EXISTS\r\nA2 OK [READ-WRITE] done\r\n")
HUGE = b"1:4294967295"


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_sequence_set_count_needs_no_expansion() -> None:
    assert SequenceSet.parse(HUGE).count() == 4294967295
    assert SequenceSet.parse("7,9:5,3").count() == 1 + 5 + 1
    assert SequenceSet.parse("1:*").count() is None


def _session(
    kind: str, steps: list[tuple[bytes, bytes]], body: Callable[[Any], None], **kwargs: Any
) -> None:
    with Script(GREETING, [LOGIN, *steps]) as script:
        c = Both(kind, script.port, **kwargs)
        try:
            c.connect()
            c.login("u", "p")
            body(c)
        finally:
            c.close()
    assert script.errors == []


def test_esearch_all_is_expanded_within_the_limit(kind: str) -> None:
    small = Limits(max_held_responses=1000)
    steps = [
        SELECT,
        (b"A3 UID SEARCH SEEN\r\n", b'* ESEARCH (TAG "A3") UID ALL 4:6,1\r\nA3 OK done\r\n'),
        (
            b"A4 UID SEARCH SEEN\r\n",
            b'* ESEARCH (TAG "A4") UID ALL ' + HUGE + b"\r\nA4 OK done\r\n",
        ),
    ]

    def body(c: Any) -> None:
        c.select("INBOX")
        assert c.search("SEEN") == [4, 5, 6, 1]
        with pytest.raises(TooManyResponses, match="ESEARCH ALL names 4294967295 numbers"):
            c.search("SEEN")

    _session(kind, steps, body, limits=small)


def test_sort_answered_with_esearch_all_is_bounded(kind: str) -> None:
    steps = [
        SELECT,
        (
            b"A3 UID SORT (DATE) UTF-8 ALL\r\n",
            b'* ESEARCH (TAG "A3") UID ALL ' + HUGE + b"\r\nA3 OK done\r\n",
        ),
    ]

    def body(c: Any) -> None:
        c.select("INBOX")
        with pytest.raises(TooManyResponses):
            c.sort(["DATE"])

    _session(kind, steps, body)


def test_vanished_after_uid_expunge_is_bounded(kind: str) -> None:
    steps = [
        (b"A2 ENABLE QRESYNC\r\n", b"* ENABLED QRESYNC\r\nA2 OK done\r\n"),
        (b"A3 SELECT INBOX\r\n", b"* 9 EXISTS\r\nA3 OK [READ-WRITE] done\r\n"),
        (b"A4 UID EXPUNGE 3:5\r\n", b"* VANISHED 3:5\r\nA4 OK done\r\n"),
        (b"A5 UID EXPUNGE 1:*\r\n", b"* VANISHED " + HUGE + b"\r\nA5 OK done\r\n"),
    ]

    def body(c: Any) -> None:
        c.enable("QRESYNC")
        c.select("INBOX")
        assert c.expunge("3:5") == [3, 4, 5]
        with pytest.raises(TooManyResponses, match="VANISHED names 4294967295"):
            c.expunge("1:*")

    _session(kind, steps, body)


def test_conditional_store_keeps_the_modified_set(kind: str) -> None:
    # RFC 7162 section 3.1.3, example 6 (flags per the RFC; tags ours).
    steps = [
        SELECT,
        (
            b"A3 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n",
            b"* 5 FETCH (MODSEQ (320162350))\r\nA3 OK [MODIFIED 7,9] Conditional STORE failed\r\n",
        ),
        (
            b"A4 STORE 1 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Deleted)\r\n",
            b"A4 OK [MODIFIED " + HUGE + b"] Conditional STORE failed\r\n",
        ),
        (b"A5 STORE 1 +FLAGS.SILENT (\\Seen)\r\n", b"A5 OK done\r\n"),
    ]

    def body(c: Any) -> None:
        c.select("INBOX")
        result = c.store("7,5,9", ["\\Deleted"], silent=True, uid=False, unchangedsince=320162338)
        assert list(result) == [5]
        assert result.modified == SequenceSet.parse("7,9")
        assert 9 in result.modified
        assert 5 not in result.modified
        huge = c.store("1", ["\\Deleted"], silent=True, uid=False, unchangedsince=5)
        assert huge.modified.count() == 4294967295  # kept as a range, never expanded
        assert c.store("1", ["\\Seen"], silent=True, uid=False).modified is None

    _session(kind, steps, body)


def test_appenduid_must_name_one_uid_per_message(kind: str) -> None:
    message = b"Subject: x\r\n\r\nx\r\n"
    literal = b"{%d}\r\n" % len(message)
    steps = [
        (b"A2 APPEND INBOX " + literal, b"+ go\r\n"),
        (message + b"\r\n", b"A2 OK [APPENDUID 38505 3955] APPEND completed\r\n"),
        (b"A3 APPEND INBOX " + literal, b"+ go\r\n"),
        (message + b"\r\n", b"A3 OK [APPENDUID 38505 " + HUGE + b"] APPEND completed\r\n"),
    ]

    def body(c: Any) -> None:
        first = c.append("INBOX", message)
        assert (first.uidvalidity, first.uids) == (38505, (3955,))
        second = c.append("INBOX", message)
        assert (second.uidvalidity, second.uids) == (38505, ())

    _session(kind, steps, body)
