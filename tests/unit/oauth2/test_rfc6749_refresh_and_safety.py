"""Refresh (RFC 6749 §6), endpoint rules (§3.1, §3.2), and secrets kept out of sight."""

from __future__ import annotations

import dataclasses
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Iterator

import pytest

from mailwire.oauth2 import (
    GMAIL_SCOPE,
    GOOGLE,
    MICROSOFT,
    OUTLOOK_IMAP_SCOPE,
    OUTLOOK_OFFLINE_ACCESS,
    OUTLOOK_POP_SCOPE,
    OUTLOOK_SMTP_SCOPE,
    MalformedResponse,
    OAuth2Client,
    OAuth2Error,
    Provider,
    Token,
    TransportError,
    microsoft,
)
from tests.support.tls import make_pki
from tests.unit.oauth2.fake_auth import (
    CLIENT_ID,
    CLIENT_SECRET,
    Answer,
    FakeAuthServer,
    FakeClock,
    Seen,
)


@pytest.fixture
def server() -> Iterator[FakeAuthServer]:
    with FakeAuthServer() as fake:
        yield fake


def oauth(server: FakeAuthServer, **kwargs: object) -> OAuth2Client:
    clock = FakeClock()
    return OAuth2Client(
        server.provider(),
        CLIENT_ID,
        client_secret=CLIENT_SECRET,
        clock=clock,
        sleep=clock.sleep,
        **kwargs,  # type: ignore[arg-type]
    )


def first_token(server: FakeAuthServer) -> Token:
    server.device_polls = ["grant"]
    return oauth(server).device_flow(show=lambda _: None)


# -- refresh ------------------------------------------------------------------


def test_refresh_with_a_new_refresh_token(server: FakeAuthServer) -> None:
    token = first_token(server)
    fresh = oauth(server).refresh(token)
    assert fresh.access_token == server.issued[-1] != token.access_token
    assert fresh.refresh_token == server.refresh_tokens[-1] != token.refresh_token
    sent = server.requests_to("/token")[-1].form
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == token.refresh_token
    assert "scope" not in sent  # §6: omitted means the scope granted before


def test_refresh_keeps_the_old_refresh_token(server: FakeAuthServer) -> None:
    token = first_token(server)
    server.issue_refresh_token = False  # as Google does on refresh
    fresh = oauth(server).refresh(token.refresh_token or "")
    assert fresh.refresh_token == token.refresh_token
    assert fresh.access_token == server.issued[-1]


def test_refresh_with_narrower_scope(server: FakeAuthServer) -> None:
    token = first_token(server)
    fresh = oauth(server).refresh(token, scopes=["https://mail.example.test/"])
    assert server.requests_to("/token")[-1].form["scope"] == "https://mail.example.test/"
    assert fresh.scope == ("https://mail.example.test/",)


def test_revoked_refresh_token(server: FakeAuthServer) -> None:
    with pytest.raises(OAuth2Error) as caught:
        oauth(server).refresh("1//revoked-long-ago")
    assert caught.value.error == "invalid_grant"
    assert caught.value.status == 400
    assert "1//revoked-long-ago" not in str(caught.value)


def test_no_refresh_token() -> None:
    client = OAuth2Client(GOOGLE, "id.apps.googleusercontent.com")
    with pytest.raises(ValueError, match="no refresh token"):
        client.refresh(Token("abc"))


def test_expiry() -> None:
    token = Token("abc", expires_at=1000.0)
    assert not token.expired(now=900.0)
    assert token.expired(now=950.0)  # within the default 60 s margin
    assert not token.expired(now=950.0, margin=0)
    assert not Token("abc").expired()  # unknown lifetime: let the server decide


def test_expires_in_as_a_string(server: FakeAuthServer) -> None:
    server.expires_in = "3599"  # some servers send the number as a string
    server.device_polls = ["grant"]
    token = OAuth2Client(
        server.provider(), CLIENT_ID, sleep=lambda _: None, wall_clock=lambda: 100.0
    ).device_flow(show=lambda _: None)
    assert token.expires_at == 3699.0


# -- secrets ------------------------------------------------------------------


def test_reprs_show_no_secret(server: FakeAuthServer) -> None:
    token = first_token(server)
    client = oauth(server)
    shown = repr(token) + str(token) + repr(client)
    assert token.access_token not in shown
    assert (token.refresh_token or "?") not in shown
    assert CLIENT_SECRET not in shown
    assert "refresh=yes" in repr(token)
    assert "expires=" in repr(token)


def test_server_echoing_secrets_in_its_error(server: FakeAuthServer) -> None:
    token = first_token(server)

    def echo(fake: FakeAuthServer, seen: Seen) -> Answer:
        # A server quoting everything it got back in its description.
        return Answer.json(
            400,
            {"error": "invalid_grant", "error_description": urllib.parse.urlencode(seen.form)},
        )

    server.routes[("POST", "/token")] = echo
    with pytest.raises(OAuth2Error) as caught:
        oauth(server).refresh(token)
    text = str(caught.value) + repr(caught.value) + str(caught.value.description)
    assert token.refresh_token
    assert token.refresh_token not in text
    assert urllib.parse.quote_plus(token.refresh_token) not in text
    assert CLIENT_SECRET not in text
    assert "invalid_grant" in text


