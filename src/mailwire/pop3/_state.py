"""The POP3 client's state machine, kept as data (RFC 1939 §3-§6).

Theory of operation. RFC 1939 names three states a session passes through:
AUTHORIZATION (greeted, identifying itself), TRANSACTION (the maildrop is
locked and open) and UPDATE (QUIT was sent from TRANSACTION: the server
removes the messages marked deleted, then closes). The client here splits a
few of them further, because it must know what it may send while answers
are still due:

- the state follows the commands *sent*, not only the answers received,
  because with PIPELINING (RFC 2449 §6.6) several commands go out before the
  first answer arrives. Each row of :data:`SEND_TABLE` says in which states a
  command may be sent and where sending it leads;
- answers then correct the state -- a refused PASS returns to
  AUTHORIZATION, a ``+OK`` to AUTH enters TRANSACTION -- but only while no
  later command has moved the state on: each pending command remembers the
  state it left behind, and its answer applies only if the state is still
  that one (the same rule as the SMTP core).

States:

GREETING       connected, waiting for the greeting (RFC 1939 §4)
REFUSED        the greeting was -ERR: only QUIT may be sent
AUTHORIZATION  greeted (or just after TLS), not yet authenticated (§4)
STLS           STLS sent, waiting for its answer (RFC 2595 §4)
TLS_HANDSHAKE  +OK to STLS: the driver runs the handshake, then CAPA again
USER           USER sent (or accepted): PASS comes next (§7)
AUTH           PASS, APOP or AUTH sent; an AUTH exchange may go on (RFC 5034 §4)
TRANSACTION    authenticated; the maildrop is open (§5)
UPDATE         QUIT sent from TRANSACTION: deletions happen now (§6)
QUIT           QUIT sent from any other state (§4: no UPDATE then)
CLOSED         the session is over (+OK to QUIT, or the server closed)
ERROR          a protocol error happened; the connection is unusable

A generated diagram: ``python -m mailwire.pop3._state`` prints the table as
Mermaid ``stateDiagram-v2`` source.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

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

__all__ = ["ANSWERS", "SEND_TABLE", "State", "Transition"]


class State(enum.Enum):
    """The client's view of the POP3 session (see the module docstring)."""

    GREETING = "GREETING"
    REFUSED = "REFUSED"
    AUTHORIZATION = "AUTHORIZATION"
    STLS = "STLS"
    TLS_HANDSHAKE = "TLS_HANDSHAKE"
    USER = "USER"
    AUTH = "AUTH"
    TRANSACTION = "TRANSACTION"
    UPDATE = "UPDATE"
    QUIT = "QUIT"
    CLOSED = "CLOSED"
    ERROR = "ERROR"


S = State


class Transition:
    """One row: where a command may be sent, and the state it leads to.

    Attributes:
        allowed: the states in which the command may be sent.
        to: the state after sending it: one state for all, a mapping from the
            state it was sent in, or ``None`` (unchanged).
        rfc: where the rule comes from.
    """

    __slots__ = ("allowed", "rfc", "to")

    def __init__(
        self, allowed: frozenset[State], to: State | Mapping[State, State] | None, rfc: str
    ) -> None:
        self.allowed = allowed
        self.to = to
        self.rfc = rfc

    def target(self, state: State) -> State:
        """The state after sending the command in ``state``."""
        if self.to is None:
            return state
        if isinstance(self.to, State):
            return self.to
        return self.to.get(state, state)

    def __repr__(self) -> str:
        names = ",".join(sorted(s.name for s in self.allowed))
        if isinstance(self.to, State):
            to = self.to.name
        elif self.to is None:
            to = "="
        else:
            to = "{" + ", ".join(f"{a.name}: {b.name}" for a, b in self.to.items()) + "}"
        return f"Transition({{{names}}} -> {to}, {self.rfc})"


_AUTHZ = frozenset({S.AUTHORIZATION})
_TRANS = frozenset({S.TRANSACTION})
_BOTH = frozenset({S.AUTHORIZATION, S.TRANSACTION})

