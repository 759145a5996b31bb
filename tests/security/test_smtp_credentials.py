"""Credentials and transcripts: security.md S38 (no plaintext auth), S39 (mechanism
policy), S40 (secrets never recorded) and S41 (transcripts safe to print).
"""

from __future__ import annotations

import base64
import logging
import re
import traceback
from typing import Any

import pytest

from mailwire import (
    AuthenticationError,
    RemoteProtocolError,
    SecurityError,
    TLSMode,
    Transcript,
)
from tests.security.smtp_support import (
    PKI,
    FakeSMTP,
    Sync,
    fake_smtp,
    kind,
    pki,
    plain_client,
)
from tests.support.server import Peer

__all__ = ["kind", "pki"]

USER = "alice@x.test"
PASSWORD = "hunter2-S3cr3t!"
TOKEN = "ya29.SECRET-BEARER-TOKEN"
EHLO_ALL = b"250-mx.test\r\n250 AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER CRAM-MD5\r\n"


def b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


class AuthServer:
    """Replies for FakeSMTP that run a SASL exchange to ``outcome``."""

    def __init__(self, outcome: bytes = b"235 2.7.0 ok\r\n") -> None:
        self.outcome = outcome

    def auth(self, _srv: FakeSMTP, peer: Peer, line: bytes) -> bytes:
        words = line.split()
        if len(words) >= 3:  # initial response given (SASL-IR)
            return self.outcome
        if words[1].upper() == b"LOGIN":
            peer.steps = 2  # type: ignore[attr-defined]
            return b"334 VXNlcm5hbWU6\r\n"
        if words[1].upper() == b"CRAM-MD5":
            peer.steps = 1  # type: ignore[attr-defined]
            return b"334 " + base64.b64encode(b"<1896.697170952@mx.test>") + b"\r\n"
        peer.steps = 1  # type: ignore[attr-defined]
        return b"334 \r\n"

    def response(self, _srv: FakeSMTP, peer: Peer, _line: bytes) -> bytes:
        peer.steps -= 1  # type: ignore[attr-defined]
        if peer.steps > 0:  # type: ignore[attr-defined]
            return b"334 UGFzc3dvcmQ6\r\n"
        return self.outcome

    def replies(self) -> dict[str, Any]:
        return {"AUTH": self.auth, "AUTH-RESPONSE": self.response}


def auth_server(outcome: bytes = b"235 2.7.0 ok\r\n", **kwargs: Any) -> FakeSMTP:
    kwargs.setdefault("ehlo", EHLO_ALL)
    return FakeSMTP(AuthServer(outcome).replies(), **kwargs)


# ---------------------------------------------------------------------- S38


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": USER, "password": PASSWORD},
        {"username": USER, "password": PASSWORD, "mechanisms": ["LOGIN"]},
        {"username": USER, "token": TOKEN},
    ],
    ids=["password", "login", "token"],
)
def test_s38_plaintext_auth_refused(kind: str, credentials: dict[str, Any]) -> None:
    """S38: no AUTH over plaintext without ``allow_plaintext_auth=True``; nothing sent."""
    with auth_server() as srv, plain_client(kind, srv) as c:
        c.connect()
        with pytest.raises(SecurityError, match="without TLS"):
            c.login(**credentials)
        assert c.noop().code == 250  # nothing was sent; the session goes on
        c.quit()
    assert b"AUTH" not in srv.received
    assert PASSWORD.encode() not in srv.received
    assert [line.split()[0] for line in srv.commands] == [b"EHLO", b"NOOP", b"QUIT"]


def test_s38_plaintext_auth_when_allowed(kind: str) -> None:
    """Control for S38: the caller's explicit permission lets AUTH through."""
    with auth_server() as srv, plain_client(kind, srv, allow_plaintext_auth=True) as c:
        c.connect()
        assert c.login(USER, PASSWORD).code == 235
        c.quit()
    assert any(line.startswith(b"AUTH PLAIN ") for line in srv.commands)


def test_s38_auth_inside_starttls(kind: str, pki: PKI) -> None:
    """Control for S38: after STARTTLS the same login goes."""
    ehlo = b"250-mx.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"
    with (
        auth_server(
            ehlo=ehlo,
            ehlo_tls=b"250-mx.test\r\n250 AUTH PLAIN\r\n",
            tls_context=pki.server_context(),
        ) as srv,
        plain_client(kind, srv, tls=TLSMode.STARTTLS, ssl_context=pki.client_context()) as c,
    ):
        c.connect()
        assert c.login(USER, PASSWORD).code == 235
        c.quit()
        text = c.client.transcript.render()
    assert "C*: AUTH PLAIN <redacted" in text


