"""End to end: a token from the fake authorization server logs in to a real SMTP server.

aiosmtpd (implicit TLS, trustme certificate) accepts XOAUTH2 and OAUTHBEARER
with the tokens the fake authorization server issued; mailwire's SMTP client
logs in with ``token=`` and sends a message. Then nothing the client keeps or
renders -- transcript text in every style, JSON lines, Mermaid, HTML, the
client bytes with secrets replaced, reprs, exception texts -- holds the token,
the SASL message or its base64.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from mailwire import AuthenticationError, TLSMode, smtp
from mailwire.oauth2 import OAuth2Client, Token
from tests.support.tls import PKI, make_pki
from tests.unit.oauth2.bearer_smtpd import ERROR_JSON, BearerSMTPServer
from tests.unit.oauth2.fake_auth import CLIENT_ID, FakeAuthServer, FakeClock

USER = "alice@example.test"
MESSAGE = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bearer\r\n\r\nhello\r\n"


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


@pytest.fixture
def token() -> Iterator[Token]:
    with FakeAuthServer() as auth:
        auth.device_polls = ["authorization_pending", "grant"]
        clock = FakeClock()
        client = OAuth2Client(auth.provider(), CLIENT_ID, clock=clock, sleep=clock.sleep)
        yield client.device_flow(show=lambda _: None)


@pytest.fixture
def server(pki: PKI, token: Token) -> Iterator[BearerSMTPServer]:
    with BearerSMTPServer(pki.server_context("127.0.0.1"), {token.access_token: USER}) as srv:
        yield srv


def client(server: BearerSMTPServer, pki: PKI) -> smtp.Client:
    return smtp.Client(
        server.host,
        server.port,
        tls=TLSMode.IMPLICIT,
        ssl_context=pki.client_context(),
        local_hostname="client.test",
        timeout=10,
    )


def forms_of(token: str, user: str) -> list[str]:
    """The token and every wire form of the SASL messages that carry it."""
    xoauth2 = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    bearer = f"n,a={user},\x01auth=Bearer {token}\x01\x01".encode()
    forms = [token, base64.b64encode(token.encode()).decode()]
    for blob in (xoauth2, bearer):
        encoded = base64.b64encode(blob).decode()
        start = blob.index(token.encode())
        end = start + len(token)
        # Any 16 base64 characters that encode only bytes of the token give part of
        # it away (base64 character i carries bits of byte i*6//8).
        forms += [
            encoded[i : i + 16]
            for i in range(len(encoded) - 16)
            if start <= i * 6 // 8 and ((i + 16) * 6 - 1) // 8 < end
        ]
    return forms


def renderings(c: smtp.Client) -> str:
    transcript = c.transcript
    parts = [transcript.render(style) for style in ("text", "annotated", "raw")]
    parts += [transcript.to_jsonl(), transcript.to_mermaid(), transcript.to_html()]
    parts += [repr(record) for record in transcript.records]
    parts += [transcript.client_bytes(redact=b"<secret>").decode("latin-1"), repr(c)]
    return "\n".join(parts)


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER", None])
def test_login_and_send(
    server: BearerSMTPServer, pki: PKI, token: Token, mechanism: str | None
) -> None:
    mechanisms = [mechanism] if mechanism else None
    with client(server, pki) as c:
        c.login(USER, token=token.access_token, mechanisms=mechanisms)
        c.send_message(MESSAGE, sender=USER, recipients=["bob@example.test"])
    # With no choice made, mailwire takes the standard mechanism (RFC 7628) first.
    assert server.recorded.logins == [(mechanism or "OAUTHBEARER", USER)]
    assert server.recorded.messages == [(USER, ["bob@example.test"], MESSAGE)]
    shown = renderings(c)
    assert "AUTH " in shown  # the command is there...
    assert "<redacted" in shown  # ...its payload is not
    for form in forms_of(token.access_token, USER):
        assert form not in shown


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_refused_token(server: BearerSMTPServer, pki: PKI, token: Token, mechanism: str) -> None:
    wrong = "ya29.expired-" + "A" * 30
    with client(server, pki) as c:
        with pytest.raises(AuthenticationError) as caught:
            c.login(USER, token=wrong, mechanisms=[mechanism])
        # The JSON error challenge was answered as each mechanism requires (Google's
        # XOAUTH2 page: an empty response; RFC 7628 §3.2.3: a single ^A), and the
        # session goes on.
        c.noop()
    assert server.recorded.refusals == [mechanism]
    assert server.recorded.error_answers == [b"" if mechanism == "XOAUTH2" else b"\x01"]
    text = f"{caught.value}|{caught.value!r}|{vars(caught.value)}"
    assert "535" in text
    shown = renderings(c) + text
    for form in forms_of(wrong, USER):
        assert form not in shown
    challenge = base64.b64encode(json.dumps(ERROR_JSON).encode()).decode()
    assert f"334 {challenge}" in shown  # the server's error challenge is no secret


def test_the_leak_check_would_see_a_leak(server: BearerSMTPServer, pki: PKI, token: Token) -> None:
    """Control: when the caller asks for the secrets, the same check finds them."""
    from mailwire.transcript import Transcript

    c = smtp.Client(
        server.host,
        server.port,
        ssl_context=pki.client_context(),
        transcript=Transcript(keep_secrets=True),
        timeout=10,
    )
    with c:
        c.login(USER, token=token.access_token, mechanisms=["XOAUTH2"])
    revealed = c.transcript.render("text", reveal_secrets=True)
    assert any(form in revealed for form in forms_of(token.access_token, USER))