SEND_TABLE: dict[type[Command], Transition] = {
    Capa: Transition(_BOTH, None, "RFC 2449 §5"),
    # Nothing may follow STLS until the handshake is done (RFC 2595 §4).
    Stls: Transition(_AUTHZ, S.STLS, "RFC 2595 §4"),
    User: Transition(_AUTHZ, S.USER, "RFC 1939 §7"),
    Pass: Transition(frozenset({S.USER}), S.AUTH, "RFC 1939 §7"),
    Apop: Transition(_AUTHZ, S.AUTH, "RFC 1939 §7"),
    Auth: Transition(_AUTHZ, S.AUTH, "RFC 5034 §4"),
    AuthResponse: Transition(frozenset({S.AUTH}), None, "RFC 5034 §4"),
    AuthCancel: Transition(frozenset({S.AUTH}), None, "RFC 5034 §4"),
    Utf8: Transition(_AUTHZ, None, "RFC 6856 §2.1"),
    Lang: Transition(_BOTH, None, "RFC 6856 §3"),
    Stat: Transition(_TRANS, None, "RFC 1939 §5"),
    List: Transition(_TRANS, None, "RFC 1939 §5"),
    Retr: Transition(_TRANS, None, "RFC 1939 §5"),
    Dele: Transition(_TRANS, None, "RFC 1939 §5"),
    Noop: Transition(_TRANS, None, "RFC 1939 §5"),
    Rset: Transition(_TRANS, None, "RFC 1939 §5"),
    Top: Transition(_TRANS, None, "RFC 1939 §7"),
    Uidl: Transition(_TRANS, None, "RFC 1939 §7"),
    # §6: QUIT from TRANSACTION enters UPDATE; from elsewhere it just ends.
    Quit: Transition(
        frozenset({S.REFUSED, S.AUTHORIZATION, S.USER, S.TRANSACTION}),
        {S.TRANSACTION: S.UPDATE, S.REFUSED: S.QUIT, S.AUTHORIZATION: S.QUIT, S.USER: S.QUIT},
        "RFC 1939 §4, §6",
    ),
}

#: How answers move the state: (command, answer) -> (state after, rule). An
#: answer applies only while the state is still the one its command left.
#: "+OK" and "-ERR" are the status indicators; "+" is an AUTH challenge.
ANSWERS: dict[tuple[type[Command], str], tuple[State, str]] = {
    (Stls, "+OK"): (S.TLS_HANDSHAKE, "RFC 2595 §4: TLS negotiation begins after the CRLF"),
    (Stls, "-ERR"): (S.AUTHORIZATION, "RFC 2595 §4"),
    (User, "-ERR"): (S.AUTHORIZATION, "RFC 1939 §7: try again or QUIT"),
    (Pass, "+OK"): (S.TRANSACTION, "RFC 1939 §7: maildrop locked and ready"),
    (Pass, "-ERR"): (S.AUTHORIZATION, "RFC 1939 §7"),
    (Apop, "+OK"): (S.TRANSACTION, "RFC 1939 §7"),
    (Apop, "-ERR"): (S.AUTHORIZATION, "RFC 1939 §7"),
    (Auth, "+OK"): (S.TRANSACTION, "RFC 5034 §4"),
    (Auth, "-ERR"): (S.AUTHORIZATION, "RFC 5034 §4"),
    (AuthResponse, "+OK"): (S.TRANSACTION, "RFC 5034 §4"),
    (AuthResponse, "-ERR"): (S.AUTHORIZATION, "RFC 5034 §4"),
    (AuthCancel, "+OK"): (S.TRANSACTION, "RFC 5034 §4"),
    (AuthCancel, "-ERR"): (S.AUTHORIZATION, "RFC 5034 §4: cancelled"),
    (Quit, "+OK"): (S.CLOSED, "RFC 1939 §6"),
    (Quit, "-ERR"): (S.CLOSED, "RFC 1939 §6: some deleted messages not removed"),
}


def mermaid() -> str:
    """The transitions as a Mermaid state diagram (for the docs and the stepper)."""
    lines = ["stateDiagram-v2", "    [*] --> GREETING", "    GREETING --> AUTHORIZATION: +OK"]
    lines.append("    GREETING --> REFUSED: -ERR")
    for command, row in SEND_TABLE.items():
        for state in sorted(row.allowed, key=lambda s: s.name):
            target = row.target(state)
            if target is not state:
                lines.append(f"    {state.name} --> {target.name}: {command.__name__}")
    for (command, status), (target, _) in ANSWERS.items():
        sent_to = SEND_TABLE[command]
        for state in sorted(sent_to.allowed, key=lambda s: s.name):
            source = sent_to.target(state)
            if source is not target:
                lines.append(f"    {source.name} --> {target.name}: {status} to {command.__name__}")
    lines.append("    TLS_HANDSHAKE --> AUTHORIZATION: handshake done")
    lines.append("    CLOSED --> [*]")
    return "\n".join(dict.fromkeys(lines))


if __name__ == "__main__":  # pragma: no cover
    print(mermaid())
