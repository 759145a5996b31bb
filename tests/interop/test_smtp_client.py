"""mailwire's SMTP clients against real servers: aiosmtpd, Postfix, Dovecot LMTP.

Every aiosmtpd case runs through the blocking and the asyncio client (one set
of flows, two drivers). Postfix messages are read back from Dovecot's maildir
and compared with what was sent.
"""

from __future__ import annotations

import asyncio
import base64
import email.message
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from mailwire import (
    AuthenticationError,
    RecipientRefused,
    SecurityError,
    SenderRefused,
    TLSMode,
    smtp,
)
from tests.lab import DovecotLab, PostfixLab, SmtpLab
from tests.lab.accounts import ALICE, BOB


class Sync:
    """Run the same calls on either client: ``await`` hidden for the async one."""

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        self.kind = kind
        if kind == "blocking":
            self.client: Any = smtp.Client(*args, **kwargs)
            self._runner: asyncio.Runner | None = None
        else:
            self.client = smtp.AsyncClient(*args, **kwargs)
            self._runner = asyncio.Runner()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)
        if self._runner is None or not callable(method):
            return method  # type: ignore[no-any-return]
        runner = self._runner
        return lambda *a, **k: runner.run(method(*a, **k))

    def __enter__(self) -> Sync:
        self.connect()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc is None:
            self.quit()
        else:
            self.close()
        if self._runner is not None:
            self._runner.close()


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_message(to: str = "bob@example.test", **headers: str) -> bytes:
    msg_id = f"<{uuid.uuid4().hex}@client.test>"
    lines = [
        "From: alice@example.test",
        f"To: {to}",
        "Subject: hello over the wire",
        "Date: Fri, 27 Nov 2026 12:00:00 +0000",
        f"Message-ID: {msg_id}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        "First line.",
        ".A line starting with a dot.",
        "..and one with two.",
        "",
    ]
    return "\r\n".join(lines).encode()


def test_implicit_tls_login_send(kind: str, smtp_lab: SmtpLab) -> None:
    data = make_message()
    with Sync(kind, smtp_lab.host, smtp_lab.tls_port, ssl_context=smtp_lab.client_context()) as c:
        assert c.client.connection.tls_active
        assert "PLAIN" in c.client.capabilities.auth
        c.login(ALICE.name, ALICE.password)
        result = c.send_message(data)
    (received,) = smtp_lab.wait_for_messages(1)
    assert received.content == data  # dot-stuffed on the wire, unstuffed by the server
    assert received.tls
    assert received.authenticated_as == ALICE.name
    assert received.mail_from == "alice@example.test"
    assert received.rcpt_tos == ("bob@example.test",)
    assert list(result.accepted) == ["bob@example.test"]
    assert result.refused == {}
    # The password never shows in the transcript (S40).
    text = c.client.transcript.render() + c.client.transcript.to_jsonl()
    secret = base64.b64encode(f"\0{ALICE.name}\0{ALICE.password}".encode()).decode()
    assert ALICE.password not in text
    assert secret not in text
    assert "AUTH PLAIN <redacted" in text


def test_starttls_required_and_used(kind: str, smtp_lab: SmtpLab) -> None:
    with Sync(
        kind,
        smtp_lab.host,
        smtp_lab.starttls_port,
        tls=TLSMode.STARTTLS,
        ssl_context=smtp_lab.client_context(),
    ) as c:
        c.login(BOB.name, BOB.password)  # the non-ASCII password, UTF-8 on the wire
        c.send_message(make_message(), sender="bob@example.test", recipients=["alice@example.test"])
    (received,) = smtp_lab.wait_for_messages(1)
    assert received.tls
    assert received.authenticated_as == BOB.name
    # EHLO was sent again after the handshake (RFC 3207 §4.2, S3).
    commands = [line.split()[0].upper() for line in smtp_lab.commands]
    assert commands[:3] == [b"EHLO", b"STARTTLS", b"EHLO"]


def test_no_auth_over_plaintext(kind: str, smtp_lab: SmtpLab) -> None:
    """S38: no AUTH reaches the server without TLS unless allowed."""
    with Sync(kind, smtp_lab.host, smtp_lab.plain_port, tls=TLSMode.PLAIN) as c:
        with pytest.raises(SecurityError, match="without TLS"):
            c.login(ALICE.name, ALICE.password)
        assert not any(line.upper().startswith(b"AUTH") for line in smtp_lab.commands)
        c.noop()  # the session is still usable


