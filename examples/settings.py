"""Where the examples find their mail servers: environment variables, with defaults.

Every numbered example imports this module (it sits next to them, so
``python examples/02_send_smtp.py`` finds it). The defaults fit the lab that
``mailwire demo --keep`` leaves running: host 127.0.0.1, the account alice,
SMTP submission with STARTTLS, POP3 over implicit TLS, IMAP with STARTTLS.
What the demo chooses afresh on each run (its ports, its certificate
authority, the passwords) it prints, and you copy into these variables
(examples/README.md shows how):

=========================  ==================================================
MAILWIRE_HOST              the servers' address (127.0.0.1)
MAILWIRE_SMTP_PORT         SMTP submission port (587 for STARTTLS, 465 implicit)
MAILWIRE_SMTP_TLS          starttls (default), implicit or plain
MAILWIRE_POP3_PORT         POP3 port (995 for implicit TLS, 110 for STLS)
MAILWIRE_POP3_TLS          implicit (default), starttls or plain
MAILWIRE_IMAP_PORT         IMAP port (143 for STARTTLS, 993 implicit)
MAILWIRE_IMAP_TLS          starttls (default), implicit or plain
MAILWIRE_CAFILE            a PEM file of the CA to trust instead of the system's
MAILWIRE_USER              the login (alice)
MAILWIRE_PASSWORD          the password, or
MAILWIRE_PASSWORD_FILE     a file whose first line is the password
MAILWIRE_ADDRESS           the account's address (USER@example.test): the
                           examples send mail from it to itself
=========================  ==================================================
"""

from __future__ import annotations

import os
import ssl

from mailwire import TLSMode
from mailwire.tls import create_context, default_port


def _tls(name: str, default: TLSMode) -> TLSMode:
    return TLSMode(os.environ.get(name, default.value).lower())


def _port(name: str, protocol: str, mode: TLSMode) -> int:
    value = os.environ.get(name)
    return int(value) if value else default_port(protocol, mode)


HOST = os.environ.get("MAILWIRE_HOST", "127.0.0.1")
USER = os.environ.get("MAILWIRE_USER", "alice")
ADDRESS = os.environ.get("MAILWIRE_ADDRESS", f"{USER}@example.test")

SMTP_TLS = _tls("MAILWIRE_SMTP_TLS", TLSMode.STARTTLS)
SMTP_PORT = _port("MAILWIRE_SMTP_PORT", "smtp", SMTP_TLS)
POP3_TLS = _tls("MAILWIRE_POP3_TLS", TLSMode.IMPLICIT)
POP3_PORT = _port("MAILWIRE_POP3_PORT", "pop3", POP3_TLS)
IMAP_TLS = _tls("MAILWIRE_IMAP_TLS", TLSMode.STARTTLS)
IMAP_PORT = _port("MAILWIRE_IMAP_PORT", "imap", IMAP_TLS)


def password() -> str:
    """The password, from MAILWIRE_PASSWORD or the file MAILWIRE_PASSWORD_FILE names."""
    if "MAILWIRE_PASSWORD" in os.environ:
        return os.environ["MAILWIRE_PASSWORD"]
    path = os.environ.get("MAILWIRE_PASSWORD_FILE")
    if not path:
        raise SystemExit("set MAILWIRE_PASSWORD or MAILWIRE_PASSWORD_FILE (see examples/README.md)")
    with open(path, encoding="utf-8") as file:
        return file.readline().rstrip("\r\n")


def ssl_context() -> ssl.SSLContext:
    """A context that verifies the server: against MAILWIRE_CAFILE when set."""
    return create_context(cafile=os.environ.get("MAILWIRE_CAFILE") or None)
