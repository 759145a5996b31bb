"""Authorization code + PKCE with a loopback redirect (RFC 6749 §4.1, RFC 7636, RFC 8252 §7.3).

The "browser" is urllib: it opens the authorization URL on the fake server,
follows the 302 to the redirect URI, and so reaches mailwire's listener, as a
real browser would after the user approved.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from mailwire.errors import SecurityError
from mailwire.oauth2 import (
    AuthorizationDenied,
    AuthorizationExpired,
    OAuth2Client,
    OAuth2Error,
    StateMismatch,
)
from tests.unit.oauth2.fake_auth import CLIENT_ID, CLIENT_SECRET, FakeAuthServer, s256

# A browser that does not go through any proxy set in the environment.
BROWSER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def server() -> Iterator[FakeAuthServer]:
    with FakeAuthServer() as fake:
        yield fake


@pytest.fixture
def oauth(server: FakeAuthServer) -> OAuth2Client:
    return OAuth2Client(server.provider(), CLIENT_ID, client_secret=CLIENT_SECRET)


class Browser:
    """Follows the authorization URL like a browser would; remembers what it saw."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.pages: list[bytes] = []
        self.landed: list[str] = []

    def __call__(self, url: str) -> None:
        self.urls.append(url)
        with BROWSER.open(url, timeout=10) as response:
            self.landed.append(response.url)
            self.pages.append(response.read())


def test_success(server: FakeAuthServer, oauth: OAuth2Client) -> None:
    browser = Browser()
    token = oauth.loopback_flow(open_url=browser)
    assert token.access_token == server.issued[-1]
    assert token.refresh_token == server.refresh_tokens[-1]

    (url,) = browser.urls
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert url.startswith(f"{server.base}/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["scope"] == "https://mail.example.test/"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32
    redirect = urllib.parse.urlsplit(query["redirect_uri"])
    # RFC 8252 §7.3: http, the loopback IP literal, an ephemeral port.
    assert (redirect.scheme, redirect.hostname, redirect.path) == ("http", "127.0.0.1", "/")
    assert redirect.port
    assert browser.landed[0].startswith(query["redirect_uri"] + "?")
    assert b"You can close this tab" in browser.pages[0]
    # The code went to the token endpoint with the verifier of the challenge (§4.5).
    exchange = server.requests_to("/token")[-1].form
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["redirect_uri"] == query["redirect_uri"]
    assert s256(exchange["code_verifier"]) == query["code_challenge"]
    assert exchange["client_secret"] == CLIENT_SECRET
    # One request served, then closed: nothing listens on that port any more.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", redirect.port), 2):
        pass


def test_the_fake_server_really_checks_pkce(server: FakeAuthServer, oauth: OAuth2Client) -> None:
    """Without this, a passing test_success would not show that PKCE was verified."""
    caught: list[str] = []

    def browser(url: str) -> None:
        # Get a code, but keep the redirect from reaching mailwire's listener.
        no_follow = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoFollow())
        try:
            no_follow.open(url, timeout=10)
        except urllib.error.HTTPError as exc:
            caught.append(exc.headers["Location"])

    with pytest.raises(AuthorizationExpired):
        oauth.loopback_flow(open_url=browser, wait=0.2)
    location = urllib.parse.urlsplit(caught[0])
    code = dict(urllib.parse.parse_qsl(location.query))["code"]
    redirect_uri = f"{location.scheme}://{location.netloc}{location.path}"
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": CLIENT_ID,
        "code_verifier": "not-the-verifier-" + "x" * 40,
    }
    with pytest.raises(urllib.error.HTTPError) as refused:
        BROWSER.open(
            urllib.request.Request(
                f"{server.base}/token",
                data=urllib.parse.urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            timeout=10,
        )
    assert refused.value.code == 400
    assert b"PKCE verification failed" in refused.value.read()


class _NoFollow(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.mark.parametrize("outcome", ["wrong_state", "no_state"])
def test_state_mismatch_is_refused(
    server: FakeAuthServer, oauth: OAuth2Client, outcome: str
) -> None:
    server.authorize_outcome = outcome
    with pytest.raises(StateMismatch) as caught:
        oauth.loopback_flow(open_url=Browser())
    assert isinstance(caught.value, SecurityError)
    assert "nothing was exchanged" in str(caught.value)
    assert server.requests_to("/token") == []  # the forged code was never used


def test_forged_redirect_from_another_page(server: FakeAuthServer, oauth: OAuth2Client) -> None:
    """A page the user visits points the browser at the listener with its own code."""

    def attacker(url: str) -> None:
        redirect_uri = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))[
            "redirect_uri"
        ]
        forged = redirect_uri + "?" + urllib.parse.urlencode({"code": "attacker-code"})
        BROWSER.open(forged, timeout=10).close()

    with pytest.raises(StateMismatch):
        oauth.loopback_flow(open_url=attacker)
    assert server.requests_to("/token") == []


