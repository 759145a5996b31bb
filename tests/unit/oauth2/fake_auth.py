"""A scripted OAuth 2.0 authorization server on 127.0.0.1 for the oauth2 tests.

It speaks the parts of RFC 6749, RFC 7636 and RFC 8628 that mailwire's client
uses, and checks what the client sends the way a real server must:

- ``POST /device`` (RFC 8628 §3.1-3.2) issues a device code and a user code;
- ``POST /token`` takes the device code grant (answering from the test's
  script: ``authorization_pending``, ``slow_down``, ``grant``...), the
  authorization code grant (the code must be one it issued, for the same
  ``redirect_uri``, and ``BASE64URL(SHA256(code_verifier))`` must equal the
  ``code_challenge`` of the authorization request, RFC 7636 §4.6), and the
  refresh token grant;
- ``GET /authorize`` (RFC 6749 §4.1.1) checks the request and redirects to
  the client's ``redirect_uri`` with a code, or with what the test scripted
  (an error, a wrong state).

Plain HTTP is fine here: the client allows it for loopback endpoints only.
With ``tls_context`` it serves HTTPS instead. A test can replace any route
with its own function to send malformed or oversized answers.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.server
import json
import secrets
import ssl
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from mailwire.oauth2 import Provider

CLIENT_ID = "mailwire-test-client"
CLIENT_SECRET = "client-secret-9f3b2c"
USER_CODE = "WDJB-MJHT"


@dataclasses.dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    form: dict[str, str]
    time: float | None


@dataclasses.dataclass
class Answer:
    """What a route sends back."""

    status: int
    body: bytes
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def json(cls, status: int, obj: object) -> Answer:
        return cls(status, json.dumps(obj).encode(), {"Content-Type": "application/json"})


Route = Callable[["FakeAuthServer", Seen], Answer]


def s256(verifier: str) -> str:
    """RFC 7636 §4.2, written independently of mailwire's code."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class FakeAuthServer:
    """See the module docstring.

    Attributes:
        device_polls: the answers to device token polls, in order: an OAuth
            error code, or ``"grant"`` for a token.
        authorize_outcome: ``"grant"``, ``"deny"``, ``"wrong_state"``,
            ``"no_state"`` or ``"error:<code>"``.
        issue_refresh_token: whether token answers carry a refresh token.
        seen: every request, in order.
        issued: every access token issued, in order.
        clock: when set, each request records ``clock()`` (a test's fake clock).
    """

    def __init__(self, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.device_polls: list[str] = []
        self.authorize_outcome = "grant"
        self.issue_refresh_token = True
        self.expires_in: int | str = 3599
        self.device_expires_in = 1800
        self.seen: list[Seen] = []
        self.issued: list[str] = []
        self.refresh_tokens: list[str] = []
        self.device_codes: list[str] = []
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (challenge, redirect_uri)
        self.clock: Callable[[], float] | None = None
        self.routes: dict[tuple[str, str], Route] = {
            ("POST", "/device"): FakeAuthServer._device,
            ("POST", "/token"): FakeAuthServer._token,
            ("GET", "/authorize"): FakeAuthServer._authorize,
        }
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        if tls_context is not None:
            self._httpd.socket = tls_context.wrap_socket(self._httpd.socket, server_side=True)
        self.scheme = "https" if tls_context is not None else "http"
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- the test's view ---------------------------------------------------------

    def __enter__(self) -> FakeAuthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def provider(self, scopes: tuple[str, ...] = ("https://mail.example.test/",)) -> Provider:
        return Provider(
            name="fake",
            authorization_endpoint=f"{self.base}/authorize",
            token_endpoint=f"{self.base}/token",
            device_authorization_endpoint=f"{self.base}/device",
            scopes=scopes,
        )

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def secrets_sent(self) -> list[str]:
        """Every secret value that crossed this server, for "never shown" checks."""
        values = [CLIENT_SECRET, *self.issued, *self.refresh_tokens, *self.device_codes]
        values += list(self.codes)
        values += [s.form[k] for s in self.seen for k in ("code_verifier",) if k in s.form]
        return values

    # -- routes ------------------------------------------------------------------

    def _check_client(self, seen: Seen) -> Answer | None:
        if seen.form.get("client_id") != CLIENT_ID:
            return Answer.json(401, {"error": "invalid_client"})
        return None

    def _device(self, seen: Seen) -> Answer:
        refused = self._check_client(seen)
        if refused:
            return refused
        device_code = "devcode-" + secrets.token_urlsafe(16)
        self.device_codes.append(device_code)
        return Answer.json(
            200,
            {
                "device_code": device_code,
                "user_code": USER_CODE,
                "verification_uri": f"{self.base}/device-page",
                "expires_in": self.device_expires_in,
                "interval": 5,
            },
        )

    def _grant(self, scope: str) -> Answer:
        access = "ya29.fake-" + secrets.token_urlsafe(24)
        self.issued.append(access)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": scope,
        }
        if self.issue_refresh_token:
            refresh = "1//refresh-" + secrets.token_urlsafe(24)
            self.refresh_tokens.append(refresh)
            body["refresh_token"] = refresh
        return Answer.json(200, body)

    def _token(self, seen: Seen) -> Answer:
        refused = self._check_client(seen)
        if refused:
            return refused
        form = seen.form
        grant = form.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            if form.get("device_code") not in self.device_codes:
                return Answer.json(400, {"error": "invalid_grant"})
            step = self.device_polls.pop(0) if self.device_polls else "authorization_pending"
            if step == "grant":
                return self._grant("https://mail.example.test/")
            return Answer.json(400, {"error": step, "error_description": f"scripted {step}"})
        if grant == "authorization_code":
            issued = self.codes.pop(form.get("code", ""), None)
            if issued is None:
                return Answer.json(400, {"error": "invalid_grant", "error_description": "code"})
            challenge, redirect_uri = issued
            if form.get("redirect_uri") != redirect_uri:
                return Answer.json(400, {"error": "invalid_grant", "error_description": "uri"})
            if s256(form.get("code_verifier", "")) != challenge:
                return Answer.json(
                    400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
                )
            return self._grant("https://mail.example.test/")
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return Answer.json(400, {"error": "invalid_grant", "error_description": "revoked"})
            return self._grant(form.get("scope", "https://mail.example.test/"))
        return Answer.json(400, {"error": "unsupported_grant_type"})

    def _authorize(self, seen: Seen) -> Answer:
        query = seen.form
        redirect_uri = query.get("redirect_uri", "")
        parts = urllib.parse.urlsplit(redirect_uri)
        ok = (
            query.get("client_id") == CLIENT_ID
            and query.get("response_type") == "code"
            and query.get("code_challenge_method") == "S256"
            and len(query.get("code_challenge", "")) == 43
            and parts.scheme == "http"
            and parts.hostname in ("127.0.0.1", "localhost")
        )
        if not ok:
            return Answer(400, b"bad authorization request")
        state = query.get("state", "")
        outcome = self.authorize_outcome
        if outcome == "grant":
            code = "authcode-" + secrets.token_urlsafe(16)
            self.codes[code] = (query["code_challenge"], redirect_uri)
            answer = {"code": code, "state": state}
        elif outcome == "wrong_state":
            code = "authcode-" + secrets.token_urlsafe(16)
            self.codes[code] = (query["code_challenge"], redirect_uri)
            answer = {"code": code, "state": state[::-1] + "x"}
        elif outcome == "no_state":
            code = "authcode-" + secrets.token_urlsafe(16)
            self.codes[code] = (query["code_challenge"], redirect_uri)
            answer = {"code": code}
        elif outcome == "deny":
            answer = {
                "error": "access_denied",
                "error_description": "The user said no",
                "state": state,
            }
        else:
            answer = {"error": outcome.removeprefix("error:"), "state": state}
        location = redirect_uri + "?" + urllib.parse.urlencode(answer)
        return Answer(302, b"", {"Location": location})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeAuthServer

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (a timeout test) is no error of the fake's."""


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        parts = urllib.parse.urlsplit(self.path)
        if method == "POST":
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode("ascii")
            assert self.headers.get("Content-Type") == "application/x-www-form-urlencoded"
        else:
            raw = parts.query
        form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        with fake._lock:
            seen = Seen(method, parts.path, form, fake.clock() if fake.clock else None)
            fake.seen.append(seen)
            route = fake.routes.get((method, parts.path))
            answer = route(fake, seen) if route else Answer(404, b"no such route")
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            if value:  # an empty value means "do not send this header"
                self.send_header(name, value)
        if "Content-Length" not in answer.headers:
            self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeClock:
    """Monotonic time that moves only when the code under test sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
