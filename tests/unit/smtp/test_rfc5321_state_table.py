"""Every state x every command, checked against the RFCs rather than against SEND_TABLE.

The table below is written from the RFC texts, independently of
``mailwire.smtp._state``. Each cell says what the core MUST do:

- ``ALLOW``: the RFC makes the command legal there; ``send`` must queue it and
  move to the state in ``NEXT``.
- ``REFUSE``: the RFC makes it illegal (or the bytes would be misread, e.g.
  as message content); ``send`` must raise ``LocalProtocolError``, queue
  nothing, and leave the core in ERROR (ARCHITECTURE.md, core contract).
- ``EITHER``: the RFCs leave it to the client; whichever the core does, it
  must do it cleanly (one of the two behaviours above).

Known bugs in single cells have their own named tests in the RFC files
(QUIT after STARTTLS: test_rfc3207_starttls.py; QUIT before the greeting:
below) so that each bug is reported once.
"""

from __future__ import annotations

import enum

import pytest

from mailwire import LocalProtocolError, ProtocolError, RemoteProtocolError
from mailwire.smtp import (
    SEND_TABLE,
    Auth,
    AuthCancel,
    AuthResponse,
    Bdat,
    Command,
    Connection,
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
    State,
    Vrfy,
)
from mailwire.smtp import commands as commands_module

from .helpers import RECIPES, drain


class Rule(enum.Enum):
    ALLOW = "allow"
    REFUSE = "refuse"
    EITHER = "either"


# One representative of each command (arguments valid, so only the state matters).
COMMANDS: dict[str, Command] = {
    "EHLO": Ehlo("client.example"),
    "HELO": Helo("client.example"),
    "LHLO": Lhlo("client.example"),
    "STARTTLS": StartTLS(),
    "AUTH": Auth("PLAIN", b"\0user\0pass"),
    "AUTH-RESPONSE": AuthResponse(b"user"),
    "AUTH-CANCEL": AuthCancel(),
    "MAIL": MailFrom("sender@example.org"),
    "RCPT": RcptTo("rcpt2@example.org"),
    "DATA": Data(),
    "CONTENT": Content(b"line\r\n"),
    "END-OF-DATA": EndOfData(),
    "BDAT": Bdat(b"chunk"),
    "BDAT-LAST": Bdat(b"end", last=True),
    "RSET": Rset(),
    "NOOP": Noop(),
    "VRFY": Vrfy("postmaster"),
    "EXPN": Expn("staff"),
    "HELP": Help(),
    "QUIT": Quit(),
}

# RFC 5321 §4.1.4: "The NOOP, HELP, EXPN, VRFY, and RSET commands can be used
# at any time during a session, or without previously initializing a session."
# ("Any time" stops where the bytes would be read as something else: inside
# DATA content, an AUTH exchange, or after QUIT / STARTTLS.)
ANYTIME = {"RSET", "NOOP", "VRFY", "EXPN", "HELP"}


def hellos(lmtp: bool) -> set[str]:
    # RFC 2033 §4.1: LMTP uses LHLO; EHLO and HELO are not LMTP commands.
    return {"LHLO"} if lmtp else {"EHLO", "HELO"}


def must_allow(state: State, lmtp: bool) -> set[str]:
    return {
        # §3.1: after a 554 greeting the server "MUST still wait for ... QUIT".
        State.REFUSED: {"QUIT"},
        # §4.1.4: hello first; the any-time commands; QUIT ends a session at any time.
        State.INIT: hellos(lmtp) | ANYTIME | {"QUIT"},
        State.READY: hellos(lmtp) | ANYTIME | {"QUIT", "STARTTLS", "AUTH", "MAIL"},
        # RFC 4954 §4 (RFC 2554 §4): after a 334, a response line or "*".
        State.AUTH: {"AUTH-RESPONSE", "AUTH-CANCEL"},
        # §4.1.4: a transaction is MAIL, RCPT..., DATA; "aborted by the RSET, a
        # new EHLO, or the QUIT command".
        State.MAIL: {"RCPT", "QUIT"} | ANYTIME,
        State.RCPT: {"RCPT", "DATA", "BDAT", "BDAT-LAST", "QUIT"} | ANYTIME,
        State.CONTENT: {"CONTENT", "END-OF-DATA"},
        # RFC 3030 §2: more chunks, LAST, or RSET ("clears all segments sent").
        State.BDAT: {"BDAT", "BDAT-LAST", "RSET", "QUIT"},
        # RFC 2920 §3.1: content may be followed in the same group by a
        # RSET/MAIL sequence (RFC 2920 §4's first example pipelines QUIT).
        State.END_OF_DATA: {"RSET", "QUIT"},
        # RFC 3030 §2: after a refused chunk "a RSET command MUST be issued".
        State.FAILED: {"RSET"},
    }.get(state, set())