def test_pipelined_transaction_with_a_refused_recipient(kind: str, make_smtp_lab: Any) -> None:
    lab = make_smtp_lab(pipelining=True, refuse_recipients={"nobody@example.test": "550 5.1.1 no"})
    with Sync(kind, lab.host, lab.tls_port, ssl_context=lab.client_context()) as c:
        assert c.client.capabilities.pipelining
        result = c.send_message(
            make_message(),
            sender="alice@example.test",
            recipients=["bob@example.test", "nobody@example.test"],
        )
    assert list(result.accepted) == ["bob@example.test"]
    assert result.refused["nobody@example.test"].code == 550
    assert result.refused["nobody@example.test"].enhanced == (5, 1, 1)
    (received,) = lab.wait_for_messages(1)
    assert received.rcpt_tos == ("bob@example.test",)


def test_every_recipient_refused_raises_and_resets(kind: str, make_smtp_lab: Any) -> None:
    lab = make_smtp_lab(pipelining=True, refuse_recipients={"nobody@example.test": "550 5.1.1 no"})
    with Sync(kind, lab.host, lab.tls_port, ssl_context=lab.client_context()) as c:
        with pytest.raises(RecipientRefused) as info:
            c.send_message(
                make_message(), sender="alice@example.test", recipients=["nobody@example.test"]
            )
        assert info.value.code == 550
        assert set(info.value.refused) == {"nobody@example.test"}
        # The session goes on: the next message is delivered.
        c.send_message(make_message(), sender="alice@example.test", recipients=["bob@example.test"])
    assert len(lab.wait_for_messages(1)) == 1
    assert b"RSET\r\n" in lab.commands


def test_bcc_stays_blind(kind: str, smtp_lab: SmtpLab) -> None:
    """S21: Bcc recipients get the message; the Bcc field is not in it."""
    msg = email.message.EmailMessage()
    msg["From"] = "alice@example.test"
    msg["To"] = "bob@example.test"
    msg["Bcc"] = "carol@example.test"
    msg["Subject"] = "blind"
    msg.set_content("hi\n")
    with Sync(kind, smtp_lab.host, smtp_lab.tls_port, ssl_context=smtp_lab.client_context()) as c:
        c.send_message(msg)
    (received,) = smtp_lab.wait_for_messages(1)
    assert received.rcpt_tos == ("bob@example.test", "carol@example.test")
    assert b"carol" not in received.content
    assert b"Bcc" not in received.content


def test_bdat(kind: str, make_smtp_lab: Any) -> None:
    lab = make_smtp_lab(chunking=True, pipelining=True)
    data = make_message() + (b"x" * 100 + b"\r\n") * 2000
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    with Sync(kind, lab.host, lab.tls_port, ssl_context=lab.client_context()) as c:
        c.send_message(iter(chunks), use_bdat=True)
    (received,) = lab.wait_for_messages(1)
    assert received.command == "BDAT"
    assert received.content == data


def test_sender_refused(kind: str, make_smtp_lab: Any) -> None:
    lab = make_smtp_lab(auth_required=True)
    with Sync(kind, lab.host, lab.tls_port, ssl_context=lab.client_context()) as c:
        with pytest.raises(SenderRefused) as info:
            c.send_message(make_message())
        assert info.value.code == 530
        c.noop()


def test_wrong_password(kind: str, smtp_lab: SmtpLab) -> None:
    with Sync(kind, smtp_lab.host, smtp_lab.tls_port, ssl_context=smtp_lab.client_context()) as c:
        with pytest.raises(AuthenticationError, match="535"):
            c.login(ALICE.name, "wrong")
        # One attempt only: no fallback to another mechanism (S39).
        assert sum(line.upper().startswith(b"AUTH") for line in smtp_lab.commands) == 1


