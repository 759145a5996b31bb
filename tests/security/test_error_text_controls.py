"""S41 for exception texts: server words reach str(exc) with controls escaped.

A refusal's text is the server's (``NO``, ``-ERR``, ``535``), and exception
texts go to terminals and logs, where an ESC sequence can rewrite the screen,
a bare CR can hide what came before it, and U+202E can reverse what follows.
Every mailwire exception shows such characters escaped, keeping tab and line
feed (multi-line SMTP replies are joined with line feeds); the ``text``
attributes keep the server's words as they came, for programs.
"""

from __future__ import annotations

import pytest

from mailwire import AuthenticationError, IMAPStatusError, POP3ErrorReply, SMTPReplyError
from mailwire.errors import ConnectionLost, RemoteProtocolError, Timeout
from tests.security.smtp_support import FakeSMTP, kind, plain_client
from tests.unit.imap_client.helpers import Both, Script

__all__ = ["kind"]

HOSTILE = "\x1b[2J\x1b]0;pwned\x07\r\x9b1m\u202egnp.exe\x7f"
SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07\\x0d\\x9b1m\\u202egnp.exe\\x7f"


def _clean(text: str) -> None:
    assert not any(ord(c) < 0x20 and c not in "\t\n" for c in text), repr(text)
    assert not any(0x7F <= ord(c) < 0xA0 for c in text), repr(text)
    assert "\u202e" not in text


@pytest.mark.parametrize(
    "exc",
    [
        RemoteProtocolError(f"bad line {HOSTILE}"),
        ConnectionLost(f"gone {HOSTILE}"),
        Timeout(f"slow {HOSTILE}"),
        IMAPStatusError("NO", HOSTILE, "ALERT", command="LOGIN"),
        POP3ErrorReply(HOSTILE, "AUTH", command="PASS"),
        SMTPReplyError(550, f"first line\n{HOSTILE}", "5.7.1", command="RCPT"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_messages_show_controls_escaped(exc: Exception) -> None:
    for text in (str(exc), repr(exc)):
        _clean(text)
    assert SHOWN in str(exc)
    if hasattr(exc, "text"):
        assert HOSTILE in exc.text  # the attribute keeps the server's words
    if isinstance(exc, SMTPReplyError):
        assert "first line\n" in str(exc)  # line feeds between reply lines stay


def test_smtp_refusal_text_through_the_client(kind: str) -> None:
    replies = {"AUTH": ("535 5.7.8 " + HOSTILE + "\r\n").encode("utf-8")}
    ehlo = b"250-mx.test\r\n250 AUTH PLAIN\r\n"
    with (
        FakeSMTP(replies, ehlo=ehlo) as srv,
        plain_client(kind, srv, allow_plaintext_auth=True) as c,
    ):
        c.connect()
        with pytest.raises(AuthenticationError) as info:
            c.login("alice", "secret")
    _clean(str(info.value))
    assert "\\x1b[2J" in str(info.value)


@pytest.mark.parametrize("client_kind", ["blocking", "asyncio"])
def test_imap_refusal_text_through_the_client(client_kind: str) -> None:
    no = b"A1 NO [AUTHENTICATIONFAILED] " + HOSTILE.encode("utf-8") + b"\r\n"
    with Script(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", [(b"A1 LOGIN u p\r\n", no)]) as script:
        c = Both(client_kind, script.port)
        c.connect()
        with pytest.raises(AuthenticationError) as info:
            c.login("u", "p")
        c.close()
    _clean(str(info.value))
    assert "\\x1b]0;pwned\\x07" in str(info.value)
