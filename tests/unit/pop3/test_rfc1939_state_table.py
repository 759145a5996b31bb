"""Every state x every command against a table written from the RFCs.

The expectation below is transcribed from the "Restrictions" and "Commands
valid in states" paragraphs, independently of ``SEND_TABLE``:

- RFC 1939 §4, §7: USER, APOP and QUIT in AUTHORIZATION; PASS "only ...
  immediately after a successful USER command"; QUIT also after USER.
- RFC 1939 §5, §7: STAT LIST RETR DELE NOOP RSET TOP UIDL QUIT in TRANSACTION.
- RFC 2449 §5: CAPA "available in both the AUTHORIZATION and TRANSACTION
  states".
- RFC 2595 §4: STLS "Only permitted in AUTHORIZATION state".
- RFC 5034 §4: AUTH in AUTHORIZATION; the exchange's responses and "*" only
  while it is under way.
- RFC 6856 §2: UTF8 valid in AUTHORIZATION; §3.1: LANG in AUTHORIZATION and
  TRANSACTION.
- After a greeting of -ERR only QUIT makes sense; while a STLS answer or the
  handshake is awaited nothing may be sent (RFC 2595 §4: "MUST NOT issue
  further commands until a server response is seen and the TLS negotiation
  is complete"); after QUIT, CLOSED and ERROR nothing.
"""

from __future__ import annotations

import pytest

from mailwire import LocalProtocolError, RemoteProtocolError
from mailwire.pop3 import (
    SEND_TABLE,
    Apop,
    Auth,
    AuthCancel,
    AuthResponse,
    Capa,
    Command,
    Connection,
    Dele,
    Lang,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    State,
    Stls,
    Top,
    Uidl,
    User,
    Utf8,
)

COMMANDS: dict[str, Command] = {
    "USER": User("mrose"),
    "PASS": Pass("secret"),
    "APOP": Apop("mrose", "c4c9334bac560ecc979e58001b3e22fb"),
    "AUTH": Auth("PLAIN"),
    "AUTH-RESPONSE": AuthResponse(b"x"),
    "AUTH-CANCEL": AuthCancel(),
    "CAPA": Capa(),
    "STLS": Stls(),
    "UTF8": Utf8(),
    "LANG": Lang("en"),
    "STAT": Stat(),
    "LIST": List(),
    "RETR": Retr(1),
    "DELE": Dele(1),
    "NOOP": Noop(),
    "RSET": Rset(),
    "TOP": Top(1, 0),
    "UIDL": Uidl(),
    "QUIT": Quit(),
}

ALLOWED: dict[State, set[str]] = {
    State.GREETING: set(),
    State.REFUSED: {"QUIT"},
    State.AUTHORIZATION: {"USER", "APOP", "AUTH", "CAPA", "STLS", "UTF8", "LANG", "QUIT"},
    State.STLS: set(),
    State.TLS_HANDSHAKE: set(),
    State.USER: {"PASS", "QUIT"},
    State.AUTH: {"AUTH-RESPONSE", "AUTH-CANCEL"},
    State.TRANSACTION: {
        "STAT",
        "LIST",
        "RETR",
        "DELE",
        "NOOP",
        "RSET",
        "TOP",
        "UIDL",
        "QUIT",
        "CAPA",
        "LANG",
    },
    State.UPDATE: set(),
    State.QUIT: set(),
    State.CLOSED: set(),
    State.ERROR: set(),
}

# Where sending leads (RFC 1939 §6: QUIT from TRANSACTION enters UPDATE).
LEADS_TO = {
    (State.AUTHORIZATION, "USER"): State.USER,
    (State.USER, "PASS"): State.AUTH,
    (State.AUTHORIZATION, "APOP"): State.AUTH,
    (State.AUTHORIZATION, "AUTH"): State.AUTH,
    (State.AUTHORIZATION, "STLS"): State.STLS,
    (State.AUTHORIZATION, "QUIT"): State.QUIT,
    (State.USER, "QUIT"): State.QUIT,
    (State.REFUSED, "QUIT"): State.QUIT,
    (State.TRANSACTION, "QUIT"): State.UPDATE,
}


def test_table_covers_every_command() -> None:
    assert {type(c) for c in COMMANDS.values()} == set(SEND_TABLE)
    assert set(ALLOWED) == set(State)


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_state_and_command(state: State, name: str) -> None:
    conn = Connection()
    conn.state = state  # the table is what is under test, not how we got here
    command = COMMANDS[name]
    if name in ALLOWED[state]:
        conn.send(command)
        assert conn.state is LEADS_TO.get((state, name), state)
        assert conn.pending == (command,)
        assert conn.data_to_send().endswith(b"\r\n")
    else:
        with pytest.raises(LocalProtocolError):
            conn.send(command)
        assert conn.data_to_send() == b""
        assert conn.state is State.ERROR  # a local protocol error poisons the core


def test_rows_cite_their_rfc() -> None:
    for row in SEND_TABLE.values():
        assert row.rfc.startswith("RFC ")


def test_poisoned_core_stays_poisoned() -> None:
    conn = Connection()
    conn.receive_data(b"garbage\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    with pytest.raises(RemoteProtocolError, match="earlier error"):
        conn.next_event()
    with pytest.raises(RemoteProtocolError):
        conn.send(Capa())


def test_mermaid_diagram_from_the_table() -> None:
    from mailwire.pop3._state import mermaid

    diagram = mermaid()
    assert diagram.startswith("stateDiagram-v2")
    assert "TRANSACTION --> UPDATE: Quit" in diagram
    assert "AUTH --> TRANSACTION: +OK to Auth" in diagram
