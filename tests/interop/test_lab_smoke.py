"""The test lab works: the stdlib clients against every lab server.

These tests prove the lab, not mailwire: smtplib, imaplib and poplib talk to
aiosmtpd, Postfix and Dovecot over plain, STARTTLS and implicit TLS, with a
client context that trusts the lab CA and nothing else.
"""

from __future__ import annotations

import base64
import email.policy
import imaplib
import poplib
import smtplib
import ssl
import uuid
from collections.abc import Callable
from email.message import EmailMessage

import pytest

from tests.lab import ALICE, BOB, DovecotLab, LabCertificates, PostfixLab, SmtpLab

pytestmark = pytest.mark.lab

MakeSmtpLab = Callable[..., SmtpLab]


def make_message(sender: str, to: str, subject: str, body: str = "Hello.\n") -> EmailMessage:
    """A message in wire form (CRLF) with a unique Message-ID and a Date.

    With Date and Message-ID present Postfix adds nothing inside the header
    block; it and Dovecot only prepend trace headers.
    """
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate()
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@client.test>"
    msg.set_content(body)
    return msg


def auth_plain(user_name: str, password: str) -> str:
    """An RFC 4616 PLAIN response, UTF-8 (smtplib.login would send ASCII only)."""
    token = b"\0" + user_name.encode() + b"\0" + password.encode("utf-8")
    return base64.b64encode(token).decode("ascii")


def imap_fetch(imap: imaplib.IMAP4, message_id: str) -> bytes:
    imap.select("INBOX", readonly=True)
    typ, data = imap.search(None, "HEADER", "Message-ID", f'"{message_id}"')
    assert typ == "OK"
    numbers = data[0].split()
    assert len(numbers) == 1, numbers
    typ, parts = imap.fetch(numbers[0], "(BODY.PEEK[])")
    assert typ == "OK"
    part = parts[0]
    assert isinstance(part, tuple)
    return part[1]


def pop_fetch(pop: poplib.POP3, message_id: str) -> bytes:
    count, _ = pop.stat()
    for number in range(count, 0, -1):
        _, lines, _ = pop.retr(number)
        raw = b"\r\n".join(lines) + b"\r\n"
        if message_id.encode() in raw:
            return raw
    raise AssertionError(f"{message_id} not in the POP3 maildrop ({count} messages)")


# ---------------------------------------------------------------- aiosmtpd ----


def test_smtpd_plain_records_lines_and_exact_bytes(smtp_lab: SmtpLab) -> None:
    content = b"Subject: dots\r\n\r\n.leading dot\r\nlast line\r\n"
    with smtplib.SMTP(smtp_lab.host, smtp_lab.plain_port, timeout=10) as client:
        code, ehlo = client.ehlo("client.test")
        assert code == 250
        assert b"STARTTLS" not in ehlo
        assert b"AUTH" not in ehlo  # auth_require_tls: not over a plain connection
        client.sendmail("a@client.test", ["b@example.test", "c@example.test"], content)
    assert smtp_lab.commands == [
        b"ehlo client.test\r\n",
        f"mail FROM:<a@client.test> size={len(content)}\r\n".encode(),
        b"rcpt TO:<b@example.test>\r\n",
        b"rcpt TO:<c@example.test>\r\n",
        b"data\r\n",
        b"QUIT\r\n",
    ]
    [message] = smtp_lab.messages
    assert message.content == content  # dot-unstuffed, nothing added
    assert message.mail_from == "a@client.test"
    assert message.rcpt_tos == ("b@example.test", "c@example.test")
    assert (message.listener, message.tls, message.authenticated_as) == ("plain", False, None)
    assert [s.listener for s in smtp_lab.sessions] == ["plain"]


