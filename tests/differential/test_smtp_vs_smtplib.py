"""mailwire against smtplib: the same messages, what the server stored, the commands sent.

Each case sends one message with ``smtplib`` and then with mailwire (blocking or
asyncio) to the same aiosmtpd lab (tests/lab/smtpd.py), which records every
command line and every message with its envelope. Where smtplib is right, the
two must agree byte for byte; where they differ, the test names the difference
and the reason, and asserts it:

=============================  ===========================  ================================
what                           smtplib                      mailwire (why)
=============================  ===========================  ================================
verbs, keywords                ``mail FROM:``, ``size=``    ``MAIL FROM:``, ``SIZE=`` (same
                                                            meaning: RFC 5321 §2.4)
command writes                 one command per write        MAIL, RCPT..., DATA in one write
                                                            when PIPELINING (RFC 2920 §3.1)
8-bit content                  no BODY parameter            ``BODY=8BITMIME`` (RFC 1652 §3: the
                                                            BODY parameter must appear)
8-bit, server without 8BITMIME sends it anyway              NotSupportedError, nothing sent
                                                            (RFC 1652 §3: "must not")
every recipient refused        RSET                         with PIPELINING, DATA went in the
                                                            group and is refused, then RSET
``From `` at a line start      ``>From `` (mbox quoting     sent as written: a message is not
(email.message)                by its BytesGenerator)       an mbox (RFC 5322 has no such rule)
line of 999 octets             sent                         ValueError (RFC 5321 §4.5.3.1.6)
bare CR / LF in bytes          sent as is (security.md S10) ValueError, or normalised on request
non-ASCII password             UnicodeEncodeError           UTF-8 (RFC 4616 §2)
=============================  ===========================  ================================

Bcc is removed from the content by both ``send_message`` paths; smtplib's
``sendmail`` of raw bytes would keep it, which is why raw bytes are compared
without Bcc here and email.message with it.
"""

from __future__ import annotations

import dataclasses
import email.message
import email.policy
import re
import smtplib
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from mailwire import NotSupportedError, RecipientRefused, TLSMode
from mailwire.transcript import Direction, Kind
from tests.lab import ALICE, BOB, PostfixLab, RecordedMessage, SmtpLab
from tests.security.smtp_support import FakeSMTP, Sync, kind

__all__ = ["kind"]

NAME = "client.test"
SENDER = "alice@example.test"
RCPTS = ["bob@example.test", "carol@example.test"]
REFUSED = "nobody@example.test"
REFUSE = {REFUSED: "550 5.1.1 no such user"}


@pytest.fixture
def lab(make_smtp_lab: Callable[..., SmtpLab]) -> SmtpLab:
    return make_smtp_lab(pipelining=True, refuse_recipients=REFUSE)


@dataclasses.dataclass
class Side:
    """What one client did and what the server saw of it."""

    result: Any = None
    error: BaseException | None = None
    lines: list[bytes] = dataclasses.field(default_factory=list)
    messages: list[RecordedMessage] = dataclasses.field(default_factory=list)
    writes: list[bytes] = dataclasses.field(default_factory=list)

    @property
    def commands(self) -> list[bytes]:
        return [normalise(line) for line in self.lines]


class RecordingSMTP(smtplib.SMTP):
    """smtplib.SMTP that keeps each write (``send`` is its one way out)."""

    writes: list[bytes]

    def send(self, s: bytes | str) -> None:
        data = s.encode(self.command_encoding) if isinstance(s, str) else s
        self.writes = [*getattr(self, "writes", []), data]
        super().send(s)


def normalise(line: bytes) -> bytes:
    """RFC 5321 §2.4: verbs and extension keywords are case-insensitive."""
    text = line.rstrip(b"\r\n")
    path = re.match(rb"(?i)(MAIL FROM:|RCPT TO:)(<[^>]*>)(.*)\Z", text)
    if path is not None:
        params = []
        for param in path[3].split():
            key, eq, value = param.partition(b"=")
            params.append(key.upper() + eq + value)
        return b" ".join([path[1].upper() + path[2], *params])
    verb, space, rest = text.partition(b" ")
    return verb.upper() + space + rest


def _session(lab: SmtpLab, before: int) -> tuple[list[bytes], list[RecordedMessage]]:
    sessions = lab.sessions[before:]
    assert len(sessions) == 1, sessions
    session = sessions[0]
    return session.lines, [m for m in lab.messages if m.session == session.number]


