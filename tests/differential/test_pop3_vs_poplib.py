"""Differential: mailwire and poplib read the same Dovecot mailbox.

The mailbox holds messages chosen to exercise the framing: lines that must be
dot-stuffed (``.``, ``..``, ``.x``), 8-bit text, long lines, an empty body, a
header only, a 1 MB body. Through both clients, on the same server: STAT,
LIST, UIDL, every RETR and TOP with 0 and 3 lines must agree, message for
message and byte for byte. poplib returns lines without their CRLF; joined
back with CRLF they are the message as sent.

poplib reads at most 2048 bytes a line (``poplib._MAXLINE``); the lines here
stay below that, and patching the constant is not done.
"""

from __future__ import annotations

import poplib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.lab import DovecotLab
from tests.lab.accounts import ALICE
from tests.unit.pop3.helpers import Sync


def variety() -> list[bytes]:
    def message(subject: str, body: bytes, **headers: str) -> bytes:
        head = (
            f"From: seed@example.test\r\nTo: {ALICE.address}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@pop3-differential.test>\r\n"
        )
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return head.encode() + b"\r\n" + body

    stuffed = b"".join(
        line + b"\r\n" for line in (b".", b"..", b"...", b".x", b"x.", b". ", b"", b".\t")
    )
    eight_bit = "Grüße, naïve café — ∑ 日本語\r\n".encode() * 20
    long_lines = (b"L" * 1990 + b"\r\n") * 30 + (b"." + b"d" * 1900 + b"\r\n") * 30
    big = b"".join(b".%07d %s\r\n" % (n, b"q" * 60) for n in range(15_000))  # about 1 MB
    return [
        message("dots", stuffed),
        message("8bit", eight_bit, **{"Content-Type": "text/plain; charset=utf-8"}),
        message("long", long_lines),
        message("empty body", b""),
        message("one line", b"no final line end"),
        message("big", big),
        message("headers", b"\r\n\r\n\r\n.\r\n"),
    ]


@pytest.fixture
def seeded(dovecot_lab: DovecotLab) -> Iterator[int]:
    dovecot_lab.purge(ALICE)
    messages = variety()
    for data in messages:
        dovecot_lab.seed(data, ALICE)
    for data in messages:
        marker = data.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0]
        dovecot_lab.wait_for_message(ALICE, marker)
    yield len(messages)
    dovecot_lab.purge(ALICE)


def through_poplib(lab: DovecotLab) -> dict[str, Any]:
    pop = poplib.POP3_SSL(lab.host, lab.pop3s_port, context=lab.client_context(), timeout=30)
    try:
        pop.user(ALICE.name)
        pop.pass_(ALICE.password)
        count, octets = pop.stat()

        def joined(lines: list[bytes]) -> bytes:
            return b"".join(line + b"\r\n" for line in lines)

        sizes = {}
        for entry in pop.list()[1]:
            number, size = entry.split()
            sizes[int(number)] = int(size)
        uids = {}
        for entry in pop.uidl()[1]:
            number, uid = entry.split()
            uids[int(number)] = uid.decode()
        numbers = range(1, count + 1)
        return {
            "stat": (count, octets),
            "list": sizes,
            "list1": int(pop.list(1).split()[2]),
            "uidl": uids,
            "retr": {n: joined(pop.retr(n)[1]) for n in numbers},
            "top0": {n: joined(pop.top(n, 0)[1]) for n in numbers},
            "top3": {n: joined(pop.top(n, 3)[1]) for n in numbers},
        }
    finally:
        pop.quit()


def through_mailwire(lab: DovecotLab, kind: str) -> dict[str, Any]:
    with Sync(kind, lab.host, lab.pop3s_port, ssl_context=lab.client_context()) as c:
        c.login(ALICE.name, ALICE.password, mechanisms=["USER"])
        count, octets = c.stat()
        numbers = range(1, count + 1)
        return {
            "stat": (count, octets),
            "list": c.list(),
            "list1": c.list(1),
            "uidl": c.uidl(),
            "retr": {n: c.retrieve(n) for n in numbers},
            "top0": {n: c.top(n, 0) for n in numbers},
            "top3": {n: c.top(n, 3) for n in numbers},
        }


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
def test_same_mailbox_same_bytes(kind: str, dovecot_lab: DovecotLab, seeded: int) -> None:
    theirs = through_poplib(dovecot_lab)
    ours = through_mailwire(dovecot_lab, kind)
    assert ours["stat"] == theirs["stat"]
    assert ours["stat"][0] == seeded
    for key in ("list", "list1", "uidl"):
        assert ours[key] == theirs[key], key
    for key in ("retr", "top0", "top3"):
        assert sorted(ours[key]) == sorted(theirs[key])
        for number in ours[key]:
            assert ours[key][number] == theirs[key][number], (key, number)
    # The comparison means something: the framing-sensitive lines are there.
    dots = next(m for m in ours["retr"].values() if b"Subject: dots" in m)
    assert b"\r\n.\r\n..\r\n...\r\n.x\r\n" in dots
    assert max(len(m) for m in ours["retr"].values()) > 1_000_000
