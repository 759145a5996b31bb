"""The device authorization grant (RFC 8628) against the fake authorization server.

Time is a fake clock that moves only when the client sleeps, so the polling
schedule is checked as numbers (how long the client waited before each poll),
and the tests take no real time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailwire import MailwireError
from mailwire.oauth2 import (
    AuthorizationDenied,
    AuthorizationExpired,
    DeviceAuthorization,
    MalformedResponse,
    OAuth2Client,
    OAuth2Error,
)
from tests.unit.oauth2.fake_auth import (
    CLIENT_ID,
    CLIENT_SECRET,
    USER_CODE,
    Answer,
    FakeAuthServer,
    FakeClock,
    Seen,
)


@pytest.fixture
def server() -> Iterator[FakeAuthServer]:
    with FakeAuthServer() as fake:
        yield fake


@pytest.fixture
def clock(server: FakeAuthServer) -> FakeClock:
    fake = FakeClock()
    server.clock = fake
    return fake


def client(server: FakeAuthServer, clock: FakeClock, **kwargs: object) -> OAuth2Client:
    return OAuth2Client(
        server.provider(),
        CLIENT_ID,
        client_secret=CLIENT_SECRET,
        clock=clock,
        sleep=clock.sleep,
        wall_clock=lambda: 1_700_000_000.0,
        **kwargs,  # type: ignore[arg-type]
    )


def poll_times(server: FakeAuthServer) -> list[float]:
    return [seen.time for seen in server.requests_to("/token") if seen.time is not None]


def test_success_after_pending_and_slow_down(server: FakeAuthServer, clock: FakeClock) -> None:
    server.device_polls = ["authorization_pending", "slow_down", "authorization_pending", "grant"]
    shown: list[DeviceAuthorization] = []
    token = client(server, clock).device_flow(show=shown.append)

    (authorization,) = shown
    assert authorization.user_code == USER_CODE
    assert authorization.verification_uri == f"{server.base}/device-page"
    assert authorization.interval == 5
    assert authorization.expires_in == 1800
    assert token.access_token == server.issued[-1]
    assert token.refresh_token == server.refresh_tokens[-1]
    assert token.scope == ("https://mail.example.test/",)
    assert token.expires_at == 1_700_000_000.0 + 3599
    # §3.5: wait `interval` (5 s) before each poll; after slow_down, 5 s more for
    # that request and all later ones.
    assert clock.sleeps == [5, 5, 10, 10]
    times = poll_times(server)
    assert [b - a for a, b in zip([1000.0, *times], times, strict=False)] == [5, 5, 10, 10]
    # §3.4: the poll names the grant type, the device code and the client.
    (device_request,) = server.requests_to("/device")
    assert device_request.form["scope"] == "https://mail.example.test/"
    poll = server.requests_to("/token")[0].form
    assert poll["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"
    assert poll["device_code"] == server.device_codes[0]
    assert poll["client_id"] == CLIENT_ID


def test_expired_token_stops_polling(server: FakeAuthServer, clock: FakeClock) -> None:
    server.device_polls = ["authorization_pending", "expired_token", "grant"]
    with pytest.raises(AuthorizationExpired) as caught:
        client(server, clock).device_flow(show=lambda _: None)
    assert caught.value.error == "expired_token"
    assert caught.value.status == 400
    assert len(server.requests_to("/token")) == 2  # nothing after expired_token


@pytest.mark.parametrize("error", ["access_denied", "authorization_declined"])
def test_denied(server: FakeAuthServer, clock: FakeClock, error: str) -> None:
    # access_denied is RFC 8628 §3.5; Microsoft's device flow says authorization_declined.
    server.device_polls = ["authorization_pending", error]
    with pytest.raises(AuthorizationDenied) as caught:
        client(server, clock).device_flow(show=lambda _: None)
    assert caught.value.error == error
    assert isinstance(caught.value, MailwireError)
    assert len(server.requests_to("/token")) == 2


def test_other_error_is_reported(server: FakeAuthServer, clock: FakeClock) -> None:
    server.device_polls = ["invalid_scope"]
    with pytest.raises(OAuth2Error) as caught:
        client(server, clock).device_flow(show=lambda _: None)
    assert type(caught.value) is OAuth2Error
    assert caught.value.error == "invalid_scope"
    assert "scripted invalid_scope" in str(caught.value)


def test_deadline_when_the_user_never_answers(server: FakeAuthServer, clock: FakeClock) -> None:
    # The server answers authorization_pending for ever.
    server.device_expires_in = 60
    with pytest.raises(AuthorizationExpired, match="within 60 s"):
        client(server, clock).device_flow(show=lambda _: None)
    assert sum(clock.sleeps) == 60
    assert len(server.requests_to("/token")) == 60 // 5


def test_a_clock_that_does_not_move_still_ends(server: FakeAuthServer) -> None:
    server.device_expires_in = 60
    stuck = OAuth2Client(server.provider(), CLIENT_ID, clock=lambda: 0.0, sleep=lambda _: None)
    with pytest.raises(AuthorizationExpired):
        stuck.device_flow(show=lambda _: None)
    assert len(server.requests_to("/token")) <= 60 // 5 + 2


def test_google_spelling_verification_url(server: FakeAuthServer, clock: FakeClock) -> None:
    def google_device(fake: FakeAuthServer, seen: Seen) -> Answer:
        fake.device_codes.append("dc-google")
        return Answer.json(
            200,
            {
                "device_code": "dc-google",
                "user_code": "GQVQ-JKEC",
                "verification_url": "https://www.google.com/device",
                "expires_in": "1800",
                "interval": 5,
            },
        )

    server.routes[("POST", "/device")] = google_device
    server.device_polls = ["grant"]
    shown: list[DeviceAuthorization] = []
    client(server, clock).device_flow(show=shown.append)
    assert shown[0].verification_uri == "https://www.google.com/device"
    assert shown[0].expires_in == 1800
    assert "dc-google" not in repr(shown[0])


def test_default_interval_is_five_seconds(server: FakeAuthServer, clock: FakeClock) -> None:
    def no_interval(fake: FakeAuthServer, seen: Seen) -> Answer:
        fake.device_codes.append("dc-1")
        return Answer.json(
            200,
            {
                "device_code": "dc-1",
                "user_code": "A",
                "verification_uri": "https://x.test/d",
                "expires_in": 60,
            },
        )

    server.routes[("POST", "/device")] = no_interval
    server.device_polls = ["grant"]
    client(server, clock).device_flow(show=lambda _: None)
    assert clock.sleeps == [5]  # RFC 8628 §3.2: 5 s when the server names no interval


def test_malformed_json(server: FakeAuthServer, clock: FakeClock) -> None:
    server.routes[("POST", "/device")] = lambda fake, seen: Answer(
        200, b'{"device_code": "dc", "user_code": ', {"Content-Type": "application/json"}
    )
    with pytest.raises(MalformedResponse, match="not a JSON object"):
        client(server, clock).device_flow(show=lambda _: None)


def test_json_that_is_not_an_object(server: FakeAuthServer, clock: FakeClock) -> None:
    server.routes[("POST", "/device")] = lambda fake, seen: Answer.json(200, ["device_code"])
    with pytest.raises(MalformedResponse, match="not a JSON object"):
        client(server, clock).device_flow(show=lambda _: None)


def test_deeply_nested_json(server: FakeAuthServer, clock: FakeClock) -> None:
    server.routes[("POST", "/device")] = lambda fake, seen: Answer(200, b"[" * 60000)
    with pytest.raises(MalformedResponse):
        client(server, clock).device_flow(show=lambda _: None)


def test_missing_fields(server: FakeAuthServer, clock: FakeClock) -> None:
    server.routes[("POST", "/device")] = lambda fake, seen: Answer.json(
        200, {"device_code": "dc", "expires_in": 60}
    )
    with pytest.raises(MalformedResponse, match="user_code"):
        client(server, clock).device_flow(show=lambda _: None)


def test_terminal_escapes_in_user_code_are_refused(
    server: FakeAuthServer, clock: FakeClock
) -> None:
    server.routes[("POST", "/device")] = lambda fake, seen: Answer.json(
        200,
        {
            "device_code": "dc",
            "user_code": "\x1b]0;pwned\x07",
            "verification_uri": "https://x",
            "expires_in": 60,
        },
    )
    with pytest.raises(MalformedResponse):
        client(server, clock).device_flow(show=lambda _: None)


def test_oversized_body_declared(server: FakeAuthServer, clock: FakeClock) -> None:
    server.routes[("POST", "/device")] = lambda fake, seen: Answer(200, b" " * 70_000)
    with pytest.raises(MalformedResponse, match="declares 70000 bytes") as caught:
        client(server, clock).device_flow(show=lambda _: None)
    assert caught.value.limit == 64 * 1024


def test_oversized_body_without_length(server: FakeAuthServer, clock: FakeClock) -> None:
    # No Content-Length: the body ends when the connection closes (HTTP/1.0).
    body = b'{"pad": "' + b"x" * 5000 + b'"}'
    server.routes[("POST", "/device")] = lambda fake, seen: Answer(
        200, body, {"Content-Length": "", "Connection": "close"}
    )
    with pytest.raises(MalformedResponse, match="over the 4096-byte limit; stopped reading"):
        client(server, clock, max_response_bytes=4096).device_flow(show=lambda _: None)


def test_content_length_that_is_not_ascii_digits(server: FakeAuthServer, clock: FakeClock) -> None:
    # "\u00b2" (superscript two, one Latin-1 byte) passes str.isdigit() but not
    # int(): it used to escape as a bare ValueError. It counts as no length.
    body = b'{"pad": "' + b"x" * 5000 + b'"}'
    server.routes[("POST", "/device")] = lambda fake, seen: Answer(
        200, body, {"Content-Length": "\u00b2", "Connection": "close"}
    )
    with pytest.raises(MalformedResponse, match="over the 4096-byte limit; stopped reading"):
        client(server, clock, max_response_bytes=4096).device_flow(show=lambda _: None)


def test_bad_token_response(server: FakeAuthServer, clock: FakeClock) -> None:
    def token(fake: FakeAuthServer, seen: Seen) -> Answer:
        return Answer.json(200, {"access_token": "abc\x01def", "token_type": "Bearer"})

    server.routes[("POST", "/token")] = token
    with pytest.raises(MalformedResponse, match="RFC 6750") as caught:
        client(server, clock).device_flow(show=lambda _: None)
    assert "abc" not in str(caught.value)


def test_non_bearer_token_is_refused(server: FakeAuthServer, clock: FakeClock) -> None:
    server.routes[("POST", "/token")] = lambda fake, seen: Answer.json(
        200, {"access_token": "abc", "token_type": "mac"}
    )
    with pytest.raises(MalformedResponse, match="Bearer"):
        client(server, clock).device_flow(show=lambda _: None)


def test_no_device_endpoint(server: FakeAuthServer, clock: FakeClock) -> None:
    import dataclasses

    provider = dataclasses.replace(server.provider(), device_authorization_endpoint=None)
    with pytest.raises(OAuth2Error, match="no device authorization endpoint"):
        OAuth2Client(provider, CLIENT_ID).device_flow(show=lambda _: None)
