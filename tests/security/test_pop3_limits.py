"""POP3 against hostile servers and callers: security.md S18, S22-S24, S27, S32.

Memory is measured with ``tracemalloc`` around the client call (the server
thread's payload is built before tracing starts); times with the monotonic
clock.
"""

from __future__ import annotations

import hashlib
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailwire import (
    ConnectionLost,
    Limits,
    LineTooLong,
    LiteralTooLarge,
    RemoteProtocolError,
    Timeout,
    TooManyResponses,
)
from mailwire.transcript import Transcript
from tests.support.server import Peer
from tests.unit.pop3.helpers import FakePOP3, Sync, plain_client_args, stuff

MiB = 1024 * 1024
LOGIN = {
    "CAPA": b"+OK\r\nUSER\r\nTOP\r\nUIDL\r\n.\r\n",
    "USER": b"+OK\r\n",
    "PASS": b"+OK\r\n",
    "STAT": b"+OK 3 300\r\n",
    "QUIT": b"+OK\r\n",
}


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def session(kind: str) -> Iterator[Callable[..., Sync]]:
    made: list[Sync] = []

    def make(server: FakePOP3, **kwargs: Any) -> Sync:
        c = Sync(kind, **plain_client_args(server, **kwargs))
        made.append(c)
        return c

    yield make
    for c in made:
        c.shutdown()


def peak_during(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        call()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


# ---------------------------------------------------------------- S18


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda c: c.login("mrose\r\nDELE 1", "x"), "USER"),
        (lambda c: c.login("mrose", "x\r\nDELE 1"), "PASS"),
        (lambda c: c.login("mrose", "x\x00y"), "PASS"),
        (lambda c: c.apop("mrose\nRSET", "x"), "APOP"),
        (lambda c: c.apop("mrose", "x\rQUIT"), "APOP"),
    ],
)
def test_s18_controls_in_credentials_send_nothing(
    session: Callable[..., Sync], call: Callable[[Sync], object], what: str
) -> None:
    with FakePOP3(LOGIN) as server:
        c = session(server)
        c.connect()
        before = server.received
        with pytest.raises(ValueError, match=r"CR|LF|NUL"):
            call(c)
        c.login("mrose", "tanstaaf")  # the session is still usable
    assert server.received.startswith(before)
    assert b"DELE" not in server.received
    assert b"RSET" not in server.received
    assert server.verbs()[1:3] == ["USER", "PASS"]


def test_s18_bad_message_arguments_send_nothing(session: Callable[..., Sync]) -> None:
    with FakePOP3(LOGIN) as server:
        c = session(server)
        c.connect()
        c.login("mrose", "tanstaaf")
        count = len(server.lines)
        for call in (
            lambda: c.retrieve(0),
            lambda: c.top(1, -1),
            lambda: c.retrieve("1\r\nDELE 2"),
            lambda: c.delete(True),
            lambda: c.lang("en\r\nQUIT"),
        ):
            with pytest.raises(ValueError):
                call()
        assert len(server.lines) == count
        c.quit()


# ---------------------------------------------------------------- S22, S23


def test_s22_unbounded_greeting_line(session: Callable[..., Sync]) -> None:
    payload = b"+OK " + b"x" * (10 * MiB)

    def greet(peer: Peer) -> None:
        peer.send(payload)

    with FakePOP3({}, greeting=b"") as server:
        server.server.handler = greet
        c = session(server)
        errors: list[BaseException] = []

        def connect() -> None:
            try:
                c.connect()
            except LineTooLong as exc:
                errors.append(exc)

        peak = peak_during(connect)
    assert len(errors) == 1
    assert errors[0].limit == MiB  # type: ignore[attr-defined]
    assert peak < 2 * MiB + MiB
    assert not c.client._driver.is_open


def test_s23_endless_capa(session: Callable[..., Sync]) -> None:
    def greet(peer: Peer) -> None:
        peer.send(b"+OK ready\r\n")
        peer.recv_line()
        peer.send(b"+OK\r\n")
        try:
            while True:
                peer.send(b"X-FOREVER and ever\r\n" * 100)
        except OSError:
            return

    with FakePOP3({}) as server:
        server.server.handler = greet
        c = session(server)
        with pytest.raises(TooManyResponses):
            c.connect()


def test_s23_listing_past_the_drop_listing(session: Callable[..., Sync]) -> None:
    # A LIST that never ends: numbers past STAT's count are refused at once.
    def endless(server: FakePOP3, peer: Peer, line: bytes) -> None:
        peer.send(b"+OK\r\n")
        try:
            for n in range(1, 1_000_000):
                peer.send(b"%d 100\r\n" % n)
        except OSError:
            return

    with FakePOP3({**LOGIN, "LIST": endless}) as server:
        c = session(server)
        c.connect()
        c.login("mrose", "tanstaaf")
        with pytest.raises(RemoteProtocolError, match="message 4 does not exist"):
            c.list()


