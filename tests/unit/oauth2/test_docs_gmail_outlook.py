"""docs/gmail-outlook.md: every offline example runs; the account-only ones compile.

Blocks fenced ```python run here, against local servers: the token helpers on
a temporary file, and ``send_with_token`` against aiosmtpd with TLS that
accepts the bearer token the fake authorization server issued. Blocks fenced
```python network need a Google or Microsoft account; they are compiled, so
a renamed function or a syntax slip still fails, but not run.
"""

from __future__ import annotations

import pathlib
import re
import stat
from collections.abc import Iterator
from typing import Any

import pytest

from mailwire import TLSMode
from mailwire.oauth2 import OAuth2Client, Token
from tests.support.tls import PKI, make_pki
from tests.unit.oauth2.bearer_smtpd import BearerSMTPServer
from tests.unit.oauth2.fake_auth import CLIENT_ID, FakeAuthServer, FakeClock

DOC = pathlib.Path(__file__).parents[3] / "docs" / "gmail-outlook.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def run(code: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    namespace = {} if namespace is None else namespace
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


def test_the_page_has_both_kinds() -> None:
    assert len(blocks("python")) == 2
    assert len(blocks("python network")) >= 6
    for code in blocks("python network"):
        assert code.startswith("# needs an account: not run by the tests\n")


def test_network_examples_compile() -> None:
    for code in blocks("python network"):
        compile(code, str(DOC), "exec")


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


@pytest.fixture
def token() -> Iterator[Token]:
    with FakeAuthServer() as auth:
        auth.device_polls = ["grant"]
        clock = FakeClock()
        oauth = OAuth2Client(auth.provider(), CLIENT_ID, clock=clock, sleep=clock.sleep)
        yield oauth.device_flow(show=lambda _: None)


def test_token_file_example(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    (code,) = [c for c in blocks("python") if "def save_token" in c]
    namespace = run(code)
    assert capsys.readouterr().out == "False\nFalse False\n"
    path = tmp_path / "token.json"
    token = namespace["token"]
    namespace["save_token"](path, token)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert namespace["load_token"](path) == token


def test_send_with_token_example(
    pki: PKI, token: Token, capsys: pytest.CaptureFixture[str]
) -> None:
    (code,) = [c for c in blocks("python") if "def send_with_token" in c]
    send_with_token = run(code)["send_with_token"]
    message = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: doc\r\n\r\nhi\r\n"
    with BearerSMTPServer(
        pki.server_context("127.0.0.1"), {token.access_token: "alice@example.test"}
    ) as server:
        result = send_with_token(
            server.host,
            server.port,
            "alice@example.test",
            token.access_token,
            message,
            tls=TLSMode.IMPLICIT,
            ssl_context=pki.client_context(),
        )
    assert server.recorded.logins == [("XOAUTH2", "alice@example.test")]
    assert server.recorded.messages[0][2] == message
    assert not result.refused
    out = capsys.readouterr().out
    assert "AUTH XOAUTH2" in out
    assert "<redacted" in out
    assert token.access_token not in out