def test_smtpd_starttls_then_auth(smtp_lab: SmtpLab) -> None:
    msg = make_message(ALICE.address, BOB.address, "over STARTTLS")
    with smtplib.SMTP(smtp_lab.host, smtp_lab.starttls_port, timeout=10) as client:
        client.ehlo("client.test")
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")
        client.starttls(context=smtp_lab.client_context())
        client.ehlo("client.test")
        assert isinstance(client.sock, ssl.SSLSocket)
        assert client.sock.version() in {"TLSv1.2", "TLSv1.3"}
        assert client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        client.login(ALICE.name, ALICE.password)
        client.send_message(msg)
    lines = smtp_lab.commands
    assert lines[:3] == [b"ehlo client.test\r\n", b"STARTTLS\r\n", b"ehlo client.test\r\n"]
    assert lines[3] == f"AUTH PLAIN {auth_plain(ALICE.name, ALICE.password)}\r\n".encode()
    [message] = smtp_lab.messages
    assert message.content == msg.as_bytes()
    assert (message.tls, message.authenticated_as) == (True, "alice")


def test_smtpd_auth_login_and_bad_password(smtp_lab: SmtpLab) -> None:
    with smtplib.SMTP_SSL(
        smtp_lab.host, smtp_lab.tls_port, context=smtp_lab.client_context(), timeout=10
    ) as client:
        client.ehlo("client.test")
        client.user, client.password = ALICE.name, "wrong"
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.auth("LOGIN", client.auth_login)
        assert refused.value.smtp_code == 535
        client.password = ALICE.password
        code, _ = client.auth("LOGIN", client.auth_login)
        assert code == 235
    user_line = base64.b64encode(b"alice")
    assert f"AUTH LOGIN {user_line.decode()}\r\n".encode() in smtp_lab.commands


def test_smtpd_implicit_tls_utf8_password(smtp_lab: SmtpLab) -> None:
    msg = make_message(BOB.address, ALICE.address, "implicit TLS")
    with smtplib.SMTP_SSL(
        smtp_lab.host, smtp_lab.tls_port, context=smtp_lab.client_context(), timeout=10
    ) as client:
        client.ehlo("client.test")
        assert client.has_extn("auth")  # offered: the connection is TLS from the start
        code, _ = client.docmd("AUTH", "PLAIN " + auth_plain(BOB.name, BOB.password))
        assert code == 235
        client.send_message(msg)
    [message] = smtp_lab.messages
    assert (message.listener, message.tls, message.authenticated_as) == ("tls", True, "bob")
    assert message.content == msg.as_bytes()


def test_smtpd_options_require_starttls_and_auth(make_smtp_lab: MakeSmtpLab) -> None:
    lab = make_smtp_lab(require_starttls=True, auth_required=True)
    with smtplib.SMTP(lab.host, lab.starttls_port, timeout=10) as client:
        client.ehlo("client.test")
        assert client.docmd("MAIL", "FROM:<a@client.test>")[0] == 530  # STARTTLS first
        client.starttls(context=lab.client_context())
        client.ehlo("client.test")
        assert client.docmd("MAIL", "FROM:<a@client.test>")[0] == 530  # AUTH first
        client.login(ALICE.name, ALICE.password)
        assert client.docmd("MAIL", "FROM:<a@client.test>")[0] == 250


def test_smtpd_pipelining_and_bdat(make_smtp_lab: MakeSmtpLab) -> None:
    lab = make_smtp_lab(pipelining=True, chunking=True)
    with smtplib.SMTP(lab.host, lab.plain_port, timeout=10) as client:
        client.ehlo("client.test")
        assert client.has_extn("pipelining")
        assert client.has_extn("chunking")
        # MAIL, RCPT and the first chunk in one write (RFC 2920, RFC 3030).
        client.send(b"MAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 6\r\nHello ")
        assert [client.getreply()[0] for _ in range(3)] == [250, 250, 250]
        client.send(b"BDAT 7 LAST\r\nworld\r\n")
        assert client.getreply()[0] == 250
    [message] = lab.messages
    assert (message.command, message.content) == ("BDAT", b"Hello world\r\n")
    assert lab.commands[-3:] == [b"BDAT 6\r\n", b"BDAT 7 LAST\r\n", b"QUIT\r\n"]


