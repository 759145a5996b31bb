"""The lab's SMTP submission server: aiosmtpd, delivering into Maildirs.

One listener, like port 587 (RFC 6409): STARTTLS is required before anything
else (``530 Must issue a STARTTLS command first``), then AUTH PLAIN or LOGIN
(``530 5.7.0 Authentication required`` until then), then the lab's two
recipients only. aiosmtpd itself decides every reply; the lab only adds the
handler that stores the mail and the password check.

Delivery follows what a real final-delivery server does (RFC 5321 §4.4): it
prepends ``Return-Path`` and a ``Received`` trace field, then writes the
message, with LF line ends as is usual in a Maildir, into
``<mail_root>/<user>/Maildir`` with the stdlib's :class:`mailbox.Maildir`
(tmp/, then a rename into new/), where the POP3 and IMAP servers read it.
"""

from __future__ import annotations

import email.utils
import mailbox
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mailwire.demo._accounts import DOMAIN, Account

__all__ = ["HOSTNAME", "MaildirDelivery", "make_authenticator", "make_smtp_factory"]

HOSTNAME = "lab.localhost"


def maildir_path(mail_root: Path, user: str) -> Path:
    """Where a lab user's INBOX lives (the layout Dovecot calls Maildir++)."""
    return mail_root / user / "Maildir"


def create_maildir(mail_root: Path, user: str) -> Path:
    path = maildir_path(mail_root, user)
    path.parent.mkdir(parents=True, exist_ok=True)
    mailbox.Maildir(path, create=True)  # creates only the last level: hence the mkdir
    return path


class MaildirDelivery:
    """An aiosmtpd handler: accept the lab's users, store each message.

    aiosmtpd calls ``handle_RCPT`` for each RCPT TO and ``handle_DATA`` once
    the content has arrived; the strings they return are the replies.
    """

    def __init__(self, mail_root: Path, accounts: Mapping[str, Account]) -> None:
        self.mail_root = mail_root
        self.accounts = accounts

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        local, _, domain = address.rpartition("@")
        if domain.lower() != DOMAIN:
            return f"554 5.7.1 <{address}>: this lab delivers to @{DOMAIN} only"
        if local.lower() not in self.accounts:
            return f"550 5.1.1 <{address}>: no such user in the lab"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # RFC 3848: ESMTP + S (TLS) + A (authenticated).
        protocol = "ESMTP" + ("S" if session.ssl else "") + ("A" if session.authenticated else "")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        trace = (
            f"Return-Path: <{envelope.mail_from}>\r\n"
            f"Received: from {session.host_name} ([{peer}])\r\n"
            f"\tby {HOSTNAME} (aiosmtpd, mailwire demo lab) with {protocol};\r\n"
            f"\t{email.utils.formatdate(localtime=True)}\r\n"
        ).encode("utf-8", "surrogateescape")
        # Maildir files hold lines ending in LF alone, as Dovecot writes them
        # too; POP3 and IMAP servers put the CR back (or not) when they send.
        content = (trace + envelope.original_content).replace(b"\r\n", b"\n")
        for address in envelope.rcpt_tos:
            user = address.rpartition("@")[0].lower()
            mailbox.Maildir(create_maildir(self.mail_root, user)).add(content)
        return "250 2.0.0 OK: delivered"


def make_authenticator(accounts: Mapping[str, Account]) -> Callable[..., Any]:
    """aiosmtpd's ``authenticator``: PLAIN and LOGIN give it login + password bytes."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace").lower()
            name = login.removesuffix("@" + DOMAIN)
            account = accounts.get(name)
            if account is not None and account.password.encode("utf-8") == auth_data.password:
                return AuthResult(success=True, auth_data=name)
        return AuthResult(success=False, handled=False)

    return authenticator


def make_smtp_factory(
    handler: MaildirDelivery, accounts: Mapping[str, Account], tls_context: Any
) -> Callable[[], Any]:
    """A protocol factory for ``loop.create_server``: one aiosmtpd SMTP per connection."""
    from aiosmtpd.smtp import SMTP

    authenticator = make_authenticator(accounts)

    def factory() -> Any:
        return SMTP(
            handler,
            hostname=HOSTNAME,
            tls_context=tls_context,
            require_starttls=True,  # RFC 3207 §4: this port insists on TLS first
            auth_required=True,  # RFC 6409 §4.3: submission needs authentication
            authenticator=authenticator,
            enable_SMTPUTF8=True,
            timeout=120,
        )

    return factory