def test_access_denied(server: FakeAuthServer, oauth: OAuth2Client) -> None:
    server.authorize_outcome = "deny"
    with pytest.raises(AuthorizationDenied) as caught:
        oauth.loopback_flow(open_url=Browser())
    assert caught.value.error == "access_denied"
    assert "The user said no" in str(caught.value)
    assert server.requests_to("/token") == []


def test_other_authorization_error(server: FakeAuthServer, oauth: OAuth2Client) -> None:
    server.authorize_outcome = "error:invalid_scope"
    with pytest.raises(OAuth2Error) as caught:
        oauth.loopback_flow(open_url=Browser())
    assert type(caught.value) is OAuth2Error
    assert caught.value.error == "invalid_scope"


def test_other_paths_get_404_and_the_wait_goes_on(
    server: FakeAuthServer, oauth: OAuth2Client
) -> None:
    statuses: list[int] = []

    def browser(url: str) -> None:
        redirect_uri = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))[
            "redirect_uri"
        ]
        try:
            BROWSER.open(redirect_uri + "favicon.ico", timeout=10)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
        Browser()(url)

    token = oauth.loopback_flow(open_url=browser)
    assert statuses == [404]
    assert token.access_token == server.issued[-1]


def test_no_redirect_in_time(oauth: OAuth2Client) -> None:
    with pytest.raises(AuthorizationExpired, match="no redirect"):
        oauth.loopback_flow(open_url=lambda url: None, wait=0.05)


def test_localhost_redirect_host(server: FakeAuthServer, oauth: OAuth2Client) -> None:
    browser = Browser()
    oauth.loopback_flow(open_url=browser, redirect_host="localhost")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(browser.urls[0]).query))
    assert urllib.parse.urlsplit(query["redirect_uri"]).hostname == "localhost"
    with pytest.raises(ValueError, match=r"127\.0\.0\.1 or localhost"):
        oauth.loopback_flow(open_url=browser, redirect_host="0.0.0.0")


def test_extra_params_and_scopes(server: FakeAuthServer, oauth: OAuth2Client) -> None:
    browser = Browser()
    oauth.loopback_flow(
        ["https://mail.example.test/", "offline_access"],
        open_url=browser,
        extra_params={"login_hint": "alice@example.test"},
    )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(browser.urls[0]).query))
    assert query["scope"] == "https://mail.example.test/ offline_access"
    assert query["login_hint"] == "alice@example.test"
    with pytest.raises(ValueError, match="bad scope"):
        oauth.loopback_flow('bad"scope', open_url=browser)
    for name in ("state", "code_challenge", "redirect_uri"):
        with pytest.raises(ValueError, match=f"cannot set {name}"):
            oauth.loopback_flow(open_url=browser, extra_params={name: "x"})
    assert len(browser.urls) == 1  # nothing was started for the refused calls


def test_the_listener_logs_nothing(
    server: FakeAuthServer, oauth: OAuth2Client, capfd: pytest.CaptureFixture[str]
) -> None:
    oauth.loopback_flow(open_url=Browser())
    out, err = capfd.readouterr()
    code_requests = [seen for seen in server.seen if seen.path == "/token"]
    code = code_requests[-1].form["code"]
    assert code not in out + err
    assert "GET /?" not in err  # http.server's default access log line


def test_open_url_failure_closes_the_listener(oauth: OAuth2Client) -> None:
    ports: list[int] = []

    def broken(url: str) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        ports.append(urllib.parse.urlsplit(query["redirect_uri"]).port or 0)
        raise RuntimeError("no browser here")

    with pytest.raises(RuntimeError, match="no browser"):
        oauth.loopback_flow(open_url=broken)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", ports[0]), 2):
        pass
