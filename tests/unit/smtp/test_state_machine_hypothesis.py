"""Hypothesis over the whole core (STYLE.md: h2's test_state_machines.py).

1. Random sequences of commands, server bytes, end of stream and TLS completion,
   from a fresh connection: only ``LocalProtocolError``, ``RemoteProtocolError``
   (``LimitExceeded`` included), ``SecurityError``, ``ConnectionLost`` and
   ``ValueError`` may escape; after a protocol error the core stays in ERROR
   (CLOSED for a lost connection) and refuses everything, queueing nothing.
2. Every state x any server bytes in any split: the same rule.
3. A generated well-formed session, its server bytes split anywhere: the same
   events, paired with the same commands, as the model predicts.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailwire import (
    NEED_DATA,
    ConnectionLost,
    Limits,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SecurityError,
)
from mailwire.smtp import (
    SEND_TABLE,
    Auth,
    AuthCancel,
    AuthResponse,
    Bdat,
    Command,
    Connection,
    ConnectionClosed,
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
    Reply,
    Rset,
    StartTLS,
    State,
    Vrfy,
)

from .helpers import RECIPES, cut

ALLOWED = (LocalProtocolError, RemoteProtocolError, SecurityError, ConnectionLost, ValueError)
FATAL = (ProtocolError, SecurityError, ConnectionLost)
# Small limits so that random data reaches LineTooLong and TooManyResponses too.
LIMITS = Limits(max_reply_line_length=80, max_reply_lines=6, max_reply_bytes=300)

COMMANDS: list[Command] = [
    Ehlo("c.example"),
    Helo("c.example"),
    Lhlo("c.example"),
    StartTLS(),
    Auth("PLAIN", b"\0u\0p"),
    Auth("LOGIN"),
    Auth("EXTERNAL", b""),
    AuthResponse(b"secret"),
    AuthResponse(b""),
    AuthCancel(),
    MailFrom("s@example.org"),
    MailFrom("s@example.org", {"SMTPUTF8": None, "SIZE": "10"}),
    MailFrom(""),
    RcptTo("a@example.org"),
    RcptTo("b@example.org", {"NOTIFY": "NEVER"}),
    RcptTo("\u7528\u6237@example.org"),  # UTF-8: ValueError unless SMTPUTF8 is declared
    Data(),
    Content(b"Subject: x\r\n\r\n"),
    Content(b".dot\r\n"),
    Content(b"half a line\r"),
    Content(b"\nrest\r\n"),
    Content(b"bare\nLF"),  # ValueError
    Content(b"x" * 1000),  # ValueError: line too long
    EndOfData(),
    Bdat(b"chunk"),
    Bdat(b"last", last=True),
    Bdat(b"", last=True),
    Rset(),
    Noop(),
    Vrfy("postmaster"),
    Expn("staff"),
    Help(),
    Help("MAIL"),
    Quit(),
]

REPLIES = [
    b"220 mx ready\r\n",
    b"220-mx\r\n",
    b"250 ok\r\n",
    b"250-mx\r\n",
    b"250-PIPELINING\r\n",
    b"250 2.1.5 ok\r\n",
    b"250 ok\n",
    b"354 go\r\n",
    b"334 \r\n",
    b"334 VXNlcm5hbWU6\r\n",
    b"235 2.7.0 ok\r\n",
    b"221 bye\r\n",
    b"421 4.3.2 bye\r\n",
    b"452 4.2.2 full\r\n",
    b"501 cancelled\r\n",
    b"503 bad sequence\r\n",
    b"550 5.1.1 no\r\n",
    b"554 no\r\n",
    b"\r\n",
    b"hello\r\n",
    b"250",
    b"x" * 90,
]

SERVER_BYTES = st.one_of(
    st.sampled_from(REPLIES),
    st.lists(st.sampled_from(REPLIES), min_size=1, max_size=4).map(b"".join),
    st.binary(min_size=1, max_size=24),
)

ACTIONS = st.one_of(
    st.tuples(st.just("send"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("send"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("send"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("recv"), SERVER_BYTES),
    st.tuples(st.just("recv"), SERVER_BYTES),
    st.tuples(st.just("events"), st.none()),
    st.tuples(st.just("events"), st.none()),
    st.tuples(st.just("eof"), st.none()),
    st.tuples(st.just("tls"), st.none()),
)


@dataclasses.dataclass
class Checker:
    """Performs actions on one connection and checks the invariants after each."""

    conn: Connection
    poisoned: bool = False
    eof: bool = False

    def act(self, kind: str, arg: object) -> None:
        conn = self.conn
        state, pending = conn.state, conn.pending
        error: BaseException | None = None
        try:
            if kind == "send":
                assert isinstance(arg, Command)
                conn.send(arg)
            elif kind == "recv":
                assert isinstance(arg, bytes)
                conn.receive_data(arg)
            elif kind == "events":
                for _ in range(50):
                    event = conn.next_event()
                    if event is NEED_DATA:
                        break
                    assert isinstance(event, Reply | ConnectionClosed)
                    if isinstance(event, ConnectionClosed):
                        assert conn.state is State.CLOSED
                        break
            elif kind == "eof":
                conn.receive_data(b"")
                self.eof = True
            elif kind == "tls" and conn.state is State.TLS_HANDSHAKE:
                # Only when a go-ahead was read: out of turn it is a known bug
                # (test_rfc3207_starttls.py::test_tls_established_out_of_turn...).
                conn.tls_established()
                assert conn.capabilities is None
                assert conn.state is State.INIT
        except ALLOWED as exc:
            error = exc
        written = conn.data_to_send()
        self.check(kind, arg, state, pending, error, written)

    def check(
        self,
        kind: str,
        arg: object,
        state: State,
        pending: tuple[Command, ...],
        error: BaseException | None,
        written: bytes,
    ) -> None:
        conn = self.conn
        assert isinstance(conn.state, State)
        assert conn.receive_size() >= 1
        if self.poisoned:
            # Refuses everything, queues nothing, stays where it is.
            if kind in {"send", "events"}:
                assert isinstance(error, FATAL), (kind, arg, error)
            assert written == b""
            assert conn.state in {State.ERROR, State.CLOSED}
            return
        if error is None:
            if kind == "send":
                assert state in SEND_TABLE[type(arg)].allowed, (state, arg)
                assert written or arg == Content(b"")
            return
        if isinstance(error, FATAL):
            self.poisoned = True
            assert conn.error is not None
            if isinstance(error, ConnectionLost):
                assert conn.state is State.CLOSED
            else:
                assert conn.state is State.ERROR
            if kind == "send" and not (conn.lmtp and isinstance(arg, EndOfData | Bdat)):
                # A refused command queues nothing (the LMTP end-of-data case is a
                # known bug: test_rfc2033_lmtp.py and the state table).
                assert written == b"", (arg, written)
            return
        # A plain ValueError: refused caller input, or data fed after the end.
        assert conn.error is None
        assert conn.state is state
        assert conn.pending == pending
        if kind == "send":
            # Nothing of the refused command (Content may have written earlier pieces).
            assert written == b""
        else:
            assert kind == "recv"
            assert self.eof


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(lmtp=st.booleans(), actions=st.lists(ACTIONS, max_size=40))
def test_random_sessions_only_raise_protocol_errors(
    lmtp: bool, actions: list[tuple[str, object]]
) -> None:
    """From a fresh connection (small limits, so the bounds are hit too)."""
    checker = Checker(Connection(lmtp=lmtp, limits=LIMITS))
    for kind, arg in actions:
        checker.act(kind, arg)


@pytest.mark.parametrize("lmtp", [False, True], ids=["SMTP", "LMTP"])
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(ACTIONS, min_size=1, max_size=20))
def test_random_actions_from_every_state(
    state: State, lmtp: bool, actions: list[tuple[str, object]]
) -> None:
    """The same rule from each of the 16 states (random walks rarely reach CONTENT)."""
    conn = RECIPES[state](lmtp)
    checker = Checker(conn, poisoned=conn.error is not None)
    for kind, arg in actions:
        checker.act(kind, arg)


@pytest.mark.parametrize("lmtp", [False, True], ids=["SMTP", "LMTP"])
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
@settings(max_examples=40, deadline=None)
@given(data=st.lists(SERVER_BYTES, min_size=1, max_size=5), cuts=st.lists(st.integers(0, 120)))
def test_every_state_any_server_bytes(
    state: State, lmtp: bool, data: list[bytes], cuts: list[int]
) -> None:
    """Every state x input: events or a protocol error, never anything else; and the
    same outcome for any split of the bytes."""
    wire = b"".join(data)
    outcomes = []
    for pieces in ([wire], cut(wire, cuts)):
        conn = RECIPES[state](lmtp)
        checker = Checker(conn, poisoned=conn.error is not None)
        events: list[object] = []
        failure: type[BaseException] | None = None
        for piece in pieces:
            if not piece:
                continue  # b"" would mean end of stream
            checker.act("recv", piece)
            while True:
                try:
                    event = conn.next_event()
                except ALLOWED as exc:
                    failure = type(exc)
                    checker.poisoned = True
                    break
                if event is NEED_DATA:
                    break
                events.append(summary(event))
                if isinstance(event, ConnectionClosed):
                    break
            if failure:
                break
        outcomes.append((events, failure, conn.state))
    if any(failure is SecurityError for _, failure, _ in outcomes):
        # S1 is about timing: bytes that arrive in the same read as the
        # STARTTLS go-ahead are refused at once, before any handshake, while
        # the same bytes arriving later are a reply nothing was waiting for.
        # Either way the session ends in ERROR, having accepted nothing more.
        assert all(state_after is State.ERROR for _, _, state_after in outcomes)
        return
    assert outcomes[0] == outcomes[1]


def summary(event: object) -> tuple[object, ...]:
    if isinstance(event, Reply):
        return (event.code, tuple(event.lines), event.command, event.recipient)
    return ("closed",)


# ------------------------------------------------ well-formed sessions, split


@st.composite
def sessions(draw: st.DrawFn) -> tuple[bool, list[tuple[list[Command], bytes, list[int]]]]:
    """A session the model can predict: turns of (commands, server bytes, reply codes)."""
    lmtp = draw(st.booleans())
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))

    def reply(code: int, *lines: str) -> bytes:
        texts = lines or ("ok",)
        return b"".join(
            b"%d%s%s%s" % (code, b" " if i == len(texts) - 1 else b"-", t.encode(), eol)
            for i, t in enumerate(texts)
        )

    turns: list[tuple[list[Command], bytes, list[int]]] = [
        ([], reply(220, *draw(st.lists(st.just("mx"), min_size=1, max_size=3))), [220])
    ]
    hello = Lhlo("c.example") if lmtp else Ehlo("c.example")
    turns.append(([hello], reply(250, "mx", "PIPELINING", "8BITMIME", "SIZE 100"), [250]))
    for n in range(draw(st.integers(0, 3))):
        mail_ok = draw(st.booleans()) or n == 0
        rcpts = [f"r{n}{i}@example.org" for i in range(draw(st.integers(1, 4)))]
        codes = [draw(st.sampled_from([250, 251, 450, 550, 553])) for _ in rcpts]
        commands: list[Command] = [MailFrom("s@example.org"), *map(RcptTo, rcpts), Data()]
        accepted = [r for r, c in zip(rcpts, codes, strict=True) if mail_ok and c < 300]
        replies = reply(250 if mail_ok else 550, "2.1.0 sender")
        replies += b"".join(
            reply(c if mail_ok else 503, f"for {r}") for r, c in zip(rcpts, codes, strict=True)
        )
        if accepted:
            data_code = 354
        else:
            data_code = 554 if mail_ok else 503
        replies += reply(data_code, "go" if data_code == 354 else "no")
        expected = [250 if mail_ok else 550, *(c if mail_ok else 503 for c in codes), data_code]
        turns.append((commands, replies, expected))
        if data_code == 354:
            finals = [draw(st.sampled_from([250, 452, 554])) for _ in (accepted if lmtp else [0])]
            turns.append(
                (
                    [Content(b"Subject: %d\r\n\r\n.body\r\n" % n), EndOfData()],
                    b"".join(reply(c, "2.0.0 done") for c in finals),
                    finals,
                )
            )
        else:
            turns.append(([Rset()], reply(250, "reset"), [250]))
    turns.append(([Quit()], reply(221, "bye"), [221]))
    return lmtp, turns


def run_session(
    lmtp: bool, turns: list[tuple[list[Command], bytes, list[int]]], cuts: list[list[int]]
) -> list[list[tuple[object, ...]]]:
    conn = Connection(lmtp=lmtp)
    out = []
    for (commands, data, codes), turn_cuts in zip(turns, cuts, strict=True):
        for command in commands:
            conn.send(command)
        conn.data_to_send()
        events = []
        for piece in cut(data, turn_cuts):
            if piece:
                conn.receive_data(piece)
            while (event := conn.next_event()) is not NEED_DATA:
                assert isinstance(event, Reply)
                events.append(summary(event))
        assert [e[0] for e in events] == codes
        assert conn.pending == ()
        out.append(events)
    assert conn.state is State.CLOSED
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()
    return out


@settings(max_examples=200, deadline=None)
@given(session=sessions(), data=st.data())
def test_any_split_gives_the_same_events(
    session: tuple[bool, list[tuple[list[Command], bytes, list[int]]]], data: st.DataObject
) -> None:
    lmtp, turns = session
    whole = run_session(lmtp, turns, [[] for _ in turns])
    cuts = [data.draw(st.lists(st.integers(0, len(t[1])), max_size=6)) for t in turns]
    assert run_session(lmtp, turns, cuts) == whole
    bytewise = [list(range(1, len(t[1]))) for t in turns]
    assert run_session(lmtp, turns, bytewise) == whole
    # Each reply is paired with the command the model sent, recipients tagged in order.
    for (commands, _, _), events in zip(turns, whole, strict=True):
        rcpt_events = [e for e in events if isinstance(e[2], RcptTo)]
        assert [e[3] for e in rcpt_events] == [
            c.recipient for c in commands if isinstance(c, RcptTo)
        ]
