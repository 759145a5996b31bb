"""mailwire's IMAP client and the standard library's imaplib, side by side on Dovecot.

The same operations go through both clients against the same mailbox, and
the results must agree: mailbox listings, message counts, SEARCH results,
FETCH bodies byte for byte, flags, sizes, internal dates and STATUS. imaplib
hands out raw response lines; they are read here with a few lines of regular
expressions (not with mailwire's parser) so that the comparison is between
two independent readings of the server's answers.
"""

from __future__ import annotations

import email.utils
import imaplib
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from mailwire.imap.client import Client
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE


@pytest.fixture
def box(dovecot_lab: DovecotLab) -> Iterator[tuple[str, list[bytes]]]:
    name = f"diff-{uuid.uuid4().hex[:10]}"
    messages = []
    with Client(
        dovecot_lab.host, dovecot_lab.imaps_port, ssl_context=dovecot_lab.client_context()
    ) as c:
        c.login(ALICE.name, ALICE.password)
        c.create(name)
        for i in range(5):
            data = (
                f"From: sender{i}@example.test\r\nTo: alice@example.test\r\n"
                f"Subject: diff {i} {'even' if i % 2 == 0 else 'odd'}\r\n"
                f"Message-ID: <{uuid.uuid4().hex}@diff.test>\r\n\r\nbody {i}\r\n"
                + "x" * (100 * i)
                + "\r\n"
            ).encode()
            flags = ["\\Flagged"] if i % 2 else []
            c.append(name, data, flags=flags, date=datetime(2026, 1, i + 1, 12, tzinfo=UTC))
            messages.append(data)
    yield name, messages
    with Client(
        dovecot_lab.host, dovecot_lab.imaps_port, ssl_context=dovecot_lab.client_context()
    ) as c:
        c.login(ALICE.name, ALICE.password)
        c.delete(name)


def stdlib(lab: DovecotLab) -> imaplib.IMAP4_SSL:
    conn = imaplib.IMAP4_SSL(lab.host, lab.imaps_port, ssl_context=lab.client_context())
    conn.login(ALICE.name, ALICE.password)
    return conn


def ours(lab: DovecotLab) -> Client:
    client = Client(lab.host, lab.imaps_port, ssl_context=lab.client_context())
    client.connect()
    client.login(ALICE.name, ALICE.password)
    return client


def test_list_and_status(dovecot_lab: DovecotLab, box: tuple[str, list[bytes]]) -> None:
    name, messages = box
    ref = stdlib(dovecot_lab)
    mine = ours(dovecot_lab)
    try:
        typ, lines = ref.list()
        assert typ == "OK"
        theirs = set()
        for line in lines:
            assert isinstance(line, bytes)
            match = re.match(rb'\((.*?)\) (?:"(.)"|NIL) (.*)', line)
            assert match is not None
            raw = match[3]
            theirs.add(raw.strip(b'"').decode())
        assert {m.name for m in mine.list()} == theirs
        typ, data = ref.status(name, "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
        fields = dict(re.findall(rb"([A-Z]+) (\d+)", data[0] or b""))
        status = mine.status(name)
        assert status.messages == int(fields[b"MESSAGES"]) == len(messages)
        assert status.uidnext == int(fields[b"UIDNEXT"])
        assert status.uidvalidity == int(fields[b"UIDVALIDITY"])
        assert status.unseen == int(fields[b"UNSEEN"])
    finally:
        ref.logout()
        mine.logout()


def test_select_search_fetch(dovecot_lab: DovecotLab, box: tuple[str, list[bytes]]) -> None:
    name, messages = box
    ref = stdlib(dovecot_lab)
    mine = ours(dovecot_lab)
    try:
        typ, data = ref.select(name, readonly=True)
        assert typ == "OK"
        opened = mine.examine(name)
        assert opened.exists == int(data[0] or b"0") == len(messages)
        for criteria in (("ALL",), ("FLAGGED",), ("SUBJECT", "even"), ("FROM", "sender3")):
            typ, found = ref.uid("SEARCH", *criteria)
            theirs = [int(n) for n in (found[0] or b"").split()]
            assert mine.search(*criteria) == theirs, criteria
        typ, fetched = ref.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])")
        assert typ == "OK"
        mine_all = mine.fetch("1:*", ["FLAGS", "RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[]"])
        count = 0
        for item in fetched:
            if not isinstance(item, tuple):
                continue
            head, body = item
            uid = int(re.search(rb"UID (\d+)", head)[1])  # type: ignore[index]
            size = int(re.search(rb"RFC822\.SIZE (\d+)", head)[1])  # type: ignore[index]
            flags = set(re.search(rb"FLAGS \(([^)]*)\)", head)[1].decode().split())  # type: ignore[index]
            date = imaplib.Internaldate2tuple(head)
            entry = mine_all[uid]
            assert entry.sections["BODY[]"] == body
            assert entry.size == size == len(body)
            assert set(entry.flags or ()) == flags
            assert entry.internaldate is not None
            assert date is not None
            assert entry.internaldate.timestamp() == email.utils.mktime_tz((*date[:9], 0))
            count += 1
        assert count == len(messages) == len(mine_all)
        assert sorted(entry.sections["BODY[]"] for entry in mine_all.values()) == sorted(messages)
    finally:
        ref.logout()
        mine.logout()


def test_store_seen_by_the_other(dovecot_lab: DovecotLab, box: tuple[str, list[bytes]]) -> None:
    name, _ = box
    ref = stdlib(dovecot_lab)
    mine = ours(dovecot_lab)
    try:
        mine.select(name)
        uid = mine.search("ALL")[0]
        mine.store(uid, ["$Diff"])
        ref.select(name, readonly=True)
        _typ, data = ref.uid("FETCH", str(uid), "(FLAGS)")
        assert b"$Diff" in (data[0] or b"")
        _typ, found = ref.uid("SEARCH", "KEYWORD", "$Diff")
        assert [int(n) for n in (found[0] or b"").split()] == mine.search("KEYWORD", "$Diff")
    finally:
        ref.logout()
        mine.logout()
