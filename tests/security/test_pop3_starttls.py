"""POP3 and TLS against hostile servers: security.md S1, S3, S4, S5, S9, S33.

Each case runs under the blocking and the asyncio client against a scripted
loopback server that records every byte it receives, so "no credentials
reached the server" is checked on the server's side.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from mailwire import AuthenticationError, RemoteProtocolError, SecurityError, TLSMode, pop3
from tests.support.server import Peer
from tests.support.tls import PKI, make_pki
from tests.unit.pop3.helpers import FakePOP3, Sync

CREDENTIAL_VERBS = {"USER", "PASS", "AUTH", "APOP"}
CAPA_PLAIN = b"+OK\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def session(kind: str) -> Iterator[Any]:
    made: list[Sync] = []

    def make(server: FakePOP3, **kwargs: Any) -> Sync:
        args: dict[str, Any] = {"timeout": 5}
        args.update(kwargs)
        c = Sync(kind, server.host, server.port, **args)
        made.append(c)
        return c

    yield make
    for c in made:
        c.shutdown()


def test_s9_implicit_tls_is_the_default(session: Any) -> None:
    assert pop3.Client("pop.example").port == 995
    assert pop3.Client("pop.example", tls=TLSMode.STARTTLS).port == 110
    assert pop3.Client("pop.example").tls is TLSMode.IMPLICIT
    # The first byte on the wire is a TLS handshake record (0x16), not a
    # wait for a plaintext greeting.
    with FakePOP3({}, greeting=b"") as server:
        c = session(server, timeout=1)
        with pytest.raises(Exception):  # noqa: B017  the fake server speaks no TLS
            c.connect()
    assert server.received[:1] == b"\x16"


def test_s1_response_injected_after_the_stls_go_ahead(session: Any, pki: PKI) -> None:
    answers = {"CAPA": CAPA_PLAIN, "STLS": b"+OK begin\r\n+OK injected\r\n"}
    with FakePOP3(answers, tls_context=pki.server_context()) as server:
        c = session(server, tls=TLSMode.STARTTLS, ssl_context=pki.client_context())
        with pytest.raises(SecurityError, match="injection"):
            c.connect()
        assert not c.client._driver.is_open
    assert server.verbs() == ["CAPA", "STLS"]
    assert b"injected" in c.client.transcript.server_bytes()  # the evidence is kept


def stls_server(pki: PKI, before: bytes, after: bytes) -> FakePOP3:
    def capa(server: FakePOP3, peer: Peer, line: bytes) -> bytes:
        return after if isinstance(peer.sock, ssl.SSLSocket) else before

    answers = {"CAPA": capa, "STLS": b"+OK Begin TLS negotiation\r\n", "QUIT": b"+OK\r\n"}
    return FakePOP3(answers, tls_context=pki.server_context())


def test_s3_capabilities_are_read_again_after_tls(session: Any, pki: PKI) -> None:
    # Before TLS: USER and SASL PLAIN; after: only SCRAM (which the client
    # cannot use here with PLAIN insisted on).
    after = b"+OK\r\nSASL SCRAM-SHA-256\r\n.\r\n"
    with stls_server(pki, CAPA_PLAIN, after) as server:
        c = session(server, tls=TLSMode.STARTTLS, ssl_context=pki.client_context())
        c.connect()
        assert c.client.connection.tls_active
        assert c.capabilities.sasl == ("SCRAM-SHA-256",)
        assert not c.capabilities.user
        with pytest.raises(AuthenticationError, match="no acceptable"):
            c.login("mrose", "tanstaaf", mechanisms=["PLAIN", "USER"])
        c.quit()
    assert server.verbs() == ["CAPA", "STLS", "CAPA", "QUIT"]


@pytest.mark.parametrize(
    ("capa", "stls", "error"),
    [
        (b"+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n", b"+OK\r\n", SecurityError),  # S4: not offered
        (b"-ERR\r\n", b"+OK\r\n", SecurityError),  # S5: CAPA refused
        (CAPA_PLAIN, b"-ERR not now\r\n", SecurityError),  # S5: STLS refused
        (CAPA_PLAIN, b"+ go\r\n", RemoteProtocolError),  # S5: garbage answer
        (CAPA_PLAIN, b"* OK imap here\r\n", RemoteProtocolError),
    ],
)
def test_s4_s5_stls_required_fails_closed(
    session: Any, pki: PKI, capa: bytes, stls: bytes, error: type[Exception]
) -> None:
    with FakePOP3({"CAPA": capa, "STLS": stls}) as server:
        c = session(server, tls=TLSMode.STARTTLS, ssl_context=pki.client_context())
        with pytest.raises(error):
            c.connect()
        with pytest.raises(Exception):  # noqa: B017  closed: no login possible
            c.login("mrose", "tanstaaf")
    assert not CREDENTIAL_VERBS & set(server.verbs())
    assert server.server.accepts == 1  # no retry, in plaintext or otherwise


def test_s33_untrusted_certificate_implicit(session: Any, pki: PKI) -> None:
    untrusted = pki.server_context(ca=pki.other_ca)
    with FakePOP3({}, tls_context=untrusted, implicit_tls=True) as server:
        c = session(server, ssl_context=pki.client_context())
        with pytest.raises(ssl.SSLCertVerificationError):
            c.connect()
    assert server.lines == []
    assert server.server.accepts == 1


def test_s33_untrusted_certificate_after_stls(session: Any, pki: PKI) -> None:
    answers = {"CAPA": CAPA_PLAIN, "STLS": b"+OK Begin TLS negotiation\r\n"}
    with FakePOP3(answers, tls_context=pki.server_context(ca=pki.other_ca)) as server:
        c = session(server, tls=TLSMode.STARTTLS, ssl_context=pki.client_context())
        with pytest.raises(ssl.SSLCertVerificationError):
            c.connect()
        with pytest.raises(Exception):  # noqa: B017
            c.login("mrose", "tanstaaf")
    assert server.verbs() == ["CAPA", "STLS"]  # nothing after the failed handshake


def test_trusted_stls_session_works(session: Any, pki: PKI) -> None:
    # The positive control for the cases above.
    after = b"+OK\r\nUSER\r\n.\r\n"
    with stls_server(pki, CAPA_PLAIN, after) as server:
        server.answers.update({"USER": b"+OK\r\n", "PASS": b"+OK\r\n", "STAT": b"+OK 0 0\r\n"})
        c = session(server, tls=TLSMode.STARTTLS, ssl_context=pki.client_context())
        c.connect()
        c.login("mrose", "tanstaaf")
        assert c.stat() == (0, 0)
        c.quit()
    assert server.verbs() == [
        "CAPA",
        "STLS",
        "CAPA",
        "USER",
        "PASS",
        "CAPA",
        "STAT",
        "STAT",
        "QUIT",
    ]
