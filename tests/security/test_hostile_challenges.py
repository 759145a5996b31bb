"""A SASL challenge that is not base64 cancels the exchange, whatever its bytes.

RFC 4954 §4 (SMTP) and RFC 9051 §6.2.2 (IMAP): the client answers a
challenge it cannot decode with "*", the server then refuses the AUTH, and
the session goes on unauthenticated. A challenge with bytes outside ASCII
used to escape from the flows as a bare ``ValueError`` (the base64 decoder's
complaint about non-ASCII text) before the "*" was sent, leaving the IMAP
client stuck inside AUTHENTICATE. The POP3 flow's case is in
tests/unit/pop3/test_rfc5034_client_flows.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from mailwire import AuthenticationError
from tests.security.smtp_support import FakeSMTP, kind, plain_client
from tests.support.server import Peer
from tests.unit.imap_client.helpers import Both, Script

__all__ = ["kind"]

CHALLENGES = [b"!!", b"\xc3\xa9t\xc3\xa9", b"VXN\xff"]


@pytest.mark.parametrize("challenge", CHALLENGES, ids=["ascii", "utf-8", "not-utf-8"])
def test_smtp_challenge_not_base64(kind: str, challenge: bytes) -> None:
    def auth(_srv: FakeSMTP, _peer: Peer, _line: bytes) -> bytes:
        return b"334 " + challenge + b"\r\n"

    replies: dict[str, Any] = {"AUTH": auth}
    ehlo = b"250-mx.test\r\n250 AUTH LOGIN\r\n"
    with (
        FakeSMTP(replies, ehlo=ehlo) as srv,
        plain_client(kind, srv, allow_plaintext_auth=True) as c,
    ):
        c.connect()
        with pytest.raises(AuthenticationError, match="base64"):
            c.login("alice", "secret")
        assert c.noop().code == 250  # the session goes on
        c.quit()
    assert [line.split()[0] for line in srv.commands] == [b"EHLO", b"AUTH", b"*", b"NOOP", b"QUIT"]


@pytest.mark.parametrize("challenge", CHALLENGES, ids=["ascii", "utf-8", "not-utf-8"])
@pytest.mark.parametrize("client_kind", ["blocking", "asyncio"])
def test_imap_challenge_not_base64(client_kind: str, challenge: bytes) -> None:
    steps = [
        (b"A1 AUTHENTICATE LOGIN\r\n", b"+ " + challenge + b"\r\n"),
        (b"*\r\n", b"A1 BAD AUTHENTICATE cancelled\r\n"),
        (b"A2 NOOP\r\n", b"A2 OK done\r\n"),
    ]
    with Script(b"* OK [CAPABILITY IMAP4rev1 AUTH=LOGIN] hi\r\n", steps) as script:
        c = Both(client_kind, script.port)
        c.connect()
        with pytest.raises(AuthenticationError, match="base64"):
            c.authenticate("LOGIN", username="alice", password="secret")
        c.noop()
        c.close()
    assert script.errors == []


@pytest.mark.parametrize("payload", [b"\xc3\xa9t\xc3\xa9", b"VXN\xff"], ids=["utf-8", "not-utf-8"])
def test_replayed_auth_lines_outside_ascii_read_as_redacted(payload: bytes) -> None:
    # A transcript is a file anyone can hand over; its AUTH lines are
    # base64 or redacted, and anything else reads as redacted (empty).
    from mailwire.pop3 import _replay as pop3_replay
    from mailwire.pop3.commands import Auth as Pop3Auth
    from mailwire.pop3.commands import AuthResponse as Pop3AuthResponse
    from mailwire.smtp import _replay as smtp_replay
    from mailwire.smtp.commands import Auth, AuthResponse

    line = payload + b"\r\n"
    assert smtp_replay.parse_command(line, authenticating=True) == AuthResponse(b"")
    assert smtp_replay.parse_command(b"AUTH PLAIN " + line, authenticating=False) == Auth(
        "PLAIN", b""
    )
    assert pop3_replay.parse_command(line, authenticating=True) == Pop3AuthResponse(b"")
    assert pop3_replay.parse_command(b"AUTH PLAIN " + line, authenticating=False) == Pop3Auth(
        "PLAIN", b""
    )