def test_smtpd_records_an_overlong_line_whole(smtp_lab: SmtpLab) -> None:
    line = b"NOOP " + b"x" * 3000 + b"\r\n"
    with smtplib.SMTP(smtp_lab.host, smtp_lab.plain_port, timeout=10) as client:
        client.ehlo("client.test")
        client.send(line)
        assert client.getreply() == (500, b"Command line too long")
    assert smtp_lab.commands[1] == line


def test_smtpd_module_lab_resets(smtp_lab_module: SmtpLab) -> None:
    smtp_lab_module.reset()
    with smtplib.SMTP(smtp_lab_module.host, smtp_lab_module.plain_port, timeout=10) as client:
        client.noop()
    assert smtp_lab_module.commands == [b"noop\r\n", b"QUIT\r\n"]
    assert smtp_lab_module.connections == 1


# ------------------------------------------------------------------- TLS ----


def test_client_context_verifies_and_trusts_only_the_lab_ca(lab_certs: LabCertificates) -> None:
    ctx = lab_certs.client_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert [c["subject"] for c in ctx.get_ca_certs()] == [
        c["subject"]
        for c in ssl.create_default_context(cafile=str(lab_certs.ca_file)).get_ca_certs()
    ]


@pytest.mark.parametrize(
    ("cert", "context", "reason"),
    [
        ("server", "untrusting", "unable to get local issuer certificate"),
        ("server", "system", "unable to get local issuer certificate"),
        ("untrusted", "lab", "unable to get local issuer certificate"),
        ("wrong_host", "lab", "mismatch"),
        ("expired", "lab", "certificate has expired"),
    ],
)
def test_tls_verification_failures(
    make_smtp_lab: MakeSmtpLab, lab_certs: LabCertificates, cert: str, context: str, reason: str
) -> None:
    lab = make_smtp_lab(cert=cert)
    ctx = {
        "lab": lab_certs.client_context,
        "untrusting": lab_certs.untrusting_client_context,
        "system": ssl.create_default_context,
    }[context]()
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        smtplib.SMTP_SSL(lab.host, lab.tls_port, context=ctx, timeout=10)
    with (
        smtplib.SMTP(lab.host, lab.starttls_port, timeout=10) as client,
        pytest.raises(ssl.SSLCertVerificationError, match=reason),
    ):
        client.starttls(context=ctx)


def test_dovecot_and_postfix_refuse_an_untrusting_client(
    postfix_lab: PostfixLab, lab_certs: LabCertificates
) -> None:
    ctx = lab_certs.untrusting_client_context()
    dovecot = postfix_lab.dovecot
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(dovecot.host, dovecot.imaps_port, ssl_context=ctx, timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError):
        poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, context=ctx, timeout=10)
    with smtplib.SMTP(postfix_lab.host, postfix_lab.submission_port, timeout=10) as client:
        client.ehlo("client.test")
        with pytest.raises(ssl.SSLCertVerificationError):
            client.starttls(context=ctx)


# ------------------------------------------------------- Postfix + Dovecot ----