# ---------------------------------------------------------------- S24


def endless_body(server: FakePOP3, peer: Peer, line: bytes) -> None:
    # A body that claims to be huge and never ends.
    peer.send(b"+OK 9999999999 octets\r\n")
    chunk = b"y" * 1000 + b"\r\n"
    try:
        while True:
            peer.send(chunk * 64)
    except OSError:
        return


def test_s24_message_too_large_for_memory(session: Callable[..., Sync]) -> None:
    with FakePOP3({**LOGIN, "RETR": endless_body}) as server:
        # A transcript that keeps little, so the peak is the reader's own.
        transcript = Transcript(max_data_bytes=64 * 1024)
        c = session(server, limits=Limits(max_literal_size=4 * MiB), transcript=transcript)
        c.connect()
        c.login("mrose", "tanstaaf")
        errors: list[BaseException] = []

        def retrieve() -> None:
            try:
                c.retrieve(1)
            except LiteralTooLarge as exc:
                errors.append(exc)

        peak = peak_during(retrieve)
    assert len(errors) == 1
    assert "sink" in str(errors[0])
    assert peak < 4 * MiB + 2 * MiB  # the limit and a few chunks


def test_s24_cut_short_into_a_sink(session: Callable[..., Sync]) -> None:
    def short(server: FakePOP3, peer: Peer, line: bytes) -> None:
        peer.send(b"+OK 9999999999 octets\r\nSubject: x\r\n\r\nonly this")
        peer.close()

    with FakePOP3({**LOGIN, "RETR": short}) as server:
        c = session(server)
        c.connect()
        c.login("mrose", "tanstaaf")
        chunks: list[bytes] = []
        with pytest.raises(ConnectionLost, match="RETR"):
            c.retrieve(1, sink=chunks.append)
    # Exactly what arrived went to the sink, and the exception says it is not
    # the whole message.
    assert b"".join(chunks) == b"Subject: x\r\n\r\nonly this"


@pytest.mark.parametrize("listing", [b"1 99999999999999999999\r\n", b"1 -1\r\n", b"1 1e3\r\n"])
def test_s24_absurd_sizes_are_malformed(session: Callable[..., Sync], listing: bytes) -> None:
    with FakePOP3({**LOGIN, "LIST": b"+OK\r\n" + listing + b".\r\n"}) as server:
        c = session(server)
        c.connect()
        c.login("mrose", "tanstaaf")
        with pytest.raises(RemoteProtocolError, match="malformed scan listing"):
            c.list()


# ---------------------------------------------------------------- S27


def test_s27_slow_drip(session: Callable[..., Sync]) -> None:
    def drip(peer: Peer) -> None:
        try:
            for _ in range(100):
                peer.send(b"+")
                time.sleep(0.2)
        except OSError:
            return

    with FakePOP3({}) as server:
        server.server.handler = drip
        c = session(server, timeout=1, operation_timeout=2)
        started = time.monotonic()
        with pytest.raises(Timeout):
            c.connect()
        elapsed = time.monotonic() - started
    assert elapsed < 2.5


# ---------------------------------------------------------------- S32


def big_message(size: int) -> bytes:
    line = b".a line that starts with a dot, then some text to fill it up........\r\n"
    count = size // len(line)
    return b"Subject: big\r\n\r\n" + line * count


@pytest.mark.slow  # 200 MiB through a loopback socket under tracemalloc, twice
def test_s32_large_message_streams_with_bounded_memory(session: Callable[..., Sync]) -> None:
    message = big_message(200 * MiB)
    wire = b"+OK\r\n" + stuff(message) + b".\r\n"
    expected = hashlib.sha256(message).hexdigest()

    def retr(server: FakePOP3, peer: Peer, line: bytes) -> None:
        peer.send(wire)

    with FakePOP3({**LOGIN, "RETR": retr}) as server:
        server.server.io_timeout = 120  # tracing slows the reader: give the sender time
        c = session(server, timeout=120)
        c.connect()
        c.login("mrose", "tanstaaf")
        digest = hashlib.sha256()
        written: list[int] = []

        def retrieve() -> None:
            written.append(c.retrieve(1, sink=digest.update))

        peak = peak_during(retrieve)
        c.quit()
    assert written == [len(message)]
    assert digest.hexdigest() == expected
    assert peak < 16 * MiB