def must_refuse(state: State, name: str, lmtp: bool) -> bool:
    if name in {"EHLO", "HELO", "LHLO"} and name not in hellos(lmtp):
        return True  # RFC 2033 §4.1 (and LHLO is not SMTP)
    if state in {State.QUIT, State.CLOSED, State.ERROR, State.TLS_HANDSHAKE, State.DATA}:
        # After QUIT nothing (§4.1.1.10); after the STARTTLS go-ahead the client
        # "MUST start the TLS negotiation before giving any other SMTP commands"
        # (RFC 3207 §4); after DATA and before 354 any line would become
        # content if the 354 came (§4.1.1.4; RFC 2920 §3.1: DATA ends a group).
        return True
    if state is State.GREETING:
        return name != "QUIT"  # §3.1: wait for the 220; QUIT: see below
    if state is State.FAILED:
        return name not in {"RSET", "QUIT"}  # RFC 3030 §2: no more chunks; RSET first
    if state is State.REFUSED:
        return name != "QUIT"
    if state is State.STARTTLS:
        return name != "QUIT"  # RFC 3207 §4; QUIT: test_rfc3207_starttls.py
    if state is State.AUTH:
        return name not in {"AUTH-RESPONSE", "AUTH-CANCEL"}
    if state is State.CONTENT:
        return name not in {"CONTENT", "END-OF-DATA"}
    if name in {"AUTH-RESPONSE", "AUTH-CANCEL"}:
        return True  # only inside an AUTH exchange
    if name in {"CONTENT", "END-OF-DATA"}:
        return True  # only after 354
    if name == "MAIL":
        # §4.1.4: MAIL begins a transaction: not before hello, not inside one.
        return state in {State.INIT, State.MAIL, State.RCPT, State.BDAT}
    if name == "RCPT":
        return state not in {State.MAIL, State.RCPT}  # §4.1.1.3: after MAIL
    if name == "DATA":
        # §4.1.1.4; RFC 3030 §2: "DATA and BDAT cannot be used in the same transaction".
        return state not in {State.MAIL, State.RCPT}
    if name in {"BDAT", "BDAT-LAST"}:
        # RFC 3030 §2: within a transaction; "Any BDAT command sent after the
        # BDAT LAST is illegal".
        return state not in {State.MAIL, State.RCPT, State.BDAT}
    if name == "AUTH":
        # RFC 4954 §4: "not permitted during a mail transaction"; and an
        # extension needs the EHLO that offers it (§2.2.1).
        return state is not State.READY
    if name == "STARTTLS":
        return state is State.INIT  # the EHLO that offers it comes first (§2.2.1)
    return False


def rule(state: State, name: str, lmtp: bool) -> Rule:
    if must_refuse(state, name, lmtp):
        return Rule.REFUSE
    if name in must_allow(state, lmtp):
        return Rule.ALLOW
    return Rule.EITHER


def next_state(before: State, name: str, conn: Connection) -> State:
    """Where sending ``name`` leads (waiting for its reply where one is due)."""
    return {
        "EHLO": State.INIT,  # READY only when the 250 arrives
        "HELO": State.INIT,
        "LHLO": State.INIT,
        "STARTTLS": State.STARTTLS,
        "AUTH": State.AUTH,
        "AUTH-RESPONSE": State.AUTH,
        "AUTH-CANCEL": State.AUTH,
        "MAIL": State.MAIL,
        "RCPT": State.RCPT,
        "DATA": State.DATA,
        "CONTENT": State.CONTENT,
        "END-OF-DATA": State.END_OF_DATA,
        "BDAT": State.BDAT,
        "BDAT-LAST": State.END_OF_DATA,
        # §4.1.1.5: RSET ends any transaction; before hello there is no session.
        "RSET": State.READY if conn.capabilities is not None else State.INIT,
        "QUIT": State.QUIT,
    }.get(name, before)


#: Cells where the core breaks the contract (each listed in the report).
KNOWN_BUGS: dict[tuple[bool, State, str], str] = {}


def _cell(state: State, name: str, lmtp: bool) -> object:
    bug = KNOWN_BUGS.get((lmtp, state, name))
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(
        state, name, lmtp, id=f"{'LMTP' if lmtp else 'SMTP'}-{state.name}-{name}", marks=marks
    )


CELLS = [_cell(state, name, lmtp) for lmtp in (False, True) for state in State for name in COMMANDS]


