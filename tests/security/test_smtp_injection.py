"""Injection through caller input, and Bcc privacy: security.md S14, S15, S21.

"Caller-input injection raises plain ValueError" and "the server receives no
byte after the previous command" (security.md §0, S14). After each refused
call the test sends a NOOP: the server handles lines in order, so when the
NOOP's reply is back, anything the refused call had written would already be
in the server's command log.
"""

from __future__ import annotations

import contextlib
import email.message
import email.policy
import io
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.security.smtp_support import FakeSMTP, Sync, fake_smtp, kind, plain_client

__all__ = ["kind"]

MESSAGE = b"From: a@x.test\r\nTo: b@x.test\r\nSubject: s\r\n\r\nbody\r\n"
EHLO_DSN = b"250-mx.test\r\n250-DSN\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN XOAUTH2\r\n"

# RFC 5321 §4.1.2: Mailbox = Local-part "@" ( Domain / address-literal )
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL = rf"(?:{_ATEXT}+(?:\.{_ATEXT}+)*|\"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*\")"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[^\[\]\\\s]+\])"
MAILBOX = re.compile(rf"{_LOCAL}@{_DOMAIN}\Z")


def forward_paths(srv: FakeSMTP) -> list[str]:
    return [
        line[len(b"RCPT TO:<") : line.index(b">")].decode()
        for line in srv.commands
        if line.upper().startswith(b"RCPT TO:<")
    ]


def refused_with_nothing_sent(c: Sync, srv: FakeSMTP, action: Callable[[], Any]) -> None:
    """``action`` raises ValueError, writes nothing, and leaves the session usable."""
    before = list(srv.commands)
    with pytest.raises(ValueError):
        action()
    assert c.noop().code == 250
    assert srv.commands == [*before, b"NOOP\r\n"]


# ---------------------------------------------------------------------- S14

INJECTED = ["a@x.test\r\nRCPT TO:<evil@x.test>", "a@x.test\nDATA", "a@x.test\rRSET", "a\0@x.test"]


@pytest.mark.parametrize("bad", INJECTED, ids=["crlf", "lf", "cr", "nul"])
def test_s14_envelope_addresses(kind: str, bad: str) -> None:
    """S14: CR, LF or NUL in the envelope sender or a recipient."""
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        refused_with_nothing_sent(c, srv, lambda: c.send_message(MESSAGE, sender=bad))
        refused_with_nothing_sent(
            c, srv, lambda: c.send_message(MESSAGE, recipients=["ok@x.test", bad])
        )
        c.quit()
    assert b"evil" not in srv.received


def test_s14_batch_refused_as_a_whole(kind: str) -> None:
    """S14: one bad envelope in a batch: nothing of the batch is sent."""
    batch = [
        (MESSAGE, "a@x.test", ["b@x.test"]),
        (MESSAGE, "a@x.test", ["c@x.test"]),
        (MESSAGE, "a@x.test", ["d@x.test\r\nRCPT TO:<evil@x.test>"]),
    ]
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        refused_with_nothing_sent(c, srv, lambda: c.send_messages(batch))
        c.quit()
    assert srv.messages == []


@pytest.mark.parametrize("command", ["vrfy", "expn"], ids=["VRFY", "EXPN"])
@pytest.mark.parametrize("bad", ["postmaster\r\nRSET", "postmaster\n", "post\0master"])
def test_s14_vrfy_and_expn(kind: str, command: str, bad: str) -> None:
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        refused_with_nothing_sent(c, srv, lambda: getattr(c, command)(bad))
        c.quit()


@pytest.mark.parametrize("bad", ["client.test\r\nMAIL FROM:<evil@x.test>", "client\0", "a b"])
def test_s14_ehlo_name(kind: str, bad: str) -> None:
    """S14: the EHLO name: refused after the greeting, before anything is written."""
    with fake_smtp() as srv, plain_client(kind, srv, local_hostname=bad) as c:
        with pytest.raises(ValueError):
            c.connect()
        c.noop()  # the session itself is fine: nothing was written
        c.close()
    assert srv.commands == [b"NOOP\r\n"]


@pytest.mark.parametrize(
    ("mechanism", "username", "password"),
    [
        ("LOGIN", "user\r\nRSET", "password"),
        ("LOGIN", "user", "pass\nword"),
        ("LOGIN", "user", "pass\0word"),
        ("PLAIN", "us\0er", "password"),
        ("PLAIN", "user", "pass\0word"),
    ],
)
def test_s14_auth_credentials(kind: str, mechanism: str, username: str, password: str) -> None:
    """S14: separators of the SASL mechanism in a credential are refused."""
    with fake_smtp(ehlo=EHLO_DSN) as srv, plain_client(kind, srv, allow_plaintext_auth=True) as c:
        c.connect()
        refused_with_nothing_sent(
            c, srv, lambda: c.login(username, password, mechanisms=[mechanism])
        )
        c.quit()