# ---------------------------------------------------------------------- S39


def test_s39_cram_md5_only_when_enabled(kind: str) -> None:
    """S39: CRAM-MD5 alone is no acceptable mechanism unless enabled."""
    ehlo = b"250-mx.test\r\n250 AUTH CRAM-MD5\r\n"
    with auth_server(ehlo=ehlo) as srv, plain_client(kind, srv, allow_plaintext_auth=True) as c:
        c.connect()
        with pytest.raises(AuthenticationError, match="no acceptable"):
            c.login(USER, PASSWORD)
        assert b"AUTH" not in srv.received
        c.quit()
    with (
        auth_server(ehlo=ehlo) as srv,
        plain_client(kind, srv, allow_plaintext_auth=True, enable_cram_md5=True) as c,
    ):
        c.connect()
        assert c.login(USER, PASSWORD).code == 235
        c.quit()
    # RFC 2195 §2: user SP hex(HMAC-MD5(secret, challenge)) -- the digest from hmac here.
    import hmac

    digest = hmac.new(PASSWORD.encode(), b"<1896.697170952@mx.test>", "md5").hexdigest()
    assert (b64(f"{USER} {digest}") + "\r\n").encode() in srv.commands


def test_s39_no_fallback_after_a_refusal(kind: str) -> None:
    """S39: after 535 on one mechanism the client does not try another."""
    with (
        auth_server(b"535 5.7.8 bad credentials\r\n") as srv,
        plain_client(kind, srv, allow_plaintext_auth=True) as c,
    ):
        c.connect()
        with pytest.raises(AuthenticationError, match="535"):
            c.login(USER, PASSWORD)
        c.quit()
    assert sum(line.startswith(b"AUTH") for line in srv.commands) == 1


# ---------------------------------------------------------------------- S40


def _secrets() -> list[str]:
    plain = f"\0{USER}\0{PASSWORD}"
    xoauth2 = f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01"
    return [
        PASSWORD,
        b64(PASSWORD),
        b64(plain),
        TOKEN,
        b64(xoauth2),
        b64(f"n,a={USER},\x01auth=Bearer {TOKEN}\x01\x01"),
    ]


LOGINS: dict[str, dict[str, Any]] = {
    "plain-initial-response": {"username": USER, "password": PASSWORD, "mechanisms": ["PLAIN"]},
    # A password this long pushes the AUTH line past 512 octets (RFC 4954 §4):
    # the PLAIN message then goes as the answer to an empty 334.
    "plain-continuation": {
        "username": USER,
        "password": PASSWORD * 30,
        "mechanisms": ["PLAIN"],
    },
    "login": {"username": USER, "password": PASSWORD, "mechanisms": ["LOGIN"]},
    "xoauth2": {"username": USER, "token": TOKEN, "mechanisms": ["XOAUTH2"]},
    "oauthbearer": {"username": USER, "token": TOKEN, "mechanisms": ["OAUTHBEARER"]},
}


def _everything_recorded(c: Sync, caplog: pytest.LogCaptureFixture, extra: list[str]) -> str:
    transcript: Transcript = c.client.transcript
    parts = [
        transcript.render(),
        transcript.render(style="annotated"),
        transcript.render(style="raw"),
        transcript.to_jsonl(),
        repr(transcript),
        *(repr(record) for record in transcript.records),
        *(record.data.decode("latin-1") for record in transcript.records),
        *(record.note or "" for record in transcript.records),
        repr(c.client),
        repr(c.client.connection),
        caplog.text,
        *extra,
    ]
    return "\n".join(parts)