@pytest.mark.parametrize(("state", "name", "lmtp"), CELLS)
def test_cell(state: State, name: str, lmtp: bool) -> None:
    conn = RECIPES[state](lmtp)
    pending = conn.pending
    expected = rule(state, name, lmtp)
    command = COMMANDS[name]
    error: ProtocolError | None = None
    try:
        conn.send(command)
    except ProtocolError as exc:
        error = exc
    if error is not None:
        assert expected is not Rule.ALLOW, f"{name} must be allowed in {state.name}: {error}"
        if state is not State.ERROR:
            assert isinstance(error, LocalProtocolError)
        assert conn.data_to_send() == b""
        assert conn.pending == pending
        assert conn.state is State.ERROR
        with pytest.raises(ProtocolError):  # poisoned for good
            conn.send(Noop())
        return
    assert expected is not Rule.REFUSE, f"{name} must be refused in {state.name}"
    assert conn.state is next_state(state, name, conn)
    assert conn.data_to_send()
    replies_due = len(conn.pending) - len(pending)
    assert replies_due == (0 if name == "CONTENT" else 1)


def test_the_rfc_table_is_not_vacuous() -> None:
    """Sanity: the table above forbids and requires a good share of the cells."""
    rules = [rule(s, n, lmtp) for s, n, lmtp in (p.values for p in CELLS)]
    assert rules.count(Rule.ALLOW) > 80
    assert rules.count(Rule.REFUSE) > 400


# ------------------------------------------------------- the table as data


def test_every_command_has_a_row() -> None:
    """ARCHITECTURE: legal transitions are data, one row per command."""
    classes = {
        getattr(commands_module, name)
        for name in commands_module.__all__
        if getattr(commands_module, name) is not commands_module.Command
    }
    assert classes == set(SEND_TABLE)


@pytest.mark.parametrize("command", list(SEND_TABLE), ids=lambda c: c.__name__)
def test_every_row_cites_its_rfc(command: type[Command]) -> None:
    row = SEND_TABLE[command]
    assert row.rfc.startswith("RFC ")
    assert "§" in row.rfc
    assert row.allowed <= set(State)
    # Nothing may ever be sent once the session is over or broken.
    assert not row.allowed & {State.CLOSED, State.ERROR, State.QUIT, State.TLS_HANDSHAKE}
    assert row.rfc in repr(row)


def test_every_state_is_reachable() -> None:
    """Each State member is reached by a recipe (helpers.RECIPES) in SMTP and LMTP."""
    assert set(RECIPES) == set(State)
    for lmtp in (False, True):
        for state, recipe in RECIPES.items():
            assert recipe(lmtp).state is state


# ------------------------------------------------- replies correct the state


def test_refused_mail_returns_to_ready() -> None:
    conn = RECIPES[State.READY]()
    conn.send(MailFrom("a@example.org"))
    conn.receive_data(b"550 5.7.1 no\r\n")
    drain(conn)
    assert conn.state is State.READY


def test_a_reply_corrects_the_state_only_if_no_later_command_moved_it() -> None:
    """Theory of operation (_state.py): a refused MAIL does not undo a later DATA."""
    conn = RECIPES[State.READY]()
    for command in (MailFrom("a@example.org"), RcptTo("b@example.org"), Data()):
        conn.send(command)
    conn.receive_data(b"550 5.1.8 bad sender\r\n")
    drain(conn)
    assert conn.state is State.DATA  # still waiting for DATA's reply
    conn.receive_data(b"554 5.5.1 no recipients\r\n503 5.5.1 no transaction\r\n")
    drain(conn)
    assert conn.state is State.READY


def test_quit_before_the_greeting_does_not_swallow_the_greeting() -> None:
    """RFC 5321 §3.1 / §4.3.1: the first reply is the greeting, whatever was sent.

    Either QUIT is refused before the greeting (the client waits for 220), or
    the greeting is still recognised and the 221 answers the QUIT.
    """
    conn = Connection()
    try:
        conn.send(Quit())
    except LocalProtocolError:
        return  # refusing it is fine
    conn.receive_data(b"220 mx.example ESMTP\r\n221 2.0.0 bye\r\n")
    greeting, bye = drain(conn)
    assert greeting.command is None
    assert isinstance(bye.command, Quit)


def test_unsolicited_reply_in_every_waiting_state() -> None:
    """A second reply when one command is pending is a protocol error in any state."""
    for state in (State.STARTTLS, State.DATA, State.END_OF_DATA, State.QUIT):
        conn = RECIPES[state]()
        conn.receive_data(b"250 one\r\n250 two\r\n")
        with pytest.raises(RemoteProtocolError):
            drain(conn)