def test_postfix_submission_read_back_from_dovecot(kind: str, postfix_lab: PostfixLab) -> None:
    dovecot: DovecotLab = postfix_lab.dovecot
    marker = uuid.uuid4().hex
    data = make_message(to="alice@example.test", **{"X-Marker": marker})
    with Sync(
        kind,
        "127.0.0.1",
        postfix_lab.submission_port,
        tls=TLSMode.STARTTLS,
        ssl_context=postfix_lab.client_context(),
    ) as c:
        caps = c.client.capabilities
        assert caps.pipelining
        assert caps.chunking
        assert "SCRAM-SHA-256" in caps.auth
        c.login(BOB.name, BOB.password)  # SCRAM-SHA-256 through Dovecot's auth
        result = c.send_message(data, sender="bob@example.test")
    assert list(result.accepted) == ["alice@example.test"]
    stored = dovecot.wait_for_message(ALICE, marker)
    # Dovecot stores LF line ends and Postfix prepends Received/Return-Path.
    assert data.replace(b"\r\n", b"\n") in stored.replace(b"\r\n", b"\n")


def test_postfix_submissions_implicit_tls_bdat(kind: str, postfix_lab: PostfixLab) -> None:
    marker = uuid.uuid4().hex
    data = make_message(to="alice@example.test", **{"X-Marker": marker})
    with Sync(
        kind,
        "127.0.0.1",
        postfix_lab.submissions_port,
        ssl_context=postfix_lab.client_context(),
    ) as c:
        c.login(ALICE.name, ALICE.password)
        c.send_message(data, use_bdat=True)
    stored = postfix_lab.dovecot.wait_for_message(ALICE, marker)
    assert data.replace(b"\r\n", b"\n") in stored.replace(b"\r\n", b"\n")


def test_lmtp_per_recipient_replies(dovecot_lab: DovecotLab) -> None:
    """RFC 2033 §4.2: one reply per accepted recipient after the data."""
    marker = uuid.uuid4().hex
    data = make_message(to="alice@example.test", **{"X-Marker": marker})
    with smtp.LMTPClient("127.0.0.1", dovecot_lab.lmtp_port, tls=TLSMode.PLAIN) as c:
        result = c.send_message(
            data,
            sender="seed@example.test",
            recipients=["alice@example.test", "nosuchuser@example.test", "bob@example.test"],
        )
    assert set(result.accepted) == {"alice@example.test", "bob@example.test"}
    assert set(result.refused) == {"nosuchuser@example.test"}
    assert all(r.recipient == addr for addr, r in result.accepted.items())
    dovecot_lab.wait_for_message(ALICE, marker)
    dovecot_lab.wait_for_message(BOB, marker)


def client_writes(client: Any) -> list[bytes]:
    from mailwire.transcript import Direction, Kind

    return [
        r.data
        for r in client.transcript.records
        if r.kind is Kind.DATA and r.direction is Direction.CLIENT
    ]


def test_batch_pipelined_across_messages(kind: str, make_smtp_lab: Any) -> None:
    lab = make_smtp_lab(pipelining=True, refuse_recipients={"nobody@example.test": "550 5.1.1 no"})
    batch = [
        (make_message(), "alice@example.test", ["bob@example.test"]),
        (make_message(), "alice@example.test", ["nobody@example.test"]),  # refused whole
        (make_message(), "alice@example.test", ["bob@example.test", "nobody@example.test"]),
        make_message(to="carol@example.test"),  # envelope from the header
    ]
    with Sync(kind, lab.host, lab.tls_port, ssl_context=lab.client_context()) as c:
        results = c.send_messages(batch)
        writes = client_writes(c.client)
    assert [list(r.accepted) for r in results] == [
        ["bob@example.test"],
        [],
        ["bob@example.test"],
        ["carol@example.test"],
    ]
    assert results[1].refused["nobody@example.test"].code == 550
    assert results[2].refused["nobody@example.test"].code == 550
    received = lab.wait_for_messages(3)
    assert [m.content for m in received] == [batch[0][0], batch[2][0], batch[3]]
    # RFC 2920 §3.1: the end of a message's data and the next MAIL/RCPT/DATA
    # group went out in one write.
    assert any(
        b"\r\n.\r\nMAIL FROM:<alice@example.test>" in w and w.endswith(b"DATA\r\n") for w in writes
    )


