"""SMTP (RFC 5321) and LMTP (RFC 2033): the sans-I/O core and its pieces.

Driving the core by hand::

    from mailwire import smtp
    conn = smtp.Connection()
    conn.receive_data(b"220 mx.example ESMTP\\r\\n")
    conn.next_event()                     # Reply(code=220, ...)
    conn.send(smtp.Ehlo("client.example"))
    conn.data_to_send()                   # b"EHLO client.example\\r\\n"

Supported: RFC 5321 (SMTP), RFC 2033 (LMTP), RFC 3207 (STARTTLS), RFC 4954
(AUTH), RFC 2920 (PIPELINING), RFC 3030 (CHUNKING, BINARYMIME), RFC 6152
(8BITMIME), RFC 6531 (SMTPUTF8), RFC 1870 (SIZE), RFC 3461 (DSN), RFC 2034 and
RFC 3463 (enhanced status codes), RFC 8689 (REQUIRETLS), RFC 6710 (MT-PRIORITY).

The clients (``Client``, ``AsyncClient``, ``LMTPClient``, ``AsyncLMTPClient``)
are loaded on first use, so importing the package does not import ``ssl`` or
``asyncio``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mailwire._flow import NEED_DATA
from mailwire.smtp._capabilities import Capabilities
from mailwire.smtp._reader import ReplyReader, parse_enhanced
from mailwire.smtp._state import SEND_TABLE, State
from mailwire.smtp.commands import (
    Auth,
    AuthCancel,
    AuthResponse,
    Bdat,
    Command,
    Content,
    Data,
    Ehlo,
    EndOfData,
    Expn,
    Helo,
    Help,
    Lhlo,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Rset,
    StartTLS,
    Vrfy,
)
from mailwire.smtp.connection import Connection
from mailwire.smtp.events import ConnectionClosed, Reply

if TYPE_CHECKING:
    from mailwire.smtp._replay import Step, replay
    from mailwire.smtp._send import SendOptions, SendResult
    from mailwire.smtp.aio import AsyncClient, AsyncLMTPClient
    from mailwire.smtp.client import Client, LMTPClient

__all__ = [
    "NEED_DATA",
    "SEND_TABLE",
    "AsyncClient",
    "AsyncLMTPClient",
    "Auth",
    "AuthCancel",
    "AuthResponse",
    "Bdat",
    "Capabilities",
    "Client",
    "Command",
    "Connection",
    "ConnectionClosed",
    "Content",
    "Data",
    "Ehlo",
    "EndOfData",
    "Expn",
    "Helo",
    "Help",
    "LMTPClient",
    "Lhlo",
    "MailFrom",
    "Noop",
    "Quit",
    "RcptTo",
    "Reply",
    "ReplyReader",
    "Rset",
    "SendOptions",
    "SendResult",
    "StartTLS",
    "State",
    "Step",
    "Vrfy",
    "parse_enhanced",
    "replay",
]

_LAZY = {
    "Client": "mailwire.smtp.client",
    "LMTPClient": "mailwire.smtp.client",
    "AsyncClient": "mailwire.smtp.aio",
    "AsyncLMTPClient": "mailwire.smtp.aio",
    "replay": "mailwire.smtp._replay",
    "Step": "mailwire.smtp._replay",
    "SendOptions": "mailwire.smtp._send",
    "SendResult": "mailwire.smtp._send",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'mailwire.smtp' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
