"""mailwire: SMTP, POP3 and IMAP clients written from scratch over sockets.

Importing :mod:`mailwire` is cheap: the protocol packages, :mod:`ssl` and
:mod:`asyncio` are loaded only when first used (``mailwire.smtp`` on first
attribute access, ``ssl`` when a connection needs TLS).

The public names::

    from mailwire import smtp, pop3, imap, mime, TLSMode, Transcript, Limits
"""

from __future__ import annotations

import importlib

from mailwire.errors import (
    AuthenticationError,
    CommandError,
    ConnectionLost,
    IMAPStatusError,
    LimitExceeded,
    LineTooLong,
    LiteralTooLarge,
    LocalProtocolError,
    MailwireError,
    MIMEError,
    NestingTooDeep,
    NotSupportedError,
    OutcomeUnknown,
    POP3ErrorReply,
    ProtocolError,
    RecipientRefused,
    RemoteProtocolError,
    SecurityError,
    SenderRefused,
    SMTPReplyError,
    Timeout,
    TooManyParts,
    TooManyResponses,
)

# Not "from typing import TYPE_CHECKING": typing alone costs more than the
# whole package root should (performance.md W6); mypy treats this name the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from mailwire._flow import NEED_DATA
    from mailwire.limits import Limits
    from mailwire.tls import TLSMode
    from mailwire.transcript import Transcript

__version__ = "0.1.0.dev0"

__all__ = [
    "NEED_DATA",
    "AuthenticationError",
    "CommandError",
    "ConnectionLost",
    "IMAPStatusError",
    "LimitExceeded",
    "Limits",
    "LineTooLong",
    "LiteralTooLarge",
    "LocalProtocolError",
    "MIMEError",
    "MailwireError",
    "NestingTooDeep",
    "NotSupportedError",
    "OutcomeUnknown",
    "POP3ErrorReply",
    "ProtocolError",
    "RecipientRefused",
    "RemoteProtocolError",
    "SMTPReplyError",
    "SecurityError",
    "SenderRefused",
    "TLSMode",
    "Timeout",
    "TooManyParts",
    "TooManyResponses",
    "Transcript",
    "__version__",
]

# name -> module that defines it; loaded on first access (PEP 562).
_LAZY_ATTRS = {
    "NEED_DATA": "mailwire._flow",
    "Limits": "mailwire.limits",
    "TLSMode": "mailwire.tls",
    "Transcript": "mailwire.transcript",
}
_LAZY_MODULES = {"smtp", "pop3", "imap", "mime", "sasl", "tls", "transcript"}


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRS:
        value = getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f"mailwire.{name}")
    else:
        raise AttributeError(f"module 'mailwire' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_ATTRS) | _LAZY_MODULES)