def run_smtplib(
    lab: SmtpLab, call: Callable[[RecordingSMTP], Any], port: int | None = None
) -> Side:
    before = len(lab.sessions)
    side = Side()
    with RecordingSMTP(lab.host, port or lab.plain_port, local_hostname=NAME, timeout=10) as s:
        try:
            side.result = call(s)
        except Exception as exc:
            side.error = exc
        side.writes = list(getattr(s, "writes", []))
    side.lines, side.messages = _session(lab, before)
    return side


def run_mailwire(lab: SmtpLab, kind: str, call: Callable[[Sync], Any], **kwargs: Any) -> Side:
    before = len(lab.sessions)
    side = Side()
    kwargs.setdefault("tls", TLSMode.PLAIN)
    port = kwargs.pop("port", lab.plain_port)
    with Sync(kind, lab.host, port, local_hostname=NAME, timeout=10, **kwargs) as c:
        c.connect()
        try:
            side.result = call(c)
        except Exception as exc:
            side.error = exc
        if c.client._driver.is_open:
            c.quit()
        side.writes = [
            r.data
            for r in c.client.transcript.records
            if r.kind is Kind.DATA and r.direction is Direction.CLIENT
        ]
    side.lines, side.messages = _session(lab, before)
    return side


def raw_pair(
    lab: SmtpLab, kind: str, data: bytes, rcpts: list[str] = RCPTS, **options: Any
) -> tuple[Side, Side]:
    old = run_smtplib(lab, lambda s: s.sendmail(SENDER, rcpts, data))
    new = run_mailwire(
        lab, kind, lambda c: c.send_message(data, sender=SENDER, recipients=rcpts, **options)
    )
    return old, new


def assert_same_delivery(old: Side, new: Side, *, rcpt_order: bool = True) -> None:
    assert old.error is None, old.error
    assert new.error is None, new.error
    (a,) = old.messages
    (b,) = new.messages
    assert b.content == a.content
    assert b.mail_from == a.mail_from
    if rcpt_order:
        assert b.rcpt_tos == a.rcpt_tos
    else:
        assert sorted(b.rcpt_tos) == sorted(a.rcpt_tos)


# -------------------------------------------------------------- raw bytes

DOTS = (
    b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: dots\r\n\r\n"
    b".\r\n..\r\n.x\r\n\r\n...\r\nx.\r\n . \r\n.last line without CRLF"
)
LINE_998 = b"Subject: long\r\n\r\n" + b"x" * 998 + b"\r\n"
DOT_998 = b"Subject: long\r\n\r\n." + b"x" * 997 + b"\r\n"  # 999 on the wire, stuffed
EIGHT_BIT = "Subject: 8bit\r\n\r\nGrüße, ünïcødé and € in the body\r\n".encode()


@pytest.mark.parametrize(
    "data",
    [DOTS, LINE_998, DOT_998, EIGHT_BIT, b"Subject: empty body\r\n\r\n"],
    ids=["dots", "998-octets", "998-with-dot", "8-bit", "empty-body"],
)
def test_raw_bytes_stored_alike(lab: SmtpLab, kind: str, data: bytes) -> None:
    """The same bytes through both: the server stores the same content and envelope,
    and the commands match once case and the BODY declaration are set aside."""
    old, new = raw_pair(lab, kind, data)
    assert_same_delivery(old, new)
    expected = new.messages[0].content
    if not data.endswith(b"\r\n"):
        assert expected == data + b"\r\n"  # both end the last line (RFC 5321 §4.1.1.4)
    else:
        assert expected == data
    body = ["BODY=8BITMIME"] if not data.isascii() else []
    old_options = [o.upper() for o in old.messages[0].mail_options]
    assert [o.upper() for o in new.messages[0].mail_options] == old_options + body
    assert old_options == [f"SIZE={len(data)}"]  # both declare the same size (RFC 1870)
    mail = f"MAIL FROM:<{SENDER}> SIZE={len(data)}".encode()
    assert old.commands == [
        b"EHLO " + NAME.encode(),
        mail,
        *(f"RCPT TO:<{r}>".encode() for r in RCPTS),
        b"DATA",
        b"QUIT",
    ]
    assert new.commands == [
        c + b" BODY=8BITMIME" if c == mail and body else c for c in old.commands
    ]