def test_submission_starttls_auth_read_back_over_imap_and_pop3_starttls(
    postfix_lab: PostfixLab,
) -> None:
    dovecot = postfix_lab.dovecot
    ctx = postfix_lab.client_context()
    msg = make_message(ALICE.address, ALICE.address, "submission to alice")
    original = msg.as_bytes()
    with smtplib.SMTP(postfix_lab.host, postfix_lab.submission_port, timeout=10) as client:
        client.ehlo("client.test")
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")  # smtpd_tls_auth_only
        assert client.docmd("MAIL", f"FROM:<{ALICE.address}>")[0] == 530  # TLS required
        client.starttls(context=ctx)
        client.ehlo("client.test")
        assert {"PLAIN", "LOGIN"} <= set(client.esmtp_features["auth"].split())
        client.login(ALICE.name, ALICE.password)
        assert client.send_message(msg) == {}
    dovecot.wait_for_message(ALICE, msg["Message-ID"])

    imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=10)
    try:
        imap.starttls(ssl_context=ctx)
        imap.login(ALICE.name, ALICE.password)
        assert imap_fetch(imap, msg["Message-ID"]).endswith(original)
    finally:
        imap.logout()

    pop = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=10)
    try:
        pop.stls(context=ctx)
        pop.user(ALICE.name)
        pop.pass_(ALICE.password)
        assert pop_fetch(pop, msg["Message-ID"]).endswith(original)
    finally:
        pop.quit()


def test_submissions_utf8_password_read_back_over_imaps_and_pop3s(
    postfix_lab: PostfixLab,
) -> None:
    dovecot = postfix_lab.dovecot
    ctx = postfix_lab.client_context()
    msg = make_message(BOB.address, ALICE.address, "submissions from bob")
    original = msg.as_bytes()
    with smtplib.SMTP_SSL(
        postfix_lab.host, postfix_lab.submissions_port, context=ctx, timeout=10
    ) as client:
        client.ehlo("client.test")
        code, _ = client.docmd("AUTH", "PLAIN " + auth_plain(BOB.name, BOB.password))
        assert code == 235
        assert client.send_message(msg) == {}
    dovecot.wait_for_message(ALICE, msg["Message-ID"])

    imap = imaplib.IMAP4_SSL(dovecot.host, dovecot.imaps_port, ssl_context=ctx, timeout=10)
    try:
        imap.login(ALICE.name, ALICE.password)
        assert imap_fetch(imap, msg["Message-ID"]).endswith(original)
    finally:
        imap.logout()

    pop = poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, context=ctx, timeout=10)
    try:
        pop.user(ALICE.name)
        pop.pass_(ALICE.password)
        assert pop_fetch(pop, msg["Message-ID"]).endswith(original)
    finally:
        pop.quit()


def test_bob_logs_in_with_utf8_password_on_imaps_and_pop3s(dovecot_lab: DovecotLab) -> None:
    msg = make_message("seed@example.test", BOB.address, "seeded for bob")
    dovecot_lab.seed(msg, BOB)
    ctx = dovecot_lab.client_context()
    imap = imaplib.IMAP4_SSL(dovecot_lab.host, dovecot_lab.imaps_port, ssl_context=ctx, timeout=10)
    try:
        # imaplib.login sends ASCII only; AUTHENTICATE PLAIN carries UTF-8.
        imap.authenticate("PLAIN", lambda _: b"\0bob\0" + BOB.password_bytes)
        assert imap_fetch(imap, msg["Message-ID"]).endswith(msg.as_bytes())
    finally:
        imap.logout()
    pop = poplib.POP3_SSL(dovecot_lab.host, dovecot_lab.pop3s_port, context=ctx, timeout=10)
    try:
        pop.user(BOB.name)
        assert pop.pass_(BOB.password).startswith(b"+OK")  # poplib sends UTF-8
    finally:
        pop.quit()


def test_lmtp_seed_lands_in_the_maildir(dovecot_lab: DovecotLab) -> None:
    msg = make_message("seed@example.test", ALICE.address, "seeded over LMTP")
    dovecot_lab.seed(msg, ALICE)
    stored = dovecot_lab.wait_for_message(ALICE, msg["Message-ID"], timeout=1)
    # Dovecot stores LF line ends and prepends Return-Path, Delivered-To, Received.
    assert stored.startswith(b"Return-Path: <seed@example.test>\n")
    assert stored.endswith(msg.as_bytes().replace(b"\r\n", b"\n"))
    assert dovecot_lab.maildir(ALICE).is_dir()


