"""The test lab: real mail servers on loopback for the interop tests.

- :mod:`tests.lab.certs`: a trustme CA per session and server certificates
  (good, untrusted, wrong host, expired);
- :mod:`tests.lab.smtpd`: aiosmtpd in a thread, recording every command line
  and message (cheap: per test or per module);
- :mod:`tests.lab.dovecot`: Dovecot (IMAP, POP3, LMTP, SASL), per session;
- :mod:`tests.lab.courier`: Courier-IMAP, pre-authenticated, for UTF8=ACCEPT;
- :mod:`tests.lab.postfix`: a second Postfix instance delivering only to
  that Dovecot, per session (needs root);
- :mod:`tests.lab.rules`: skip when a server is missing, fail under CI=true.

The fixtures are in ``tests/conftest.py``. Install the servers with
``sudo bash .ci/install-servers.sh``.
"""

from tests.lab.accounts import ALICE, BOB, DOMAIN, USERS, LabUser
from tests.lab.certs import LabCertificates, ServerCert
from tests.lab.courier import CourierLab
from tests.lab.dovecot import DovecotLab
from tests.lab.postfix import PostfixLab
from tests.lab.rules import LabStartError, LabUnavailable, in_ci, start_lab
from tests.lab.smtpd import RecordedMessage, RecordedSession, SmtpLab, SmtpLabOptions

__all__ = [
    "ALICE",
    "BOB",
    "DOMAIN",
    "USERS",
    "CourierLab",
    "DovecotLab",
    "LabCertificates",
    "LabStartError",
    "LabUnavailable",
    "LabUser",
    "PostfixLab",
    "RecordedMessage",
    "RecordedSession",
    "ServerCert",
    "SmtpLab",
    "SmtpLabOptions",
    "in_ci",
    "start_lab",
]