def test_pipelined_writes(lab: SmtpLab, kind: str) -> None:
    """RFC 2920: smtplib waits for each reply; mailwire sends the envelope as one group."""
    old, new = raw_pair(lab, kind, DOTS)
    assert_same_delivery(old, new)
    envelope = lambda w: w.upper().startswith((b"MAIL", b"RCPT", b"DATA"))  # noqa: E731
    assert sum(map(envelope, old.writes)) == 1 + len(RCPTS) + 1  # one write per command
    group = [w for w in new.writes if w.startswith(b"MAIL")]
    assert group == [
        f"MAIL FROM:<{SENDER}> SIZE={len(DOTS)}\r\n".encode()
        + b"".join(f"RCPT TO:<{r}>\r\n".encode() for r in RCPTS)
        + b"DATA\r\n"
    ]


def test_line_over_998_octets(lab: SmtpLab, kind: str) -> None:
    """smtplib sends a 999-octet line (aiosmtpd takes up to 1001 with CRLF);
    mailwire refuses it (RFC 5321 §4.5.3.1.6) and nothing is delivered."""
    data = b"Subject: long\r\n\r\n" + b"x" * 999 + b"\r\n"
    old, new = raw_pair(lab, kind, data)
    assert old.error is None
    assert [m.content for m in old.messages] == [data]
    assert isinstance(new.error, ValueError)
    assert new.messages == []


def test_bare_line_ends(lab: SmtpLab, kind: str) -> None:
    """security.md S10: smtplib's bytes path delivers bare LF and CR (and leaves the
    dot after a bare CR unstuffed); mailwire refuses such bytes, and its
    normalisation agrees with smtplib's ``str`` path byte for byte."""
    raw = b"Subject: s\r\n\r\nA\n.\r\nB\r.\r\nC\r\n"
    old, new = raw_pair(lab, kind, raw)
    assert old.error is None
    (leaked,) = old.messages
    assert b"A\n" in leaked.content  # the bare LF reached the server
    assert isinstance(new.error, ValueError)
    assert new.messages == []

    text = "Subject: s\n\nA\n.\nB\r.\rC\n"
    old = run_smtplib(lab, lambda s: s.sendmail(SENDER, RCPTS, text))
    new = run_mailwire(
        lab,
        kind,
        lambda c: c.send_message(
            text.encode(), sender=SENDER, recipients=RCPTS, normalize_line_endings=True
        ),
    )
    assert_same_delivery(old, new)
    assert new.messages[0].content == b"Subject: s\r\n\r\nA\r\n.\r\nB\r\n.\r\nC\r\n"


def test_eight_bit_without_8bitmime(kind: str) -> None:
    """RFC 1652 §3: without 8BITMIME the client "must not, under any circumstances"
    send 8-bit content. smtplib does; mailwire raises before MAIL."""
    ehlo = b"250-mx.test\r\n250 PIPELINING\r\n"
    with FakeSMTP(ehlo=ehlo) as srv:
        with smtplib.SMTP(srv.host, srv.port, local_hostname=NAME, timeout=10) as s:
            s.sendmail(SENDER, RCPTS, EIGHT_BIT)
        assert srv.messages == [EIGHT_BIT]
        with Sync(kind, srv.host, srv.port, tls=TLSMode.PLAIN, local_hostname=NAME) as c:
            c.connect()
            with pytest.raises(NotSupportedError, match="8BITMIME"):
                c.send_message(EIGHT_BIT, sender=SENDER, recipients=RCPTS)
            c.quit()
    assert srv.messages == [EIGHT_BIT]  # still only smtplib's
    assert srv.sessions[1].commands == [b"EHLO client.test\r\n", b"QUIT\r\n"]


# -------------------------------------------------------------- email.message


def bcc_message(body: str = "Hello.\n.A dot line\n..two\nGrüße\n") -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "Alice <alice@example.test>"
    msg["To"] = "Bob <bob@example.test>"
    msg["Cc"] = "carol@example.test"
    msg["Bcc"] = "dave@example.test, Erin <erin@example.test>"
    msg["Subject"] = "A subject long enough to be folded by the email package " * 2
    msg["Date"] = "Fri, 27 Nov 2026 12:00:00 +0000"
    msg["Message-ID"] = "<differential@client.test>"
    msg.set_content(body)
    return msg


def test_email_message_with_bcc(lab: SmtpLab, kind: str) -> None:
    """S21 both ways: Bcc addresses in the envelope, no Bcc in the content, and
    otherwise the same bytes (the email package's own flattening). The RCPT
    order differs and means nothing: smtplib takes To, Bcc, Cc; mailwire To, Cc,
    Bcc, the order of RFC 5322 §3.6.3."""
    old = run_smtplib(lab, lambda s: s.send_message(bcc_message()))
    new = run_mailwire(lab, kind, lambda c: c.send_message(bcc_message()))
    assert_same_delivery(old, new, rcpt_order=False)
    assert old.messages[0].rcpt_tos[1:3] == ("dave@example.test", "erin@example.test")
    stored = new.messages[0]
    assert stored.mail_from == "alice@example.test"
    assert stored.rcpt_tos == (
        "bob@example.test",
        "carol@example.test",
        "dave@example.test",
        "erin@example.test",
    )
    assert b"Bcc" not in stored.content
    assert b"dave" not in stored.content
    # The 8-bit body: mailwire declares it, smtplib does not.
    assert "BODY=8BITMIME" in new.messages[0].mail_options
    assert "BODY=8BITMIME" not in [o.upper() for o in old.messages[0].mail_options]


