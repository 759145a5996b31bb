"""STARTTLS and implicit TLS at the client level: security.md S1, S3, S4, S5, S8, S9.

Each test runs a hostile scripted server (tests/security/smtp_support.py) and
checks what reached it, under ``smtp.Client`` and ``smtp.AsyncClient``.
"Exception names are proposals" (security.md §0): ``TLSRequiredError`` is
mailwire's ``SecurityError``, ``ProtocolError`` its ``RemoteProtocolError``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from mailwire import (
    AuthenticationError,
    MailwireError,
    NotSupportedError,
    RemoteProtocolError,
    SecurityError,
    SMTPReplyError,
    TLSMode,
    smtp,
)
from tests.security.smtp_support import (
    EHLO_PLAIN,
    PKI,
    FakeSMTP,
    Sync,
    client_writes,
    fake_smtp,
    kind,
    pki,
    plain_client,
)
from tests.support.server import Peer, ScriptedServer

__all__ = ["kind", "pki"]  # fixtures

MESSAGE = b"From: a@x.test\r\nTo: b@x.test\r\nSubject: s\r\n\r\nbody\r\n"


def starttls_client(kind: str, srv: FakeSMTP, pki: PKI, **kwargs: Any) -> Sync:
    kwargs.setdefault("ssl_context", pki.client_context())
    return plain_client(kind, srv, tls=TLSMode.STARTTLS, **kwargs)


def nothing_more_goes_out(c: Sync, srv: FakeSMTP) -> None:
    """After a refused TLS upgrade neither credentials nor mail may follow."""
    before = srv.received
    with pytest.raises(MailwireError):
        c.login("user", "password")
    with pytest.raises(MailwireError):
        c.send_message(MESSAGE)
    time.sleep(0.05)
    assert srv.received == before


def verbs(srv: FakeSMTP) -> list[bytes]:
    return [line.split()[0].upper() for line in srv.commands if line.strip()]


# ----------------------------------------------------------------------- S1


def test_s1_response_injected_with_the_go_ahead(kind: str, pki: PKI) -> None:
    """S1: bytes in the same segment as the 220 go-ahead abort before the handshake."""

    def inject(_srv: FakeSMTP, peer: Peer, _line: bytes) -> None:
        peer.send(b"220 go ahead\r\n250-x\r\n250 AUTH PLAIN\r\n")  # one send(): one segment
        peer.recv_until_eof()  # whatever comes next, recorded

    with (
        fake_smtp({"STARTTLS": inject}, tls_context=pki.server_context()) as srv,
        starttls_client(kind, srv, pki) as c,
    ):
        with pytest.raises(SecurityError, match="injection"):
            c.connect()
        assert srv.done.wait(5)  # the client closed the connection
        transcript = c.client.transcript
    # Nothing after STARTTLS: no ClientHello, no EHLO, no AUTH.
    assert srv.received == b"EHLO client.test\r\nSTARTTLS\r\n"
    # The transcript shows the rejected bytes, as read in the clear.
    assert b"250 AUTH PLAIN\r\n" in transcript.server_bytes()
    text = transcript.render()
    assert "S: 250 AUTH PLAIN" in text.splitlines()
    assert not any(line.startswith(("S*:", "C*:")) for line in text.splitlines())


def test_s1_injected_bytes_arriving_after_the_go_ahead(kind: str, pki: PKI) -> None:
    """S1: arriving later, the injected bytes break the handshake (SSLError is as good)."""

    def inject_later(_srv: FakeSMTP, peer: Peer, _line: bytes) -> None:
        peer.send(b"220 go ahead\r\n")
        time.sleep(0.2)  # the client has read the 220 and started its handshake
        peer.send(b"250-x\r\n250 AUTH PLAIN\r\n")
        peer.recv_until_eof()

    with (
        fake_smtp({"STARTTLS": inject_later}) as srv,
        starttls_client(kind, srv, pki) as c,
    ):
        with pytest.raises(SecurityError):
            c.connect()
        assert srv.done.wait(5)
        nothing_more_goes_out(c, srv)
    after = srv.received.split(b"STARTTLS\r\n", 1)[1]
    assert after.startswith(b"\x16\x03")  # only the TLS ClientHello followed
    assert b"AUTH" not in after
    assert b"EHLO" not in after


# ----------------------------------------------------------------------- S3


EHLO_PRE_TLS = (
    b"250-mx.test pre-TLS\r\n"
    b"250-PIPELINING\r\n"
    b"250-SIZE 1000\r\n"
    b"250-X-PRE-TLS-ONLY\r\n"
    b"250-STARTTLS\r\n"
    b"250 AUTH PLAIN LOGIN\r\n"
)


def test_s3_capabilities_are_read_again_after_tls(kind: str, pki: PKI) -> None:
    """S3: a new EHLO after the handshake; only the post-TLS capabilities count."""
    with (
        fake_smtp(
            {"AUTH": b"535 5.7.8 no\r\n"},
            ehlo=EHLO_PRE_TLS,
            ehlo_tls=b"250-mx.test post-TLS\r\n250 AUTH SCRAM-SHA-256\r\n",
            tls_context=pki.server_context(),
        ) as srv,
        starttls_client(kind, srv, pki) as c,
    ):
        caps = c.connect()
        assert caps.domain == "mx.test"
        assert caps.auth == ("SCRAM-SHA-256",)
        assert not caps.pipelining
        assert "SIZE" not in caps
        assert "X-PRE-TLS-ONLY" not in caps
        with pytest.raises(AuthenticationError):
            c.login("user", "password")
        c.quit()
    assert verbs(srv) == [b"EHLO", b"STARTTLS", b"EHLO", b"AUTH", b"QUIT"]
    (auth,) = [line for line in srv.commands if line.startswith(b"AUTH")]
    assert auth.split()[1] == b"SCRAM-SHA-256"  # never the pre-TLS PLAIN or LOGIN


def test_s3_no_auth_after_tls_means_no_auth_line(kind: str, pki: PKI) -> None:
    """S3: AUTH offered only before TLS: login refuses, no AUTH line is sent."""
    with (
        fake_smtp(
            ehlo=EHLO_PRE_TLS,
            ehlo_tls=b"250-mx.test post-TLS\r\n250 8BITMIME\r\n",
            tls_context=pki.server_context(),
        ) as srv,
        starttls_client(kind, srv, pki) as c,
    ):
        c.connect()
        with pytest.raises(NotSupportedError, match="AUTH"):
            c.login("user", "password")
        c.quit()
    assert b"AUTH" not in srv.received


def test_s3_pre_tls_pipelining_is_forgotten(kind: str, pki: PKI) -> None:
    """S3: PIPELINING advertised only in the clear is not used inside TLS."""
    with (
        fake_smtp(
            ehlo=EHLO_PRE_TLS,
            ehlo_tls=b"250-mx.test post-TLS\r\n250 8BITMIME\r\n",
            tls_context=pki.server_context(),
        ) as srv,
        starttls_client(kind, srv, pki) as c,
    ):
        c.connect()
        c.send_message(MESSAGE)
        c.quit()
        writes = client_writes(c.client)
    assert b"MAIL FROM:<a@x.test>\r\n" in writes  # a write of its own: no group
    assert not any(w.startswith(b"MAIL") and b"RCPT" in w for w in writes)
    assert srv.messages == [MESSAGE]


# ----------------------------------------------------------------------- S4


@pytest.mark.parametrize(
    ("greeting", "replies", "ehlo"),
    [
        pytest.param(None, {}, b"250-mx.test\r\n250 AUTH PLAIN\r\n", id="ehlo-lacks-starttls"),
        pytest.param(
            None, {}, b"250-mx.test STARTTLS\r\n250 AUTH PLAIN\r\n", id="starttls-in-domain-line"
        ),
        pytest.param(
            b"220 mx.test ESMTP STARTTLS\r\n",
            {},
            b"250-mx.test\r\n250 8BITMIME\r\n",
            id="starttls-only-in-greeting",
        ),
        pytest.param(
            None, {}, b"250-mx.test\r\n250-X-STARTTLS\r\n250 STARTTLSX\r\n", id="lookalike-keywords"
        ),
        pytest.param(
            None, {"EHLO": b"502 5.5.1 EHLO? never heard\r\n"}, b"", id="ehlo-hidden-helo-only"
        ),
    ],
)
def test_s4_starttls_missing_fails_closed(
    kind: str, pki: PKI, greeting: bytes | None, replies: dict[str, bytes], ehlo: bytes
) -> None:
    """S4: STARTTLS required and not offered: SecurityError; only EHLO/HELO were sent."""
    kwargs: dict[str, Any] = {"ehlo": ehlo}
    if greeting is not None:
        kwargs["greeting"] = greeting
    with fake_smtp(replies, **kwargs) as srv, starttls_client(kind, srv, pki) as c:
        with pytest.raises(SecurityError, match="STARTTLS"):
            c.connect()
        assert srv.done.wait(5)  # closed by the client
        nothing_more_goes_out(c, srv)
    assert set(verbs(srv)) <= {b"EHLO", b"HELO"}
    assert srv.server.accepts == 1


def test_s4_keyword_case_does_not_matter(kind: str, pki: PKI) -> None:
    """Control for S4: ``starttls`` in lower case is the same keyword (RFC 5321 §2.4)."""
    with (
        fake_smtp(ehlo=b"250-mx.test\r\n250 starttls\r\n", tls_context=pki.server_context()) as srv,
        starttls_client(kind, srv, pki) as c,
    ):
        c.connect()
        assert c.client.connection.tls_active
        c.quit()
    assert verbs(srv) == [b"EHLO", b"STARTTLS", b"EHLO", b"QUIT"]


# ----------------------------------------------------------------------- S5


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"454 4.7.0 TLS not available due to temporary reason\r\n", SecurityError),
        (b"502 5.5.1 command not implemented\r\n", SecurityError),
        (b"501 5.5.4 syntax error\r\n", SecurityError),
        (b"250 ok\r\n", SecurityError),
        (b"220-go\r\n221 changed my mind\r\n", RemoteProtocolError),
        (b"334 go on\r\n", RemoteProtocolError),
        (b"garbage\r\n", RemoteProtocolError),
    ],
    ids=["454", "502", "501", "250", "mixed-codes", "334", "garbage"],
)
def test_s5_starttls_refused_or_malformed(
    kind: str, pki: PKI, reply: bytes, error: type[Exception]
) -> None:
    """S5: no TLS after a refusal or an odd answer, and no plaintext retry."""
    with fake_smtp({"STARTTLS": reply}) as srv, starttls_client(kind, srv, pki) as c:
        with pytest.raises(error):
            c.connect()
        assert srv.done.wait(5)  # connection closed
        nothing_more_goes_out(c, srv)
    assert verbs(srv) == [b"EHLO", b"STARTTLS"]
    assert srv.server.accepts == 1


def test_s5_plaintext_after_the_go_ahead(kind: str, pki: PKI) -> None:
    """S5: a 220 go-ahead and then plaintext instead of a handshake: no session."""

    def fake_go_ahead(_srv: FakeSMTP, peer: Peer, _line: bytes) -> None:
        peer.send(b"220 go ahead\r\n")
        peer.recv_exact(5)  # the start of the ClientHello
        peer.send(b"250 2.0.0 I do not speak TLS\r\n")
        peer.recv_until_eof()

    with fake_smtp({"STARTTLS": fake_go_ahead}) as srv, starttls_client(kind, srv, pki) as c:
        with pytest.raises(SecurityError, match="TLS handshake"):
            c.connect()
        nothing_more_goes_out(c, srv)
    assert b"EHLO" not in srv.received.split(b"STARTTLS\r\n", 1)[1]
    assert srv.server.accepts == 1


def test_s5_ehlo_refused_sends_no_mail_and_no_credentials(kind: str, pki: PKI) -> None:
    """S5 (capability command failing): what holds today. Nothing but EHLO reaches
    the server when MAIL or AUTH is tried afterwards."""
    with (
        fake_smtp({"EHLO": b"554 5.7.1 not now\r\n"}) as srv,
        starttls_client(kind, srv, pki, allow_plaintext_auth=True) as c,
    ):
        with pytest.raises(MailwireError):
            c.connect()
        for attempt in (lambda: c.login("user", "password"), lambda: c.send_message(MESSAGE)):
            with pytest.raises(MailwireError):
                attempt()
    assert b"AUTH" not in srv.received
    assert b"MAIL" not in srv.received


def test_s5_ehlo_refused_fails_closed(kind: str, pki: PKI) -> None:
    """S5: the capability command itself failing is a TLS failure; nothing more is sent."""
    with (
        fake_smtp({"EHLO": b"554 5.7.1 not now\r\n"}) as srv,
        starttls_client(kind, srv, pki) as c,
    ):
        with pytest.raises(SecurityError):
            c.connect()
        assert srv.done.wait(5)  # closed by the client
        with pytest.raises(MailwireError):
            c.vrfy("postmaster")
    assert srv.commands == [b"EHLO client.test\r\n"]


# ----------------------------------------------------------------------- S8


@pytest.mark.parametrize(
    ("greeting", "error"),
    [
        (b"hello\r\n", RemoteProtocolError),
        (b"220\x00 mx\r\n", RemoteProtocolError),
        (b"2200 mx\r\n", RemoteProtocolError),
        # 500 is no greeting code at all (RFC 5321 §3.1 names 220, 554, 421):
        # a refusal or a protocol error, either ends the session.
        (b"500 5.5.1 who are you\r\n", (SMTPReplyError, RemoteProtocolError)),
        # With TLS required, a refusal before TLS is the TLS failure (S5).
        (b"554 5.7.1 no service for you\r\n", SecurityError),
    ],
    ids=["not-smtp", "nul", "four-digits", "500", "554"],
)
def test_s8_invalid_greeting_with_tls_required(
    kind: str, pki: PKI, greeting: bytes, error: Any
) -> None:
    """S8: a bad greeting ends the session; no EHLO, AUTH or MAIL (at most QUIT)."""
    with (
        fake_smtp(greeting=greeting) as srv,
        starttls_client(kind, srv, pki, allow_plaintext_auth=True) as c,
    ):
        with pytest.raises(error):
            c.connect()
        for attempt in (lambda: c.login("user", "password"), lambda: c.send_message(MESSAGE)):
            with pytest.raises(MailwireError):
                attempt()
    assert set(verbs(srv)) <= {b"QUIT"}


def test_s8_greeting_never_completed(kind: str, pki: PKI) -> None:
    """S8: a greeting cut short (continuation line, then close) is a lost connection."""

    def cut(peer: Peer) -> None:
        peer.send(b"220-mx.test\r\n")
        peer.close()

    with (
        fake_smtp(greeting=cut) as srv,
        starttls_client(kind, srv, pki) as c,
        pytest.raises(MailwireError),
    ):
        c.connect()
    assert srv.received == b""


# ----------------------------------------------------------------------- S9


def test_s9_implicit_tls_is_the_default() -> None:
    """S9: no security argument means implicit TLS on 465 (RFC 8314 §3.3)."""
    for cls in (smtp.Client, smtp.AsyncClient):
        client = cls("localhost")
        assert client.tls is TLSMode.IMPLICIT
        assert client.port == 465
        assert cls("localhost", tls=TLSMode.STARTTLS).port == 587
        assert cls("localhost", tls=TLSMode.PLAIN).port == 25
    # No opportunistic "STARTTLS if available" mode exists at all.
    assert {mode.name for mode in TLSMode} == {"IMPLICIT", "STARTTLS", "PLAIN"}


def test_s9_first_byte_is_a_tls_client_hello(kind: str) -> None:
    """S9: with defaults, the server's first received byte is 0x16 (a TLS handshake record)."""
    first: list[bytes] = []

    def record(peer: Peer) -> None:
        first.append(peer.recv_exact(3))
        peer.send(b"220 mx.test ESMTP plaintext\r\n")
        peer.recv_until_eof()

    with (
        ScriptedServer(record) as server,
        Sync(kind, "127.0.0.1", server.port, timeout=5) as c,
        pytest.raises(MailwireError),
    ):
        c.connect()
    assert first == [b"\x16\x03\x01"]  # handshake record, TLS 1.x record version
    assert b"EHLO" not in server.received
    assert server.accepts == 1


def test_s9_plain_must_be_asked_for(kind: str) -> None:
    """S9: plaintext is spoken only with an explicit ``tls=TLSMode.PLAIN``."""
    with fake_smtp(ehlo=EHLO_PLAIN) as srv, plain_client(kind, srv) as c:
        caps = c.connect()
        assert not c.client.connection.tls_active
        assert "STARTTLS" in caps  # offered, but PLAIN was asked for: not taken
        c.quit()
    assert verbs(srv) == [b"EHLO", b"QUIT"]