def test_s14_crlf_in_plain_credentials_stays_inside_base64(kind: str) -> None:
    """Control: PLAIN allows CR/LF in the strings (RFC 4616 §2, only NUL is out);
    base64 keeps them inside one AUTH line, so nothing can be injected."""
    with fake_smtp(ehlo=EHLO_DSN) as srv, plain_client(kind, srv, allow_plaintext_auth=True) as c:
        c.connect()
        c.login("user\r\nRSET", "pass\r\nword", mechanisms=["PLAIN"])
        c.quit()
    assert [line.split()[0] for line in srv.commands] == [b"EHLO", b"AUTH", b"QUIT"]


def test_s14_mechanism_names_and_tokens(kind: str) -> None:
    with fake_smtp(ehlo=EHLO_DSN) as srv, plain_client(kind, srv, allow_plaintext_auth=True) as c:
        c.connect()
        refused_with_nothing_sent(c, srv, lambda: c.login("u", "p", mechanisms=["PLAIN\r\nRSET"]))
        c.quit()


@pytest.mark.parametrize(
    "options",
    [
        {"ret": "FULL\r\nRSET"},
        {"ret": "FULL ORCPT=rfc822;x@y"},
        {"ret": "HDRS\0"},
        {"notify": ("SUCCESS\r\nRCPT TO:<evil@x.test>",)},
        {"notify": ("SUCCESS ORCPT=rfc822;evil@x.test",)},
        {"priority": 10},
    ],
    ids=["ret-crlf", "ret-space", "ret-nul", "notify-crlf", "notify-space", "priority-range"],
)
def test_s14_esmtp_option_values(kind: str, options: dict[str, Any]) -> None:
    """S14/S15: typed DSN/MT-PRIORITY options cannot carry a line end or a second parameter."""
    ehlo = b"250-mx.test\r\n250-DSN\r\n250 MT-PRIORITY MIXER\r\n"
    with fake_smtp(ehlo=ehlo) as srv, plain_client(kind, srv) as c:
        c.connect()
        refused_with_nothing_sent(c, srv, lambda: c.send_message(MESSAGE, **options))
        c.quit()


def test_s14_envid_is_xtext_encoded(kind: str) -> None:
    """S14: ENVID is free text, so it goes as xtext (RFC 3461 §4): CR LF become +0D+0A."""
    with fake_smtp(ehlo=EHLO_DSN) as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_message(MESSAGE, envid="id\r\nRCPT TO:<evil@x.test> =+")
        c.quit()
    (mail,) = [line for line in srv.commands if line.startswith(b"MAIL")]
    assert mail == b"MAIL FROM:<a@x.test> ENVID=id+0D+0ARCPT+20TO:<evil@x.test>+20+3D+2B\r\n"
    assert forward_paths(srv) == ["b@x.test"]


# ---------------------------------------------------------------------- S15

SMUGGLED = [
    "a@b.test> NOTIFY=SUCCESS",
    "a@b.test> SIZE=1 ORCPT=rfc822;x@y.test",
    "<a@b.test",
    "a@b.test>",
    "a b@c.test",
    "a@b.test c@d.test",
    "a@b.test\tNOTIFY=NEVER",
]


@pytest.mark.parametrize("bad", SMUGGLED)
@pytest.mark.parametrize("role", ["sender", "recipient"])
def test_s15_esmtp_parameter_smuggling(kind: str, role: str, bad: str) -> None:
    """S15: an address cannot close its path and add parameters; ValueError, nothing sent."""
    envelope: dict[str, Any] = {"sender": "a@x.test", "recipients": ["b@x.test"]}
    if role == "sender":
        envelope["sender"] = bad
    else:
        envelope["recipients"] = ["b@x.test", bad]
    with fake_smtp(ehlo=EHLO_DSN) as srv, plain_client(kind, srv) as c:
        c.connect()
        refused_with_nothing_sent(c, srv, lambda: c.send_message(MESSAGE, **envelope))
        c.quit()


def test_s15_two_addresses_in_one_string(kind: str) -> None:
    """S15: 'a@b.test,c@d.test' is no RFC 5321 §4.1.2 Mailbox (fixed in e187210)."""
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        refused_with_nothing_sent(
            c, srv, lambda: c.send_message(MESSAGE, recipients=["a@b.test,c@d.test"])
        )
        c.quit()


def test_s15_quoted_local_part_passes(kind: str) -> None:
    """S15: a space inside a quoted local part is legal (RFC 5321 §4.1.2 Quoted-string)."""
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        result = c.send_message(MESSAGE, recipients=['"a b"@x.test'])
        c.quit()
    assert forward_paths(srv) == ['"a b"@x.test']
    assert list(result.accepted) == ['"a b"@x.test']


HEADER_SMUGGLING = (
    b"From: <a@x.test> SIZE=1\r\n"
    b"To: <b@x.test> NOTIFY=SUCCESS, c@x.test> ORCPT=rfc822;evil@x.test\r\n"
    b"Subject: s\r\n\r\nbody\r\n"
)


