"""The SMTP client's state machine, kept as data (RFC 5321 §4.1.4, §4.3).

Theory of operation. The state follows the commands *sent*, not only the
replies received, because with PIPELINING (RFC 2920) the client writes MAIL,
every RCPT and DATA before any reply arrives. Each command row says in which
states it may be sent and which state sending it leads to. Replies then
correct the state -- a refused MAIL returns to READY, a 354 to DATA opens
CONTENT -- but only while no later command has moved the state on: each
pending command remembers the state it left behind, and its reply applies
only if the state is still that one.

States:

GREETING      connected, waiting for the 220 greeting (§3.1)
REFUSED       the greeting was 554 or similar: only QUIT is allowed (§3.1)
INIT          greeted (or just after TLS): EHLO/HELO/LHLO must come first (§4.1.4)
READY         hello done, no mail transaction open
STARTTLS      STARTTLS sent, waiting for 220 (RFC 3207 §4)
TLS_HANDSHAKE 220 received; the driver runs the handshake, then EHLO again (RFC 3207 §4.2)
AUTH          an AUTH exchange is under way (RFC 4954 §4)
MAIL          MAIL FROM sent (§4.1.1.2)
RCPT          at least one RCPT TO sent (§4.1.1.3)
DATA          DATA sent, waiting for 354 (§4.1.1.4)
CONTENT       354 received: message content is being sent
BDAT          BDAT chunks sent, the LAST one not yet (RFC 3030 §2)
END_OF_DATA   "." or BDAT LAST sent, waiting for the final reply(ies)
FAILED        a BDAT chunk was refused: RSET must come next (RFC 3030 §2)
QUIT          QUIT sent (§4.1.1.10)
CLOSED        the session is over (221, 421, or the server closed)
ERROR         a protocol error happened; the connection is unusable
"""

from __future__ import annotations

import enum

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

__all__ = ["SEND_TABLE", "State", "Transition"]


class State(enum.Enum):
    """The client's view of the SMTP session (see the module docstring)."""

    GREETING = "GREETING"
    REFUSED = "REFUSED"
    INIT = "INIT"
    READY = "READY"
    STARTTLS = "STARTTLS"
    TLS_HANDSHAKE = "TLS_HANDSHAKE"
    AUTH = "AUTH"
    MAIL = "MAIL"
    RCPT = "RCPT"
    DATA = "DATA"
    CONTENT = "CONTENT"
    BDAT = "BDAT"
    END_OF_DATA = "END_OF_DATA"
    FAILED = "FAILED"
    QUIT = "QUIT"
    CLOSED = "CLOSED"
    ERROR = "ERROR"


S = State
#: States in which a transaction-independent command (NOOP, VRFY ...) may go.
_IDLE = frozenset({S.INIT, S.READY, S.MAIL, S.RCPT})
_HELLO_DONE = frozenset({S.READY, S.MAIL, S.RCPT, S.BDAT, S.END_OF_DATA})


class Transition:
    """One row: where a command may be sent, and the state it leads to.

    Attributes:
        allowed: the states in which the command may be sent.
        to: the state after sending it (``None``: unchanged).
        rfc: where the rule comes from.
    """

    __slots__ = ("allowed", "rfc", "to")

    def __init__(self, allowed: frozenset[State], to: State | None, rfc: str) -> None:
        self.allowed = allowed
        self.to = to
        self.rfc = rfc

    def __repr__(self) -> str:
        names = ",".join(sorted(s.name for s in self.allowed))
        return f"Transition({{{names}}} -> {self.to.name if self.to else '='}, {self.rfc})"


SEND_TABLE: dict[type[Command], Transition] = {
    Ehlo: Transition(frozenset({S.INIT, S.READY}), S.INIT, "RFC 5321 §4.1.1.1"),
    Helo: Transition(frozenset({S.INIT, S.READY}), S.INIT, "RFC 5321 §4.1.1.1"),
    Lhlo: Transition(frozenset({S.INIT, S.READY}), S.INIT, "RFC 2033 §4.1"),
    StartTLS: Transition(frozenset({S.READY}), S.STARTTLS, "RFC 3207 §4"),
    Auth: Transition(frozenset({S.READY}), S.AUTH, "RFC 4954 §4"),
    AuthResponse: Transition(frozenset({S.AUTH}), None, "RFC 4954 §4"),
    AuthCancel: Transition(frozenset({S.AUTH}), None, "RFC 4954 §4"),
    # Also behind an end of data whose reply is still due: with PIPELINING the
    # next transaction may follow the content in the same write (RFC 2920 §3.1).
    MailFrom: Transition(frozenset({S.READY, S.END_OF_DATA}), S.MAIL, "RFC 5321 §4.1.1.2"),
    RcptTo: Transition(frozenset({S.MAIL, S.RCPT}), S.RCPT, "RFC 5321 §4.1.1.3"),
    Data: Transition(frozenset({S.MAIL, S.RCPT}), S.DATA, "RFC 5321 §4.1.1.4"),
    Content: Transition(frozenset({S.CONTENT}), None, "RFC 5321 §4.1.1.4"),
    EndOfData: Transition(frozenset({S.CONTENT}), S.END_OF_DATA, "RFC 5321 §4.1.1.4"),
    Bdat: Transition(frozenset({S.MAIL, S.RCPT, S.BDAT}), S.BDAT, "RFC 3030 §2"),
    # Not while DATA awaits its 354: were it to come, RSET would be content.
    Rset: Transition(_IDLE | _HELLO_DONE | {S.FAILED}, S.READY, "RFC 5321 §4.1.1.5"),
    Noop: Transition(_IDLE, None, "RFC 5321 §4.1.1.9"),
    Vrfy: Transition(_IDLE, None, "RFC 5321 §4.1.1.6"),
    Expn: Transition(_IDLE, None, "RFC 5321 §4.1.1.7"),
    Help: Transition(_IDLE, None, "RFC 5321 §4.1.1.8"),
    # Not before the greeting (it would be taken for QUIT's reply), not
    # behind STARTTLS (RFC 3207 §4: last in a group), not mid-AUTH or mid-DATA.
    Quit: Transition(
        frozenset(State)
        - {
            S.GREETING,
            S.STARTTLS,
            S.DATA,
            S.CONTENT,
            S.TLS_HANDSHAKE,
            S.AUTH,
            S.QUIT,
            S.CLOSED,
            S.ERROR,
        },
        S.QUIT,
        "RFC 5321 §4.1.1.10",
    ),
}
