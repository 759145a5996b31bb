"""A hostile or broken server cannot make the client hold or wait without end:
security.md S22 (unbounded line), S23 (endless reply), S26 (endless AUTH
challenges), S27 (slow drip).

Memory is measured with tracemalloc (security.md §0); nothing here asserts a
duration. S27 proves the operation deadline fired by making the per-read
timeout impossible to reach: the server drips faster than it.
"""

from __future__ import annotations

import base64
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from mailwire import (
    AuthenticationError,
    Limits,
    LineTooLong,
    ProtocolError,
    RemoteProtocolError,
    Timeout,
    TooManyResponses,
)
from tests.security.smtp_support import FakeSMTP, fake_smtp, kind, plain_client
from tests.support.server import Peer

__all__ = ["kind"]

MiB = 1024 * 1024
LIMIT = Limits().max_reply_line_length
EHLO_AUTH = b"250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n"


def flood(first: bytes, unit: bytes, total: int) -> Callable[[Peer], None]:
    """Send ``first`` (in its own segment) then ``unit`` until ``total`` bytes or a close."""

    def send(peer: Peer) -> None:
        peer.send(first)
        block = unit * max(1, 65536 // len(unit))
        sent = len(first)
        try:
            while sent < total:
                peer.send(block)
                sent += len(block)
        except OSError:
            peer.closed_by_client = True  # type: ignore[attr-defined]
            return
        peer.recv_until_eof()  # hold the connection open

    return send


def measured(action: Callable[[], Any]) -> tuple[BaseException | None, int]:
    """Run ``action``; return what it raised and the tracemalloc peak meanwhile."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    caught: BaseException | None = None
    try:
        action()
    except Exception as exc:
        caught = exc
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return caught, peak


# ---------------------------------------------------------------------- S22


@pytest.mark.parametrize("limit", [LIMIT, 1024])
def test_s22_endless_greeting_line(kind: str, limit: int) -> None:
    """S22: 10 MiB without CRLF: LineTooLong having read at most limit+1 bytes."""
    greeting = flood(b"220 " + b"x" * 60_000, b"x", 10 * MiB)
    with fake_smtp(greeting=greeting) as srv:
        c = plain_client(kind, srv, limits=Limits(max_reply_line_length=limit))
        with c:
            caught, peak = measured(c.connect)
            read = len(c.client.transcript.server_bytes())
        assert srv.done.wait(5)
    assert isinstance(caught, LineTooLong), caught
    assert caught.limit == limit
    assert read <= limit + 1
    assert peak < 2 * limit + MiB
    assert getattr(srv.server.peers[0], "closed_by_client", False)  # the socket was closed


def test_s22_endless_line_inside_a_multiline_reply(kind: str) -> None:
    """S22 after a first good line: the bound is per line, the session ends."""

    def ehlo(_srv: FakeSMTP, peer: Peer, _line: bytes) -> None:
        flood(b"250-mx.test\r\n250-" + b"y" * 60_000, b"y", 10 * MiB)(peer)

    with fake_smtp({"EHLO": ehlo}) as srv, plain_client(kind, srv) as c:
        caught, peak = measured(c.connect)
    assert isinstance(caught, LineTooLong)
    assert peak < 2 * LIMIT + MiB


# ---------------------------------------------------------------------- S23


@pytest.mark.parametrize(
    ("where", "first", "unit"),
    [
        ("greeting", b"220-mx.test\r\n", b"220-x\r\n"),
        ("EHLO", b"250-mx.test\r\n", b"250-x\r\n"),
        ("EHLO", b"250-mx.test\r\n", b"250-" + b"z" * 2000 + b"\r\n"),  # few lines, many bytes
        ("NOOP", b"250-ok\r\n", b"250-still going\r\n"),
    ],
    ids=["greeting", "ehlo-lines", "ehlo-bytes", "noop"],
)
def test_s23_endless_multiline_reply(kind: str, where: str, first: bytes, unit: bytes) -> None:
    """S23: ``250-x`` for ever ends in TooManyResponses at the line or byte cap."""
    endless = flood(first, unit, 50 * MiB)
    replies: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    if where == "greeting":
        kwargs["greeting"] = endless
    else:
        replies[where] = lambda _srv, peer, _line: endless(peer)
    with fake_smtp(replies, **kwargs) as srv, plain_client(kind, srv) as c:
        if where == "NOOP":
            c.connect()
            caught, peak = measured(c.noop)
        else:
            caught, peak = measured(c.connect)
        read = len(c.client.transcript.server_bytes())
    assert isinstance(caught, TooManyResponses), caught
    limits = Limits()
    # What was read is about one reply's cap plus one read, not 50 MiB.
    assert read <= limits.max_reply_bytes + limits.chunk_size + LIMIT
    assert peak < 2 * MiB


# ---------------------------------------------------------------------- S26


def endless_challenges(
    challenge: bytes = b"334 \r\n", cancel: bytes = b"501 5.7.0 ok\r\n"
) -> dict[str, Any]:
    return {"AUTH": challenge, "AUTH-RESPONSE": challenge, "*": cancel}


def auth_lines(srv: FakeSMTP) -> list[bytes]:
    """The client's lines from AUTH on."""
    lines = srv.commands
    start = next(i for i, line in enumerate(lines) if line.startswith(b"AUTH"))
    return lines[start:]


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize(
    "challenge", [b"334 \r\n", b"334 " + base64.b64encode(b"more?") + b"\r\n"], ids=["empty", "b64"]
)
def test_s26_endless_auth_challenges(kind: str, mechanism: str, challenge: bytes) -> None:
    """S26: the client stops answering, cancels with ``*`` once, raises AuthenticationError."""
    rounds = Limits().max_sasl_rounds
    with (
        fake_smtp(endless_challenges(challenge), ehlo=EHLO_AUTH) as srv,
        plain_client(kind, srv, allow_plaintext_auth=True) as c,
    ):
        c.connect()
        with pytest.raises(AuthenticationError):
            c.login("user", "password", mechanisms=[mechanism])
        c.close()
    lines = auth_lines(srv)
    assert lines[-1] == b"*\r\n"
    assert lines.count(b"*\r\n") == 1
    assert len(lines) - 2 <= rounds  # AUTH, at most `rounds` answers, the cancel


def test_s26_round_limit(kind: str) -> None:
    """S26: the round limit itself: LOGIN needs 2 rounds; with 1 allowed it cancels."""
    with (
        fake_smtp(endless_challenges(b"334 VXNlcm5hbWU6\r\n"), ehlo=EHLO_AUTH) as srv,
        plain_client(kind, srv, allow_plaintext_auth=True, limits=Limits(max_sasl_rounds=1)) as c,
    ):
        c.connect()
        with pytest.raises(AuthenticationError, match="max_sasl_rounds"):
            c.login("user", "password", mechanisms=["LOGIN"])
        c.close()
    assert auth_lines(srv) == [b"AUTH LOGIN\r\n", base64.b64encode(b"user") + b"\r\n", b"*\r\n"]
    assert base64.b64encode(b"password") not in srv.received


def test_s26_unsolicited_challenge(kind: str) -> None:
    """S26: a 334 when no AUTH is pending is a protocol error."""
    with fake_smtp({"NOOP": b"334 \r\n"}) as srv, plain_client(kind, srv) as c:
        c.connect()
        with pytest.raises(RemoteProtocolError, match="334"):
            c.noop()


def test_s26_challenge_after_the_cancel(kind: str) -> None:
    """S26: a 334 answering the ``*`` cancel (RFC 4954 §4 wants 501) is no challenge."""
    with (
        fake_smtp(endless_challenges(cancel=b"334 \r\n"), ehlo=EHLO_AUTH) as srv,
        plain_client(kind, srv, allow_plaintext_auth=True) as c,
    ):
        c.connect()
        with pytest.raises(ProtocolError):
            c.login("user", "password", mechanisms=["PLAIN"])


# ---------------------------------------------------------------------- S27


def drip(
    unit: bytes, seconds: float, then: bytes = b"", first: bytes = b""
) -> Callable[[Peer], None]:
    """Send ``first``, then ``unit`` every 0.05 s for ``seconds``, then ``then``."""

    def send(peer: Peer) -> None:
        end = time.monotonic() + seconds
        try:
            peer.send(first)
            while time.monotonic() < end:
                peer.send(unit)
                time.sleep(0.05)
            peer.send(then)
        except OSError:
            return

    return send


# Per read 0.5 s, per operation 1 s: a byte every 0.05 s never trips the first.
TIMEOUTS: dict[str, Any] = {"timeout": 0.5, "operation_timeout": 1.0}


def test_s27_slow_drip_greeting(kind: str) -> None:
    """S27: a greeting dripped a byte at a time ends at the operation deadline."""
    with (
        fake_smtp(greeting=drip(b"2", 30)) as srv,
        plain_client(kind, srv, **TIMEOUTS) as c,
    ):
        with pytest.raises(Timeout) as info:
            c.connect()
        dripped = len(c.client.transcript.server_bytes())
    assert isinstance(info.value, TimeoutError)
    assert dripped > 1  # bytes kept arriving: it was the deadline, not the read timeout
    assert srv.done.wait(5)


def test_s27_slow_drip_reply(kind: str) -> None:
    """S27: the same for the reply to a command (NOOP)."""

    def noop(_srv: FakeSMTP, peer: Peer, _line: bytes) -> None:
        drip(b"2", 30)(peer)

    with fake_smtp({"NOOP": noop}) as srv, plain_client(kind, srv, **TIMEOUTS) as c:
        c.connect()
        with pytest.raises(Timeout):
            c.noop()


@pytest.mark.slow
def test_s27_slow_drip_envelope_reply(kind: str) -> None:
    """S27 while sending: a dripped reply to MAIL FROM meets the operation deadline
    (each wait for replies has one; the content transfer does not). Fixed in e187210."""

    def mail(_srv: FakeSMTP, peer: Peer, _line: bytes) -> None:
        drip(b" ", 3.0, first=b"250", then=b"ok\r\n")(peer)  # "250     ok" after 3 s

    with fake_smtp({"MAIL": mail}) as srv, plain_client(kind, srv, **TIMEOUTS) as c:
        c.connect()
        with pytest.raises(Timeout):
            c.send_message(b"Subject: s\r\n\r\nx\r\n", sender="a@x.test", recipients=["b@x.test"])
