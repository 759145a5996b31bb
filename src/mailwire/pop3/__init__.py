"""POP3 (RFC 1939) and its extensions: the sans-I/O core and the clients.

Driving the core by hand::

    from mailwire import pop3
    conn = pop3.Connection()
    conn.receive_data(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\\r\\n")
    conn.next_event()                 # Greeting(..., timestamp='<1896.697170952@...>')
    conn.send(pop3.User("mrose"))
    conn.data_to_send()               # b"USER mrose\\r\\n"

The clients::

    with pop3.Client("pop.example", ssl_context=ctx) as p:   # implicit TLS, port 995
        p.login("user", "password")          # best SASL mechanism, else USER/PASS
        count, octets = p.stat()
        for number, uid in p.uidl().items(): ...
        p.retrieve(1, sink=open("1.eml", "wb"))   # streamed, never held
        p.retrieve_to_maildir("Maildir")     # fsync each message, then DELE
    # leaving the block sends QUIT, which commits the deletions

Supported: RFC 1939 (POP3: USER/PASS, APOP, STAT, LIST, RETR, DELE, NOOP,
RSET, TOP, UIDL, QUIT), RFC 2449 (CAPA, response codes, PIPELINING, EXPIRE,
LOGIN-DELAY, IMPLEMENTATION), RFC 2595 (STLS), RFC 5034 (SASL AUTH, which
obsoletes RFC 1734), RFC 3206 (the SYS and AUTH response codes), RFC 6856
(UTF8 and LANG), RFC 8314 (implicit TLS by default).

The clients (``Client``, ``AsyncClient``) are loaded on first use, so
importing the package imports neither ``ssl`` nor ``asyncio``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mailwire._flow import NEED_DATA
from mailwire.pop3._capabilities import Capabilities, Expire, LoginDelay
from mailwire.pop3._state import ANSWERS, SEND_TABLE, State
from mailwire.pop3.commands import (
    Apop,
    Auth,
    AuthCancel,
    AuthResponse,
    Capa,
    Command,
    Dele,
    Lang,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    Utf8,
)
from mailwire.pop3.connection import Connection, Event
from mailwire.pop3.events import (
    ConnectionClosed,
    Continuation,
    DropListing,
    End,
    Err,
    Greeting,
    LanguageListing,
    MessageData,
    Ok,
    ScanListing,
    UniqueIdListing,
)

if TYPE_CHECKING:
    from mailwire.pop3._maildir import Delivered, Maildir
    from mailwire.pop3._replay import Step, replay
    from mailwire.pop3.aio import AsyncClient
    from mailwire.pop3.client import Client

__all__ = [
    "ANSWERS",
    "NEED_DATA",
    "SEND_TABLE",
    "Apop",
    "AsyncClient",
    "Auth",
    "AuthCancel",
    "AuthResponse",
    "Capa",
    "Capabilities",
    "Client",
    "Command",
    "Connection",
    "ConnectionClosed",
    "Continuation",
    "Dele",
    "Delivered",
    "DropListing",
    "End",
    "Err",
    "Event",
    "Expire",
    "Greeting",
    "Lang",
    "LanguageListing",
    "List",
    "LoginDelay",
    "Maildir",
    "MessageData",
    "Noop",
    "Ok",
    "Pass",
    "Quit",
    "Retr",
    "Rset",
    "ScanListing",
    "Stat",
    "State",
    "Step",
    "Stls",
    "Top",
    "Uidl",
    "UniqueIdListing",
    "User",
    "Utf8",
    "replay",
]

_LAZY = {
    "Client": "mailwire.pop3.client",
    "AsyncClient": "mailwire.pop3.aio",
    "Delivered": "mailwire.pop3._maildir",
    "Maildir": "mailwire.pop3._maildir",
    "Step": "mailwire.pop3._replay",
    "replay": "mailwire.pop3._replay",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'mailwire.pop3' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
