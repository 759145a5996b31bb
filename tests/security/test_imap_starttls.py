"""IMAP and TLS against hostile servers: security.md S1-S7, S33, S38, S40, S41.

Each case runs under the blocking and the asyncio client against a scripted
loopback server (tests/unit/imap_client/helpers.py ``Script``) that records
every byte it receives, so "no credentials reached the server" is checked on
the server's side.
"""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from mailwire import (
    AuthenticationError,
    ConnectionLost,
    MailwireError,
    NotSupportedError,
    RemoteProtocolError,
    SecurityError,
    TLSMode,
)
from mailwire.imap.client import Client
from tests.support.server import Peer
from tests.support.tls import PKI, make_pki
from tests.unit.imap_client.helpers import Both, Script

CAPS = b"IMAP4rev1 STARTTLS AUTH=PLAIN"


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def credentials_sent(script: Script) -> bool:
    data = script.server.received.upper()
    return b"LOGIN" in data or b"AUTHENTICATE" in data or b"PASSWORD" in data


def tls_then(pki: PKI, reply_after: bytes, steps: list[tuple[bytes, bytes]]) -> Any:
    """A handler tail: upgrade to TLS and play ``steps``."""

    def after(peer: Peer) -> None:
        peer.start_tls(pki.server_context())
        if reply_after:
            peer.send(reply_after)
        for expect, reply in steps:
            got = peer.recv_line()
            if got != expect:
                return
            peer.send(reply)
        peer.recv_until_eof()

    return after


def test_s9_implicit_tls_is_the_default() -> None:
    assert Client("imap.example").port == 993
    assert Client("imap.example", tls=TLSMode.STARTTLS).port == 143
    assert Client("imap.example").tls is TLSMode.IMPLICIT


def test_s1_response_injection_after_go_ahead(kind: str, pki: PKI) -> None:
    steps = [
        (
            b"A1 STARTTLS\r\n",
            b"A1 OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA2 OK done\r\n",
        )
    ]
    with Script(b"* OK [CAPABILITY " + CAPS + b"] hi\r\n", steps) as script:
        c = Both(kind, script.port, tls=TLSMode.STARTTLS, ssl_context=pki.client_context())
        with pytest.raises(SecurityError, match="injection"):
            c.connect()
        c.close()
    assert not credentials_sent(script)
    assert script.server.received == b"A1 STARTTLS\r\n"


def test_s2_pre_tls_data_forgotten(kind: str, pki: PKI) -> None:
    steps = [
        (
            b"A1 STARTTLS\r\n",
            b'* 54321 EXISTS\r\n* LIST () "/" Evil\r\n* OK [ALERT] pay here\r\nA1 OK go\r\n',
        )
    ]
    after = tls_then(
        pki, b"", [(b"A2 CAPABILITY\r\n", b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA2 OK\r\n")]
    )
    with Script(b"* OK [CAPABILITY " + CAPS + b"] hi\r\n", steps, after=after) as script:
        c = Both(kind, script.port, tls=TLSMode.STARTTLS, ssl_context=pki.client_context())
        caps = c.connect()
        assert list(caps) == ["IMAP4REV1", "AUTH=PLAIN"]
        assert c.client.mailbox is None
        # The alert is kept, but marked as not trusted (S41).
        assert [(a.text, a.trusted) for a in c.client.alerts] == [("pay here", False)]
        notes = [r.note or "" for r in c.client.transcript.records]
        assert any("EXISTS" in n or "Exists" in n for n in notes)
        c.close()
    assert script.errors == []


def test_s3_capabilities_reread_after_tls(kind: str, pki: PKI) -> None:
    steps = [(b"A1 STARTTLS\r\n", b"A1 OK go\r\n")]
    after = tls_then(pki, b"", [(b"A2 CAPABILITY\r\n", b"* CAPABILITY IMAP4rev1\r\nA2 OK\r\n")])
    with Script(b"* OK [CAPABILITY " + CAPS + b"] hi\r\n", steps, after=after) as script:
        c = Both(kind, script.port, tls=TLSMode.STARTTLS, ssl_context=pki.client_context())
        c.connect()
        with pytest.raises(NotSupportedError, match="no SASL"):
            c.authenticate(username="u", password="p")
        c.close()
    assert not credentials_sent(script)


@pytest.mark.parametrize(
    "caps", [b"IMAP4rev1 AUTH=PLAIN", b"IMAP4rev1 LOGINDISABLED"], ids=["absent", "hidden"]
)
def test_s4_starttls_missing(kind: str, caps: bytes) -> None:
    with Script(b"* OK [CAPABILITY " + caps + b"] hi\r\n", []) as script:
        c = Both(kind, script.port, tls=TLSMode.STARTTLS)
        with pytest.raises(SecurityError, match="does not offer STARTTLS"):
            c.connect()
        c.close()
    assert script.server.received == b""


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"A1 BAD no\r\n", SecurityError),
        (b"A1 NO no\r\n", SecurityError),
        (b"+ continue\r\n", RemoteProtocolError),
        (b"* OK untagged only\r\n* BYE\r\n", ConnectionLost),
        (b"A1 FOO what\r\n", RemoteProtocolError),
    ],
)
def test_s5_starttls_refused_or_odd(kind: str, reply: bytes, error: type[Exception]) -> None:
    with Script(b"* OK [CAPABILITY " + CAPS + b"] hi\r\n", [(b"A1 STARTTLS\r\n", reply)]) as script:
        c = Both(kind, script.port, tls=TLSMode.STARTTLS)
        with pytest.raises(error):
            c.connect()
        c.close()
    assert script.server.received == b"A1 STARTTLS\r\n"