@pytest.mark.parametrize("how", list(LOGINS))
@pytest.mark.parametrize(
    "outcome", [b"235 2.7.0 ok\r\n", b"535 5.7.8 bad credentials\r\n"], ids=["ok", "refused"]
)
def test_s40_secrets_never_recorded(
    kind: str, how: str, outcome: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """S40: no password, token or their base64 in any record, rendering, log,
    exception, traceback or repr; the transcript shows ``<redacted N bytes>``."""
    caplog.set_level(logging.DEBUG)
    extra: list[str] = []
    credentials = LOGINS[how]
    with auth_server(outcome) as srv, plain_client(kind, srv, allow_plaintext_auth=True) as c:
        c.connect()
        try:
            c.login(**credentials)
        except AuthenticationError as exc:
            assert outcome.startswith(b"535")
            extra += [str(exc), repr(exc), *traceback.format_exception(exc)]
            extra += [str(exc.reply), repr(exc.reply)]
        c.quit()
        everything = _everything_recorded(c, caplog, extra)
    secrets = _secrets()
    # RFC 7628 §3.1: OAUTHBEARER names the server the client connected to.
    where = f"host={c.client.host}\x01port={c.client.port}\x01"
    secrets.append(b64(f"n,a={USER},\x01{where}auth=Bearer {TOKEN}\x01\x01"))
    if how == "plain-continuation":
        long_password = credentials["password"]
        secrets += [long_password, b64(f"\0{USER}\0{long_password}")]
    for secret in secrets:
        assert secret not in everything
    # The check can see a secret where there is one: the server did get it.
    wire = srv.received.decode("latin-1")
    assert any(secret in wire for secret in secrets)
    text = c.client.transcript.render()
    assert re.search(r"^C: (AUTH \S+ )?<redacted \d+ bytes>$", text, re.M)


def test_s40_kept_secrets_still_redacted_by_default(kind: str) -> None:
    """S40: ``keep_secrets=True`` stores them, and only ``reveal_secrets=True`` shows them."""
    transcript = Transcript(keep_secrets=True)
    with (
        auth_server() as srv,
        plain_client(kind, srv, allow_plaintext_auth=True, transcript=transcript) as c,
    ):
        c.connect()
        c.login(USER, PASSWORD, mechanisms=["LOGIN"])
        c.quit()
    assert b64(PASSWORD) not in transcript.render()
    assert b64(PASSWORD) not in transcript.to_jsonl()
    assert b64(PASSWORD) in transcript.render(reveal_secrets=True)


# ---------------------------------------------------------------------- S41

HOSTILE = "\x1b]0;pwned\x07 \x1b[2J \u009b31m \u202etxt.exe \x00 end"
RAW_CONTROLS = ["\x1b", "\x07", "\x00", "\u009b", "\u202e"]


def test_s41_transcripts_escape_controls_and_mark_pre_tls_text(kind: str, pki: PKI) -> None:
    """S41: every rendering escapes terminal controls; pre-TLS lines are marked
    unauthenticated (``S:``), post-TLS ones ``S*:``."""
    hostile = HOSTILE.encode()
    with (
        fake_smtp(
            {"NOOP": b"250 " + hostile + b"\r\n"},
            greeting=b"220 mx.test " + hostile + b"\r\n",
            ehlo=b"250-mx.test " + hostile + b"\r\n250 STARTTLS\r\n",
            ehlo_tls=b"250-mx.test inside\r\n250 8BITMIME\r\n",
            tls_context=pki.server_context(),
        ) as srv,
        plain_client(kind, srv, tls=TLSMode.STARTTLS, ssl_context=pki.client_context()) as c,
    ):
        c.connect()
        assert c.noop().text == HOSTILE  # the reply itself is the server's, as sent
        c.quit()
        transcript: Transcript = c.client.transcript
    renderings = [
        transcript.render(),
        transcript.render(style="annotated"),
        transcript.render(style="raw"),
        transcript.to_jsonl(),
    ]
    for rendering in renderings:
        for control in RAW_CONTROLS:
            assert control not in rendering
    lines = renderings[0].splitlines()
    assert any(line.startswith("S: 220 mx.test \\x1b]0;pwned\\x07") for line in lines)
    assert any(line.startswith("S: 250-mx.test \\x1b") for line in lines)
    assert any(line.startswith("S*: 250 \\x1b]0;pwned") for line in lines)  # the NOOP reply
    assert not any(line.startswith("S*: 220 mx.test") for line in lines)
    # The escapes are exact: loading the rendering gives the bytes back.
    loaded = Transcript.loads(renderings[0])
    assert loaded.server_bytes() == transcript.server_bytes()
    # Nothing from before TLS survives into the session's capabilities.
    assert c.client.capabilities.domain == "mx.test"
    assert "STARTTLS" not in c.client.capabilities


def test_s41_protocol_error_text_is_escaped(kind: str) -> None:
    """S41: a malformed reply is quoted escaped in the exception (errors.py promise)."""
    with fake_smtp({"NOOP": b"\x1b[2J\x1b]0;pwned\x07\r\n"}) as srv, plain_client(kind, srv) as c:
        c.connect()
        with pytest.raises(RemoteProtocolError) as info:
            c.noop()
    for text in (str(info.value), repr(info.value)):
        assert "\x1b" not in text
        assert "\x07" not in text