def test_batch_through_postfix(postfix_lab: PostfixLab) -> None:
    markers = [uuid.uuid4().hex for _ in range(3)]
    batch = [make_message(to="alice@example.test", **{"X-Marker": m}) for m in markers]
    with smtp.Client(
        "127.0.0.1", postfix_lab.submissions_port, ssl_context=postfix_lab.client_context()
    ) as c:
        c.login(ALICE.name, ALICE.password)
        results = c.send_messages(batch)
    assert all(list(r.accepted) == ["alice@example.test"] for r in results)
    for marker in markers:
        postfix_lab.dovecot.wait_for_message(ALICE, marker)


def test_smtputf8_addresses_when_offered(kind: str, make_smtp_lab: Any) -> None:
    """RFC 6531: UTF-8 addresses go as they are, with the SMTPUTF8 parameter."""
    lab = make_smtp_lab(smtputf8=True)
    with Sync(kind, lab.host, lab.tls_port, ssl_context=lab.client_context()) as c:
        assert c.client.capabilities.smtputf8
        result = c.send_message(
            make_message(), sender="alice@example.test", recipients=["bjørn@exämple.test"]
        )
    (received,) = lab.wait_for_messages(1)
    assert received.rcpt_tos == ("bjørn@exämple.test",)
    assert "SMTPUTF8" in received.mail_options
    assert list(result.accepted) == ["bjørn@exämple.test"]


def test_idna_domain_without_smtputf8(kind: str, make_smtp_lab: Any) -> None:
    """Without SMTPUTF8 a non-ASCII domain is sent as its IDNA A-label."""
    lab = make_smtp_lab(smtputf8=False)
    with Sync(kind, lab.host, lab.tls_port, ssl_context=lab.client_context()) as c:
        assert not c.client.capabilities.smtputf8
        result = c.send_message(
            make_message(), sender="alice@example.test", recipients=["bob@bücher.example"]
        )
    (received,) = lab.wait_for_messages(1)
    # RFC 3492 / RFC 5891: bücher -> xn--bcher-kva
    assert received.rcpt_tos == ("bob@xn--bcher-kva.example",)
    assert "SMTPUTF8" not in received.mail_options
    assert list(result.accepted) == ["bob@bücher.example"]  # keyed as the caller wrote it


def test_non_ascii_local_part_without_smtputf8(kind: str, make_smtp_lab: Any) -> None:
    from mailwire import NotSupportedError

    lab = make_smtp_lab(smtputf8=False)
    with Sync(kind, lab.host, lab.tls_port, ssl_context=lab.client_context()) as c:
        with pytest.raises(NotSupportedError, match="local part"):
            c.send_message(make_message(), sender="alice@example.test", recipients=["bjørn@x.test"])
        c.noop()  # nothing was sent; the session goes on
    assert not any(line.upper().startswith(b"MAIL") for line in lab.commands)


def test_refused_bdat_then_the_session_goes_on(kind: str, make_smtp_lab: Any) -> None:
    """RFC 3030 §2: a refused chunk fails the message; RSET follows; the next one goes."""
    from mailwire import SMTPReplyError

    lab = make_smtp_lab(chunking=True, data_size_limit=1000)
    big = make_message() + (b"y" * 100 + b"\r\n") * 50
    with Sync(kind, lab.host, lab.tls_port, ssl_context=lab.client_context()) as c:
        with pytest.raises(SMTPReplyError) as info:
            c.send_message(iter([big[:2000], big[2000:]]), use_bdat=True)  # size unknown
        assert info.value.code == 552
        small = make_message()
        result = c.send_message(small, use_bdat=True)
    assert list(result.accepted) == ["bob@example.test"]
    (received,) = lab.wait_for_messages(1)
    assert received.content == small
    assert b"RSET\r\n" in lab.commands


