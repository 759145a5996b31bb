"""POP3 credentials and transcripts: security.md S38, S39, S40, S41.

S40 runs every way a POP3 client can send a secret -- PASS, the APOP digest,
AUTH PLAIN with an initial response and after a challenge, AUTH LOGIN,
XOAUTH2 and OAUTHBEARER -- and looks for the secret, and its base64, in
every place it could leak: transcript objects and every rendering, the JSON
Lines export, log records, exception texts and reprs.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailwire import AuthenticationError, POP3ErrorReply, SecurityError
from mailwire.pop3 import Apop
from tests.support.server import Peer
from tests.unit.pop3.helpers import FakePOP3, Sync, plain_client_args

PASSWORD = "Tanstaaf-S3cret"
TOKEN = "ya29.secret-token-Zq8"
CAPA = b"+OK\r\nUSER\r\nSASL PLAIN LOGIN XOAUTH2 OAUTHBEARER CRAM-MD5\r\n.\r\n"


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


def sasl_server(*, refuse: bool = False) -> dict[str, Any]:
    """Accepts any AUTH: answers each continuation with "+ " until a second line."""

    def auth(server: FakePOP3, peer: Peer, line: bytes) -> bytes:
        words = line.split()
        lines_due = 0 if len(words) > 2 else 1
        if words[1] == b"LOGIN":
            lines_due = 2
        for _ in range(lines_due):
            peer.send(b"+ \r\n")
            peer.recv_line()
        return b"-ERR [AUTH] no\r\n" if refuse else b"+OK welcome\r\n"

    return {
        "CAPA": CAPA,
        "USER": b"+OK\r\n",
        "PASS": b"-ERR [AUTH] no\r\n" if refuse else b"+OK\r\n",
        "APOP": b"-ERR [AUTH] no\r\n" if refuse else b"+OK\r\n",
        "AUTH": auth,
        "STAT": b"+OK 0 0\r\n",
        "QUIT": b"+OK\r\n",
    }


def secrets_of(password: str = PASSWORD, server: tuple[str, int] | None = None) -> list[str]:
    plain = b"\0mrose\0" + password.encode()
    xoauth = f"user=mrose\x01auth=Bearer {TOKEN}\x01\x01".encode()
    # RFC 7628 §3.1: GS2 header, then key/value pairs separated by ^A; the
    # client names the server it connected to (host, port) when it knows it.
    where = f"host={server[0]}\x01port={server[1]}\x01" if server else ""
    bearer = f"n,a=mrose,\x01{where}auth=Bearer {TOKEN}\x01\x01".encode()
    digest = Apop.from_secret("mrose", "<1896.697170952@dbc.mtview.ca.us>", password).digest
    return [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(plain).decode(),
        TOKEN,
        base64.b64encode(xoauth).decode(),
        base64.b64encode(bearer).decode(),
        digest,
    ]


LOGINS: dict[str, Callable[[Sync], object]] = {
    "user-pass": lambda c: c.login("mrose", PASSWORD, mechanisms=["USER"]),
    "apop": lambda c: c.apop("mrose", PASSWORD),
    "plain-initial": lambda c: c.login("mrose", PASSWORD, mechanisms=["PLAIN"]),
    "plain-challenge": lambda c: c.login(
        "mrose", PASSWORD, mechanisms=["PLAIN"], initial_response=False
    ),
    "login": lambda c: c.login("mrose", PASSWORD, mechanisms=["LOGIN"]),
    "xoauth2": lambda c: c.login("mrose", token=TOKEN, mechanisms=["XOAUTH2"]),
    "oauthbearer": lambda c: c.login("mrose", token=TOKEN, mechanisms=["OAUTHBEARER"]),
}


def everywhere(c: Sync, *extra: str) -> str:
    transcript = c.client.transcript
    parts = [transcript.render(style) for style in ("text", "annotated", "raw")]
    parts += [transcript.to_jsonl(), repr(transcript), repr(c.client), repr(c.client.connection)]
    parts += [repr(record) for record in transcript.records]
    parts += [record.data.decode("latin-1") for record in transcript.records]
    return "\n".join([*parts, *extra])


@pytest.mark.parametrize("how", sorted(LOGINS))
def test_s40_secrets_are_never_recorded(
    session: Callable[..., Sync], how: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakePOP3(sasl_server()) as server:
        c = session(server)
        c.connect()
        LOGINS[how](c)
        c.quit()
    # The secret did go to the server: the test would be empty otherwise.
    sent = server.received.decode("latin-1")
    secrets = secrets_of() + secrets_of(server=(c.client.host, c.client.port))
    assert any(secret in sent for secret in secrets)
    text = everywhere(c, caplog.text)
    for secret in secrets:
        assert secret not in text, (how, secret)
    assert "<redacted" in c.client.transcript.render()
    # Only the sizes of the secrets are kept (Transcript keep_secrets=False).
    assert all(r.data == b"" for r in c.client.transcript.records if r.sensitive)


@pytest.mark.parametrize("how", sorted(LOGINS))
def test_s40_refusals_carry_no_secret(session: Callable[..., Sync], how: str) -> None:
    with FakePOP3(sasl_server(refuse=True)) as server:
        c = session(server)
        c.connect()
        with pytest.raises(AuthenticationError) as info:
            LOGINS[how](c)
    error = info.value
    text = everywhere(c, str(error), repr(error), str(error.reply), repr(error.__cause__))
    for secret in secrets_of() + secrets_of(server=(c.client.host, c.client.port)):
        assert secret not in text
    assert error.reply is not None
    assert error.reply.code == "AUTH"


def test_s40_revealed_only_when_asked(session: Callable[..., Sync]) -> None:
    from mailwire.transcript import Transcript

    transcript = Transcript(keep_secrets=True)
    with FakePOP3(sasl_server()) as server:
        c = session(server, transcript=transcript)
        c.connect()
        c.login("mrose", PASSWORD, mechanisms=["USER"])
        c.quit()
    assert PASSWORD not in transcript.render()
    assert f"PASS <secret {PASSWORD}>" in transcript.render(reveal_secrets=True)


# ---------------------------------------------------------------- S38, S39


def test_s38_no_authentication_over_plaintext(session: Callable[..., Sync]) -> None:
    with FakePOP3(sasl_server()) as server:
        c = session(server, allow_plaintext_auth=False)
        c.connect()
        with pytest.raises(SecurityError, match="without TLS"):
            c.login("mrose", PASSWORD)
        with pytest.raises(SecurityError):
            c.apop("mrose", PASSWORD)
        with pytest.raises(SecurityError):
            c.authenticate("PLAIN", "mrose", PASSWORD)
        c.quit()
    assert server.verbs() == ["CAPA", "QUIT"]
    assert PASSWORD.encode() not in server.received


def test_s39_no_acceptable_mechanism(session: Callable[..., Sync]) -> None:
    # Only CRAM-MD5 and an APOP timestamp: neither is used unless enabled.
    answers = {**sasl_server(), "CAPA": b"+OK\r\nSASL CRAM-MD5\r\n.\r\n"}
    with FakePOP3(answers) as server:
        c = session(server)
        c.connect()
        assert c.greeting.timestamp is not None
        with pytest.raises(AuthenticationError, match="no acceptable"):
            c.login("mrose", PASSWORD)
        c.quit()
    assert server.verbs() == ["CAPA", "QUIT"]


def test_s39_apop_only_when_enabled(session: Callable[..., Sync]) -> None:
    answers = {**sasl_server(), "CAPA": b"+OK\r\nUSER\r\n.\r\n"}
    with FakePOP3(answers) as server:
        c = session(server)
        c.connect()
        c.login("mrose", PASSWORD)
        c.quit()
    assert "APOP" not in server.verbs()
    with FakePOP3(answers) as server:
        c = session(server, enable_apop=True)
        c.connect()
        c.login("mrose", PASSWORD)
        c.quit()
    assert server.verbs()[1] == "APOP"


def test_s39_one_attempt_only(session: Callable[..., Sync]) -> None:
    with FakePOP3(sasl_server(refuse=True)) as server:
        c = session(server)
        c.connect()
        with pytest.raises(AuthenticationError):
            c.login("mrose", PASSWORD)
        c.quit()
    assert server.verbs() == ["CAPA", "AUTH", "QUIT"]


# ---------------------------------------------------------------- S41

HOSTILE = b"\x1b]0;pwned\x07 \x1b[2J \xc2\x9b \xe2\x80\xae evil \x00 end"
RAW = ["\x1b", "\x07", "\x9b", "\u202e", "\x00"]


def test_s41_server_text_is_escaped(session: Callable[..., Sync]) -> None:
    answers = {"CAPA": b"-ERR " + HOSTILE + b"\r\n", "NOOP": b"-ERR " + HOSTILE + b"\r\n"}
    greeting = b"+OK " + HOSTILE + b" <1896.697170952@dbc.mtview.ca.us>\r\n"
    with FakePOP3(answers, greeting=greeting) as server:
        c = session(server)
        c.connect()
        texts = [c.greeting.text]
        c.client.connection.state = c.client.connection.state.TRANSACTION  # to send NOOP
        with pytest.raises(POP3ErrorReply) as info:
            c.noop()
        texts += [str(info.value), info.value.text, repr(info.value)]
        texts += [c.client.transcript.render(style) for style in ("text", "annotated")]
    for text in texts:
        for raw in RAW:
            assert raw not in text, (raw, text[:80])
    assert "\\x1b]0;pwned" in c.greeting.text
    assert server.verbs() == ["CAPA", "NOOP"]  # the exchange happened