def test_from_line_not_mangled(lab: SmtpLab, kind: str) -> None:
    """smtplib's BytesGenerator quotes a body line starting with "From " as
    ">From " (mbox habit); mailwire sends the message as written."""
    msg = email.message.Message(policy=email.policy.compat32)
    msg["From"] = SENDER
    msg["To"] = RCPTS[0]
    msg.set_payload("From here on, a line.\nline two\n")
    old = run_smtplib(lab, lambda s: s.send_message(msg))
    new = run_mailwire(lab, kind, lambda c: c.send_message(msg))
    assert old.messages[0].content.endswith(b"\r\n\r\n>From here on, a line.\r\nline two\r\n")
    assert new.messages[0].content.endswith(b"\r\n\r\nFrom here on, a line.\r\nline two\r\n")
    assert old.messages[0].content.replace(b">From", b"From") == new.messages[0].content


def test_smtputf8_email_message(lab: SmtpLab, kind: str) -> None:
    """An email.message with a UTF-8 local part: under SMTPUTF8 both store the raw
    UTF-8 header (RFC 6532 §3.2), never an encoded-word in an addr-spec (RFC 2047
    §5 forbids it; mailwire wrote 'From: =?utf-8?b?asO2c8Op?=@example.test' until
    e187210)."""

    def message() -> email.message.EmailMessage:
        msg = email.message.EmailMessage()
        msg["From"] = "jösé@example.test"
        msg["To"] = "bob@example.test"
        msg["Subject"] = "ü"
        msg.set_content("x\n")
        return msg

    old = run_smtplib(lab, lambda s: s.send_message(message()))
    new = run_mailwire(lab, kind, lambda c: c.send_message(message()))
    assert "SMTPUTF8" in old.messages[0].mail_options
    assert "SMTPUTF8" in new.messages[0].mail_options
    assert "From: jösé@example.test\r\n".encode() in old.messages[0].content
    assert "From: jösé@example.test\r\n".encode() in new.messages[0].content


# -------------------------------------------------------------- refusals


def test_some_recipients_refused(lab: SmtpLab, kind: str) -> None:
    """A partial refusal: both deliver to the others and report the refused one."""
    rcpts = [RCPTS[0], REFUSED, RCPTS[1]]
    old, new = raw_pair(lab, kind, DOTS, rcpts)
    assert_same_delivery(old, new)
    assert old.result == {REFUSED: (550, b"5.1.1 no such user")}
    assert list(new.result.refused) == [REFUSED]
    reply = new.result.refused[REFUSED]
    assert (reply.code, reply.enhanced, reply.text) == (550, (5, 1, 1), "no such user")
    assert list(new.result.accepted) == RCPTS
    assert new.messages[0].rcpt_tos == tuple(RCPTS)
    assert new.commands == old.commands  # the same commands, grouped differently


@pytest.mark.parametrize("pipelining", [True, False])
def test_every_recipient_refused(
    make_smtp_lab: Callable[..., SmtpLab], kind: str, pipelining: bool
) -> None:
    """Both raise and reset. With PIPELINING mailwire's DATA was already in the
    group (RFC 2920 §3.1) and is refused; without it the commands are the same."""
    lab = make_smtp_lab(pipelining=pipelining, refuse_recipients=REFUSE)
    old, new = raw_pair(lab, kind, DOTS, [REFUSED])
    assert isinstance(old.error, smtplib.SMTPRecipientsRefused)
    assert isinstance(new.error, RecipientRefused)
    assert old.messages == new.messages == []
    assert new.error.refused[REFUSED].code == old.error.recipients[REFUSED][0]  # type: ignore[attr-defined]
    expected = list(old.commands)
    if pipelining:
        expected.insert(expected.index(b"RSET"), b"DATA")
    assert new.commands == expected
    assert b"RSET" in old.commands


# -------------------------------------------------------------- STARTTLS and AUTH