def test_strict_host_shows_logindisabled_until_starttls(dovecot_lab: DovecotLab) -> None:
    ctx = dovecot_lab.client_context()
    # 127.0.0.1 -> 127.0.0.1 counts as "secured" for Dovecot: no LOGINDISABLED.
    imap = imaplib.IMAP4(dovecot_lab.host, dovecot_lab.imap_port, timeout=10)
    assert "LOGINDISABLED" not in imap.capabilities
    imap.logout()

    imap = imaplib.IMAP4(dovecot_lab.strict_host, dovecot_lab.imap_port, timeout=10)
    try:
        assert "LOGINDISABLED" in imap.capabilities
        assert "AUTH=PLAIN" not in imap.capabilities
        imap.starttls(ssl_context=ctx)
        assert "LOGINDISABLED" not in imap.capabilities
        assert "AUTH=PLAIN" in imap.capabilities
        assert imap.login(ALICE.name, ALICE.password)[0] == "OK"
    finally:
        imap.logout()

    pop = poplib.POP3(dovecot_lab.strict_host, dovecot_lab.pop3_port, timeout=10)
    try:
        with pytest.raises(poplib.error_proto, match="Plaintext authentication disallowed"):
            pop.user(ALICE.name)
        pop.stls(context=ctx)
        pop.user(ALICE.name)
        assert pop.pass_(ALICE.password).startswith(b"+OK")
    finally:
        pop.quit()


def test_smtp_port_delivers_to_lab_users_only(postfix_lab: PostfixLab) -> None:
    msg = make_message("someone@client.test", BOB.address, "MX-style delivery")
    with smtplib.SMTP(postfix_lab.host, postfix_lab.smtp_port, timeout=10) as client:
        client.ehlo("client.test")
        assert client.has_extn("starttls")
        client.starttls(context=postfix_lab.client_context())
        client.ehlo("client.test")
        assert not client.has_extn("auth")  # no AUTH on this port at all
        with pytest.raises(smtplib.SMTPRecipientsRefused) as relay:
            client.sendmail(
                "someone@client.test", ["x@elsewhere.example"], b"Subject: x\r\n\r\nx\r\n"
            )
        code, text = relay.value.recipients["x@elsewhere.example"]
        assert (code, b"Relay access denied" in text) == (554, True)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as unknown:
            client.sendmail(
                "someone@client.test", ["nobody@example.test"], b"Subject: x\r\n\r\nx\r\n"
            )
        assert unknown.value.recipients["nobody@example.test"][0] == 550
        assert client.send_message(msg) == {}
    postfix_lab.dovecot.wait_for_message(BOB, msg["Message-ID"])


def test_authenticated_mail_off_the_lab_is_refused(postfix_lab: PostfixLab) -> None:
    with smtplib.SMTP_SSL(
        postfix_lab.host,
        postfix_lab.submissions_port,
        context=postfix_lab.client_context(),
        timeout=10,
    ) as client:
        client.login(ALICE.name, ALICE.password)
        # Relaying is allowed after AUTH, but every transport off the lab is
        # "error:", which smtpd already applies at RCPT time.
        code, text = client.docmd("MAIL", f"FROM:<{ALICE.address}>")
        assert code == 250
        code, text = client.docmd("RCPT", "TO:<someone@elsewhere.example>")
        assert code == 550
        assert b"sends nothing off this machine" in text


def test_servers_answer_on_ipv6_loopback(postfix_lab: PostfixLab) -> None:
    if not postfix_lab.ipv6:
        pytest.skip("no ::1 on this machine")
    with smtplib.SMTP("::1", postfix_lab.submission_port, timeout=10) as client:
        assert client.ehlo("client.test")[0] == 250
    imap = imaplib.IMAP4("::1", postfix_lab.dovecot.imap_port, timeout=10)
    assert "IMAP4REV1" in imap.capabilities
    imap.logout()