def test_s15_no_parameter_rides_in_from_the_header(kind: str) -> None:
    """S15 through the header-derived envelope: whatever the header holds, no MAIL or
    RCPT line carries a parameter that no typed option asked for."""
    with fake_smtp(ehlo=EHLO_DSN) as srv, plain_client(kind, srv) as c:
        c.connect()
        with contextlib.suppress(ValueError):
            c.send_message(HEADER_SMUGGLING)
        c.quit()
    for line in srv.commands:
        if line.upper().startswith((b"MAIL", b"RCPT")):
            assert line.endswith(b">\r\n"), line  # nothing after the path
            assert line.count(b"<") == 1


def test_s15_header_derived_recipients_are_mailboxes(kind: str) -> None:
    """S15: stray tokens email.utils.getaddresses returns for a malformed header
    ('NOTIFY=SUCCESS', 'ORCPT=rfc822') never become RCPT TO paths: only RFC 5321
    §4.1.2 Mailboxes do (a server could complete a bare word with its own domain).
    smtplib.send_message sends them. Fixed in e187210."""
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        with contextlib.suppress(ValueError):
            c.send_message(HEADER_SMUGGLING)
        c.quit()
    bad = [path for path in forward_paths(srv) if not MAILBOX.match(path)]
    assert bad == []


# ---------------------------------------------------------------------- S21


def _email_message() -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "a@x.test"
    msg["To"] = "b@x.test"
    msg["Bcc"] = "hidden@x.test, Other Hidden <hidden2@x.test>"
    msg["Subject"] = "blind"
    msg.set_content("hello\n")
    return msg


def _compat32_resent() -> email.message.Message:
    msg = email.message.Message(policy=email.policy.compat32)
    msg["From"] = "orig@x.test"
    msg["To"] = "orig-to@x.test"
    msg["Subject"] = "forwarded"
    msg["Resent-Date"] = "Fri, 27 Nov 2026 12:00:00 +0000"
    msg["Resent-From"] = "a@x.test"
    msg["Resent-To"] = "b@x.test"
    msg["Resent-Bcc"] = "hidden@x.test"
    msg["Bcc"] = "hidden2@x.test"
    msg.set_payload("hello\r\n")
    return msg


RAW_BCC = (
    b"From: a@x.test\r\n"
    b"To: b@x.test\r\n"
    b"BCC: hidden@x.test,\r\n"
    b"\tOther Hidden <hidden2@x.test>\r\n"
    b"Subject: blind\r\n"
    b"\r\n"
    b"The body may say Bcc: at the start of a line.\r\n"
)

S21_CASES: dict[str, Callable[[], Any]] = {
    "email-message": _email_message,
    "compat32-resent": _compat32_resent,
    "bytes-folded": lambda: RAW_BCC,
}


def _assert_blind(srv: FakeSMTP, content: bytes, hidden: list[str]) -> None:
    paths = forward_paths(srv)
    for address in hidden:
        assert address in paths  # blind recipients do get the message
        assert address.encode() not in content  # ... and nobody can see them
    header = content.split(b"\r\n\r\n", 1)[0]
    assert re.search(rb"(?im)^(resent-)?bcc\s*:", header) is None


@pytest.mark.parametrize("case", list(S21_CASES))
def test_s21_bcc_is_removed_from_the_content(kind: str, case: str) -> None:
    """S21: no Bcc field in the DATA bytes; each Bcc address has a RCPT TO."""
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_message(S21_CASES[case]())
        c.quit()
    (content,) = srv.messages
    hidden = ["hidden@x.test"] if case == "compat32-resent" else ["hidden@x.test", "hidden2@x.test"]
    _assert_blind(srv, content, hidden)
    if case == "bytes-folded":
        assert content.endswith(b"The body may say Bcc: at the start of a line.\r\n")
    if case == "compat32-resent":  # the newest resent block decides (RFC 5322 §3.6.6)
        assert forward_paths(srv) == ["b@x.test", "hidden@x.test"]
        assert b"hidden2" not in content  # the plain Bcc is removed as well


def test_s21_in_a_batch(kind: str) -> None:
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_messages([_email_message(), RAW_BCC])
        c.quit()
    assert len(srv.messages) == 2
    for content in srv.messages:
        assert b"hidden" not in content
        assert re.search(rb"(?im)^bcc\s*:", content.split(b"\r\n\r\n", 1)[0]) is None


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: io.BytesIO(RAW_BCC), id="file"),
        pytest.param(lambda: iter([RAW_BCC[:30], RAW_BCC[30:]]), id="iterable"),
    ],
)
def test_s21_streamed_message(kind: str, make: Callable[[], Any]) -> None:
    """S21 for a file or an iterable: the header read for the envelope loses its
    Bcc field before it is sent (fixed in e187210)."""
    with fake_smtp() as srv, plain_client(kind, srv) as c:
        c.connect()
        c.send_message(make())
        c.quit()
    (content,) = srv.messages
    _assert_blind(srv, content, ["hidden@x.test", "hidden2@x.test"])