def test_starttls_and_auth_plain_alike(make_smtp_lab: Callable[..., SmtpLab], kind: str) -> None:
    """The same STARTTLS session: EHLO again after TLS, and the very same AUTH PLAIN
    line (RFC 4616 message, SASL-IR per RFC 4954 §4)."""
    lab = make_smtp_lab()
    ctx = lab.client_context()

    def old_call(s: RecordingSMTP) -> Any:
        s.starttls(context=ctx)
        s.login(ALICE.name, ALICE.password)
        return s.sendmail(SENDER, RCPTS, DOTS)

    def new_call(c: Sync) -> Any:
        c.login(ALICE.name, ALICE.password)
        return c.send_message(DOTS, sender=SENDER, recipients=RCPTS)

    old = run_smtplib(lab, old_call, port=lab.starttls_port)
    new = run_mailwire(
        lab, kind, new_call, port=lab.starttls_port, tls=TLSMode.STARTTLS, ssl_context=ctx
    )
    assert_same_delivery(old, new)
    assert old.commands == new.commands
    assert old.commands[:4] == [
        b"EHLO client.test",
        b"STARTTLS",
        b"EHLO client.test",
        b"AUTH PLAIN AGFsaWNlAGFsaWNlLXBhc3N3b3Jk",  # base64("\0alice\0alice-password")
    ]
    assert new.messages[0].authenticated_as == old.messages[0].authenticated_as == ALICE.name


def test_non_ascii_password(make_smtp_lab: Callable[..., SmtpLab], kind: str) -> None:
    """RFC 4616 §2 passes UTF-8: smtplib cannot encode the password, mailwire can."""
    lab = make_smtp_lab()
    ctx = lab.client_context()

    def old_call(s: RecordingSMTP) -> Any:
        s.starttls(context=ctx)
        return s.login(BOB.name, BOB.password)

    old = run_smtplib(lab, old_call, port=lab.starttls_port)
    new = run_mailwire(
        lab,
        kind,
        lambda c: c.login(BOB.name, BOB.password),
        port=lab.starttls_port,
        tls=TLSMode.STARTTLS,
        ssl_context=ctx,
    )
    assert isinstance(old.error, UnicodeEncodeError)
    assert new.error is None
    assert new.result.code == 235


# -------------------------------------------------------------- Postfix and Dovecot

_TRACE = re.compile(rb"(?im)^(return-path|delivered-to|received|x-marker):.*\n(?:[ \t].*\n)*")


def _stored_without_trace(data: bytes) -> bytes:
    """A message as Dovecot stored it (LF ends) without the headers the path added."""
    return _TRACE.sub(b"", data.replace(b"\r\n", b"\n"))


def test_postfix_stores_the_same_message(postfix_lab: PostfixLab, kind: str) -> None:
    """Submission with STARTTLS and AUTH to Postfix, delivered by Dovecot: both
    clients' messages are stored alike for the To and the Bcc recipient."""
    dovecot = postfix_lab.dovecot
    ctx = postfix_lab.client_context()
    markers = {"smtplib": uuid.uuid4().hex, "mailwire": uuid.uuid4().hex}

    def message(marker: str) -> email.message.EmailMessage:
        msg = email.message.EmailMessage()
        msg["From"] = "alice@example.test"
        msg["To"] = "alice@example.test"
        msg["Bcc"] = "bob@example.test"
        msg["Subject"] = "differential"
        msg["Date"] = "Fri, 27 Nov 2026 12:00:00 +0000"
        msg["Message-ID"] = "<differential@client.test>"
        msg["X-Marker"] = marker
        msg.set_content("One.\n.Two, with a dot.\n\nGrüße aus dem Labor.\n")
        return msg

    with smtplib.SMTP("127.0.0.1", postfix_lab.submission_port, local_hostname=NAME) as s:
        s.starttls(context=ctx)
        s.login(ALICE.name, ALICE.password)
        s.send_message(message(markers["smtplib"]))
    with Sync(
        kind,
        "127.0.0.1",
        postfix_lab.submission_port,
        tls=TLSMode.STARTTLS,
        ssl_context=ctx,
        local_hostname=NAME,
    ) as c:
        c.connect()
        c.login(ALICE.name, ALICE.password)
        c.send_message(message(markers["mailwire"]))
        c.quit()
    for user in (ALICE, BOB):
        old = dovecot.wait_for_message(user, markers["smtplib"])
        new = dovecot.wait_for_message(user, markers["mailwire"])
        assert _stored_without_trace(new) == _stored_without_trace(old)
        assert b"Bcc" not in new
        assert b"bob@example.test" not in new