def test_no_secret_in_any_failure_text(server: FakeAuthServer) -> None:
    """Every way the flows can fail, and none of their texts holds a secret."""
    failures: list[BaseException] = []
    for step in ("expired_token", "access_denied", "invalid_client", "server_error"):
        server.device_polls = ["authorization_pending", step]
        with pytest.raises(OAuth2Error) as caught:
            oauth(server).device_flow(show=lambda _: None)
        failures.append(caught.value)
    server.routes[("POST", "/token")] = lambda fake, seen: Answer(200, b"not json " * 3)
    server.device_polls = ["grant"]
    with pytest.raises(MalformedResponse) as malformed:
        oauth(server).device_flow(show=lambda _: None)
    failures.append(malformed.value)
    texts = " ".join(f"{exc}|{exc!r}|{vars(exc)}" for exc in failures)
    for secret in server.secrets_sent():
        assert secret not in texts


# -- endpoints ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://auth.example.com/token",
        "ftp://127.0.0.1/token",
        "file:///etc/passwd",
        "https://auth.example.com/token#frag",
        "https://auth.example.com/to ken",
        "https:///token",
    ],
)
def test_endpoints_need_https_except_on_loopback(url: str) -> None:
    provider = dataclasses.replace(GOOGLE, token_endpoint=url)
    with pytest.raises(ValueError, match="token_endpoint"):
        OAuth2Client(provider, CLIENT_ID)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/t", "http://localhost/t", "http://[::1]/t", "https://x.test/t"]
)
def test_loopback_http_is_allowed(url: str) -> None:
    provider = dataclasses.replace(GOOGLE, token_endpoint=url)
    assert OAuth2Client(provider, CLIENT_ID).provider.token_endpoint == url


def test_https_endpoint_with_a_callers_context() -> None:
    pki = make_pki()
    with FakeAuthServer(tls_context=pki.server_context("127.0.0.1")) as server:
        server.device_polls = ["grant"]
        token = oauth(server, ssl_context=pki.client_context()).device_flow(show=lambda _: None)
        assert server.base.startswith("https://")
        assert token.access_token == server.issued[-1]
        # Not trusted by the system store: verification fails, unwrapped.
        with pytest.raises(ssl.SSLCertVerificationError):
            oauth(server).device_flow(show=lambda _: None)


def test_redirects_are_not_followed(server: FakeAuthServer) -> None:
    server.routes[("POST", "/token")] = lambda fake, seen: Answer(
        307, b"", {"Location": f"{fake.base}/elsewhere"}
    )
    with pytest.raises(MalformedResponse, match="redirect"):
        oauth(server).refresh("1//refresh")
    assert server.requests_to("/elsewhere") == []


def test_unreachable_endpoint() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    provider = Provider("gone", f"http://127.0.0.1:{port}/a", f"http://127.0.0.1:{port}/t")
    with pytest.raises(TransportError, match="cannot reach"):
        OAuth2Client(provider, CLIENT_ID).refresh("1//refresh")


def test_error_without_json(server: FakeAuthServer) -> None:
    server.routes[("POST", "/token")] = lambda fake, seen: Answer(502, b"<html>bad gateway")
    with pytest.raises(OAuth2Error, match="HTTP 502") as caught:
        oauth(server).refresh("1//refresh")
    assert caught.value.status == 502


# -- presets --------------------------------------------------------------------


def test_provider_presets() -> None:
    # Google: "OAuth 2.0 Mechanism" (Gmail IMAP/SMTP) and the OAuth 2.0 endpoints.
    assert GOOGLE.scopes == (GMAIL_SCOPE,) == ("https://mail.google.com/",)
    assert GOOGLE.token_endpoint == "https://oauth2.googleapis.com/token"
    assert GOOGLE.authorization_endpoint == "https://accounts.google.com/o/oauth2/v2/auth"
    # Microsoft: "Authenticate an IMAP, POP or SMTP connection using OAuth".
    assert MICROSOFT.scopes == (
        OUTLOOK_SMTP_SCOPE,
        OUTLOOK_IMAP_SCOPE,
        OUTLOOK_POP_SCOPE,
        OUTLOOK_OFFLINE_ACCESS,
    )
    assert OUTLOOK_SMTP_SCOPE == "https://outlook.office.com/SMTP.Send"
    assert OUTLOOK_IMAP_SCOPE == "https://outlook.office.com/IMAP.AccessAsUser.All"
    assert OUTLOOK_POP_SCOPE == "https://outlook.office.com/POP.AccessAsUser.All"
    assert MICROSOFT.device_authorization_endpoint == (
        "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode"
    )
    assert microsoft("consumers").token_endpoint == (
        "https://login.microsoftonline.com/consumers/oauth2/v2.0/token"
    )
    with pytest.raises(ValueError, match="tenant"):
        microsoft("common/../evil")
    for provider in (GOOGLE, MICROSOFT):
        OAuth2Client(provider, "client-id")  # every preset endpoint passes the https rule


def test_an_endpoint_that_never_answers(server: FakeAuthServer) -> None:
    release = threading.Event()

    def stall(fake: FakeAuthServer, seen: Seen) -> Answer:
        release.wait(10)
        return Answer.json(200, {})

    server.routes[("POST", "/token")] = stall
    try:
        with pytest.raises(TransportError, match="did not answer"):
            oauth(server, timeout=0.2).refresh("1//refresh")
    finally:
        release.set()