def test_s6_preauth_refused_when_tls_required(kind: str) -> None:
    with Script(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", []) as script:
        c = Both(kind, script.port, tls=TLSMode.STARTTLS)
        with pytest.raises(SecurityError, match="PREAUTH"):
            c.connect()
        c.close()
    assert script.server.received == b""


def test_s7_early_tagged_completion(kind: str) -> None:
    with Script(b"* OK hi\r\nA1 OK begin TLS\r\n", [(b"A1 CAPABILITY\r\n", b"")]) as script:
        c = Both(kind, script.port, tls=TLSMode.STARTTLS)
        with pytest.raises(RemoteProtocolError, match="before CAPABILITY was sent"):
            c.connect()
        c.close()
    assert not credentials_sent(script)


def test_s8_invalid_greeting(kind: str) -> None:
    with Script(b"hello\r\n", []) as script:
        c = Both(kind, script.port)
        with pytest.raises(RemoteProtocolError):
            c.connect()
        c.close()
    assert script.server.received == b""


def test_s33_untrusted_certificate(kind: str, pki: PKI) -> None:
    steps = [(b"A1 STARTTLS\r\n", b"A1 OK go\r\n")]

    def after(peer: Peer) -> None:
        try:
            peer.start_tls(pki.server_context(ca=pki.other_ca))
        except (ssl.SSLError, OSError):
            return
        peer.recv_until_eof()

    with Script(b"* OK [CAPABILITY " + CAPS + b"] hi\r\n", steps, after=after) as script:
        c = Both(kind, script.port, tls=TLSMode.STARTTLS, ssl_context=pki.client_context())
        with pytest.raises(ssl.SSLCertVerificationError):
            c.connect()
        c.close()
    assert not credentials_sent(script)
    assert script.server.received == b"A1 STARTTLS\r\n"


def test_s38_no_login_over_plaintext(kind: str) -> None:
    with Script(
        b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n", [(b"A1 NOOP\r\n", b"A1 OK\r\n")]
    ) as script:
        c = Both(kind, script.port, tls=TLSMode.PLAIN, allow_plaintext_auth=False)
        c.connect()
        with pytest.raises(SecurityError, match="without TLS"):
            c.login("user", "password")
        with pytest.raises(SecurityError, match="without TLS"):
            c.authenticate(username="user", password="password")
        c.noop()
        c.close()
    assert not credentials_sent(script)


def test_s38_logindisabled_even_when_allowed(kind: str) -> None:
    with Script(b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\r\n", []) as script:
        c = Both(kind, script.port, tls=TLSMode.PLAIN, allow_plaintext_auth=True)
        c.connect()
        with pytest.raises(NotSupportedError, match="LOGINDISABLED"):
            c.login("user", "password")
        c.close()
    assert not credentials_sent(script)


def test_s39_one_mechanism_only(kind: str) -> None:
    steps = [(b"A1 AUTHENTICATE PLAIN AHUAcA==\r\n", b"A1 NO [AUTHENTICATIONFAILED] no\r\n")]
    with Script(
        b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN] hi\r\n", steps
    ) as script:
        c = Both(kind, script.port)
        c.connect()
        with pytest.raises(AuthenticationError):
            c.authenticate(username="u", password="p")
        c.close()
    assert script.errors == []
    assert b"AUTH=LOGIN" not in script.server.received
    assert b"AUTHENTICATE LOGIN" not in script.server.received


@pytest.mark.parametrize("literal", [False, True], ids=["quoted", "literal"])
def test_s40_login_password_never_recorded(kind: str, literal: bool) -> None:
    # A long ASCII password goes as a literal (a non-ASCII one would go through
    # AUTHENTICATE, RFC 6855 §5).
    password = "s3cr" + "t" * 4100 + " pass" if literal else 's3cr"t pass'
    wire = b'"s3cr\\"t pass"'
    steps: list[tuple[bytes, bytes]]
    if literal:
        steps = [
            (b"A1 LOGIN user {%d}\r\n" % len(password), b"+ go\r\n"),
            (password.encode() + b"\r\n", b"A1 OK\r\n"),
        ]
    else:
        steps = [(b"A1 LOGIN user " + wire + b"\r\n", b"A1 OK\r\n")]
    steps.append((b"A2 CAPABILITY\r\n", b"* CAPABILITY IMAP4rev1\r\nA2 OK\r\n"))
    with Script(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", steps) as script:
        c = Both(kind, script.port)
        c.connect()
        c.login("user", password)
        transcript = c.client.transcript
        text = transcript.render() + transcript.render(style="annotated") + transcript.to_jsonl()
        text += repr(c.client) + repr(transcript.records)
        c.close()
    assert script.errors == []
    for form in (password, password.encode().decode("latin-1"), 's3cr\\"t', "s3cr"):
        assert form not in text
    assert "<redacted" in text


def test_s40_authenticate_payloads_never_recorded(kind: str) -> None:
    import base64

    plain = base64.b64encode(b"\x00user\x00hunter2").decode()
    steps = [
        (b"A1 AUTHENTICATE PLAIN\r\n", b"+ \r\n"),
        (plain.encode() + b"\r\n", b"A1 OK\r\n"),
        (b"A2 CAPABILITY\r\n", b"* CAPABILITY IMAP4rev1\r\nA2 OK\r\n"),
    ]
    with Script(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n", steps) as script:
        c = Both(kind, script.port)
        c.connect()
        c.authenticate("PLAIN", username="user", password="hunter2")
        text = c.client.transcript.render() + c.client.transcript.to_jsonl()
        c.close()
    assert script.errors == []
    assert plain not in text
    assert "hunter2" not in text


def test_s41_alert_text_escaped_in_transcript(kind: str) -> None:
    evil = b"* OK [ALERT] \x1b]0;pwned\x07 \x1b[2J \xc2\x9b \xe2\x80\xae x\r\n"
    with Script(
        b"* OK [CAPABILITY IMAP4rev1] hi\r\n", [(b"A1 NOOP\r\n", evil + b"A1 OK\r\n")]
    ) as script:
        c = Both(kind, script.port)
        c.connect()
        c.noop()
        rendered = c.client.transcript.render()
        (alert,) = c.client.alerts
        assert not alert.trusted  # plaintext session
        c.close()
    assert "\x1b" not in rendered
    assert "\u202e" not in rendered
    assert "\x9b" not in rendered


def test_bye_mid_session_is_a_clear_error(kind: str) -> None:
    with Script(
        b"* OK [CAPABILITY IMAP4rev1] hi\r\n", [(b"A1 NOOP\r\n", b"* BYE server shutting down\r\n")]
    ) as script:
        c = Both(kind, script.port)
        c.connect()
        with pytest.raises(ConnectionLost, match="shutting down"):
            c.noop()
        c.close()
    assert isinstance(ConnectionLost("x"), MailwireError)