def test_mime_message_with_bcc_and_attachment(kind: str, smtp_lab: SmtpLab) -> None:
    """mailwire's own MIME builder: envelope from the message (Bcc kept, S21)."""
    from mailwire import mime

    payload = bytes(range(256)) * 40
    msg = mime.Message(
        sender="Alice <alice@example.test>",
        to=["Bob <bob@example.test>"],
        bcc=["carol@example.test"],
        subject="Grüße with a file",
        text="Hallo Bob, see the attachment — ünïcödé.\n",
    )
    msg.attach(payload, filename="data.bin", content_type="application/octet-stream")
    with Sync(kind, smtp_lab.host, smtp_lab.tls_port, ssl_context=smtp_lab.client_context()) as c:
        result = c.send_message(msg)
    assert set(result.accepted) == {"bob@example.test", "carol@example.test"}
    (received,) = smtp_lab.wait_for_messages(1)
    assert set(received.rcpt_tos) == {"bob@example.test", "carol@example.test"}
    assert b"carol" not in received.content
    parsed = mime.parse(received.content)
    assert parsed.headers.get("Subject") == "Grüße with a file"
    files = [p for p in parsed.walk() if p.filename == "data.bin"]
    assert files[0].content() == payload
    texts = [p for p in parsed.walk() if p.content_type == "text/plain"]
    assert "ünïcödé" in texts[0].text()


def test_postfix_dsn_and_8bitmime(postfix_lab: PostfixLab) -> None:
    """DSN (RFC 3461) and 8BITMIME through Postfix, read back from Dovecot.

    A success notification (NOTIFY=SUCCESS) for alice's message to bob comes
    back to alice as a multipart/report naming the ENVID; the 8-bit body
    arrives unchanged.
    """
    dovecot = postfix_lab.dovecot
    marker = uuid.uuid4().hex
    envid = f"mw-{marker}"
    body = "Grüße aus dem Labor: ünïcödé, 8-bit as is.\r\n".encode()
    data = (
        f"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: dsn {marker}\r\n"
        "Date: Fri, 27 Nov 2026 12:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body
    with smtp.Client(
        "127.0.0.1", postfix_lab.submissions_port, ssl_context=postfix_lab.client_context()
    ) as c:
        caps = c.capabilities
        assert caps.dsn
        assert caps.eightbitmime
        c.login(ALICE.name, ALICE.password)
        result = c.send_message(
            data, notify=("SUCCESS", "FAILURE"), ret="HDRS", envid=envid, orcpt=True
        )
        mail = next(r for r in c.transcript.records if b"MAIL FROM" in r.data)
        rcpt = next(r for r in c.transcript.records if b"RCPT TO" in r.data)
    assert list(result.accepted) == ["bob@example.test"]
    assert b"BODY=8BITMIME" in mail.data
    assert f"ENVID={envid}".encode() in mail.data
    assert b"RET=HDRS" in mail.data
    assert b"NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.test" in rcpt.data
    stored = dovecot.wait_for_message(BOB, marker)
    assert body.replace(b"\r\n", b"\n") in stored.replace(b"\r\n", b"\n")
    # The success DSN for the envelope id comes back to the sender (RFC 3464).
    report = dovecot.wait_for_message(ALICE, envid)
    assert b"multipart/report" in report
    assert b"report-type=delivery-status" in report


def test_postfix_smtputf8(postfix_lab: PostfixLab) -> None:
    """RFC 6531 through Postfix: UTF-8 headers and a UTF-8 sender, stored byte for byte.

    Delivered by Postfix's virtual(8) into bob's Maildir (Dovecot 2.3's LMTP
    does not offer SMTPUTF8; see tests/lab/postfix.py).
    """
    from tests.lab.postfix import UTF8_ADDRESS

    marker = uuid.uuid4().hex
    data = (
        f"From: Jörg <alice@example.test>\r\nTo: {UTF8_ADDRESS}\r\n"
        f"Subject: Grüße {marker}\r\nDate: Fri, 27 Nov 2026 12:00:00 +0000\r\n"
        f"Message-ID: <{marker}@client.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nÜmläute im Körper.\r\n"
    ).encode()
    with smtp.Client(
        "127.0.0.1", postfix_lab.submissions_port, ssl_context=postfix_lab.client_context()
    ) as c:
        assert c.capabilities.smtputf8
        c.login(ALICE.name, ALICE.password)
        result = c.send_message(data)
        mail = next(r for r in c.transcript.records if b"MAIL FROM" in r.data)
    assert list(result.accepted) == [UTF8_ADDRESS]
    assert b" SMTPUTF8" in mail.data  # the raw UTF-8 header needs it (RFC 6531 §3.3)
    stored = postfix_lab.dovecot.wait_for_message(BOB, marker)
    assert data.replace(b"\r\n", b"\n") in stored.replace(b"\r\n", b"\n")
