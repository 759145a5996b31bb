"""12: the same task with smtplib and imaplib, then with mailwire.

    python examples/12_compare_with_stdlib.py

The task: send yourself a message over SMTP (STARTTLS, login), then find it
over IMAP and read its subject. Both versions talk to the same servers;
read them side by side. What differs:

- TLS: ``smtplib.SMTP.starttls()`` and ``imaplib.IMAP4.starttls()`` check
  the certificate only when given a verifying context, and smtplib sends
  the message in the clear if you forget to call ``starttls()`` at all.
  mailwire verifies by default, and ``tls=STARTTLS`` fails closed;
- arguments: imaplib puts the SEARCH words on the line as you give them,
  so you quote them yourself (and a CR/LF in them would start a new
  command); mailwire quotes, or sends a literal, and refuses CR/LF;
- passwords: smtplib and imaplib send them as ASCII, so a password with
  a character such as "ä" cannot be used; mailwire sends UTF-8;
- results: imaplib answers ``('OK', [b'3 4'])`` and nested tuples of bytes
  to take apart by hand; mailwire answers lists of ints and parsed objects.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import imaplib
import smtplib
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import settings

from mailwire import TLSMode, imap, mime, smtp

T = TypeVar("T")
token = uuid.uuid4().hex[:8]  # makes each run's subjects unique
context = settings.ssl_context()  # the same verifying context for both


def wait(find: Callable[[], T], what: str) -> T:
    """Call find() until it returns something: delivery takes a moment."""
    for _ in range(150):
        found = find()
        if found:
            return found
        time.sleep(0.2)
    raise SystemExit(f"{what}: not delivered after 30 s")


# ---------------------------------------------------------------- the stdlib
def stdlib_version() -> str:
    subject = f"stdlib {token}"
    message = email.message.EmailMessage()
    message["From"] = message["To"] = settings.ADDRESS
    message["Subject"] = subject
    message.set_content("Sent with smtplib.\n")
    if settings.SMTP_TLS is TLSMode.IMPLICIT:
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.HOST, settings.SMTP_PORT, context=context, timeout=30
        )
    else:
        server = smtplib.SMTP(settings.HOST, settings.SMTP_PORT, timeout=30)
        server.starttls(context=context)  # forget this line and all goes in the clear
    with server:
        server.login(settings.USER, settings.password())
        server.send_message(message)

    if settings.IMAP_TLS is TLSMode.IMPLICIT:
        mailbox: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            settings.HOST, settings.IMAP_PORT, ssl_context=context
        )
    else:
        mailbox = imaplib.IMAP4(settings.HOST, settings.IMAP_PORT)
        mailbox.starttls(ssl_context=context)
    try:
        mailbox.login(settings.USER, settings.password())
        mailbox.select("INBOX", readonly=True)

        def find() -> list[bytes]:
            status, data = mailbox.uid("SEARCH", "SUBJECT", f'"{subject}"')  # quoted by hand
            assert status == "OK"
            found: list[bytes] = data[0].split()  # b'3 4' -> [b'3', b'4']
            return found

        uids = wait(find, "stdlib")
        status, data = mailbox.uid(
            "FETCH", uids[-1].decode(), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
        )
        assert status == "OK"
        header_bytes = data[0][1]  # data is [(b'3 (UID 3 BODY[...] {27}', b'Subject: ...'), b')']
        assert isinstance(header_bytes, bytes)
        header = email.parser.BytesParser(policy=email.policy.default).parsebytes(header_bytes)
        return str(header["Subject"])
    finally:
        mailbox.logout()


# ---------------------------------------------------------------- mailwire
def mailwire_version() -> str:
    subject = f"mailwire {token}"
    message = mime.Message(
        sender=settings.ADDRESS, to=settings.ADDRESS, subject=subject, text="Sent with mailwire.\n"
    )
    with smtp.Client(
        settings.HOST, settings.SMTP_PORT, tls=settings.SMTP_TLS, ssl_context=context
    ) as server:
        server.login(settings.USER, settings.password())
        server.send_message(message)

    with imap.Client(
        settings.HOST, settings.IMAP_PORT, tls=settings.IMAP_TLS, ssl_context=context
    ) as mailbox:
        mailbox.login(settings.USER, settings.password())
        mailbox.select("INBOX", readonly=True)
        uids = wait(lambda: mailbox.search("SUBJECT", subject), "mailwire")  # [3, 4]
        data = mailbox.fetch(uids[-1], ["ENVELOPE"])[uids[-1]]
        assert data.envelope is not None
        return data.envelope.subject or ""


try:
    print("stdlib:  ", stdlib_version())
except (UnicodeEncodeError, smtplib.SMTPException) as error:
    if settings.password().isascii():
        raise
    # smtplib and imaplib encode the login as ASCII, so a password such as
    # "pässwörd" cannot be sent; smtplib may even leave its AUTH exchange half
    # done, and then fail on QUIT. SASL PLAIN is UTF-8 (RFC 4616 §2).
    print(
        f"stdlib:   could not log in ({type(error).__name__}): "
        "smtplib and imaplib send passwords as ASCII only"
    )
print("mailwire:", mailwire_version())
