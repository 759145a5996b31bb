"""The IMAP client's state machine, kept as data (RFC 9051 §3, RFC 3501 §3).

Theory of operation. IMAP has four states (RFC 9051 §3): NOT_AUTHENTICATED
until LOGIN or AUTHENTICATE succeeds (or the greeting was PREAUTH),
AUTHENTICATED once it has, SELECTED while a mailbox is open, and LOGOUT once
either side ends the session. The client adds a few states of its own around
them: GREETING before the server has spoken, TLS_HANDSHAKE between the
STARTTLS go-ahead and the end of the handshake, IDLING while an IDLE is
running (RFC 2177), CLOSED when the stream has ended and ERROR after a
protocol error.

Unlike SMTP, IMAP completions carry the tag of the command they finish, so
replies are matched by tag and the state follows *completions*, not sends:
LOGIN moves to AUTHENTICATED on its tagged OK, SELECT to SELECTED on its OK
(and to AUTHENTICATED on NO, because a failed SELECT closes the mailbox that
was open, RFC 9051 §6.3.2). To keep that unambiguous, a command that changes
the state is *exclusive*: it is sent only when no other command is in flight,
and nothing else is sent until it completes (RFC 9051 §5.5 asks the client
not to create ambiguity; waiting is the simple way never to). Commands that
do not change the state may be pipelined freely, within the rule of §5.5
about message sequence numbers (enforced by the connection).

Each :data:`SEND_TABLE` row says where a command may be sent and which RFC
section says so; :data:`COMPLETION_TABLE` says where its tagged OK (and its
NO or BAD) leads. The replay stepper and the diagrams read these tables.
"""

from __future__ import annotations

import dataclasses
import enum

__all__ = ["COMPLETION_TABLE", "SEND_TABLE", "Completion", "State", "Transition"]


class State(enum.Enum):
    """The client's view of the IMAP session (see the module docstring)."""

    GREETING = "GREETING"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    TLS_HANDSHAKE = "TLS_HANDSHAKE"
    AUTHENTICATED = "AUTHENTICATED"
    SELECTED = "SELECTED"
    IDLING = "IDLING"
    LOGOUT = "LOGOUT"
    CLOSED = "CLOSED"
    ERROR = "ERROR"


S = State
_ANY = frozenset({S.NOT_AUTHENTICATED, S.AUTHENTICATED, S.SELECTED})
_AUTH = frozenset({S.AUTHENTICATED, S.SELECTED})
_NOT_AUTH = frozenset({S.NOT_AUTHENTICATED})
_SELECTED = frozenset({S.SELECTED})


@dataclasses.dataclass(frozen=True, slots=True)
class Transition:
    """Where a command may be sent.

    Attributes:
        allowed: the states in which it may be sent.
        rfc: where the rule comes from.
        exclusive: it changes the state, so it is sent alone (nothing in
            flight before it, nothing sent after it until it completes).
    """

    allowed: frozenset[State]
    rfc: str
    exclusive: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Completion:
    """Where a command's completion leads (``None``: the state is unchanged).

    Attributes:
        ok: the state after a tagged OK.
        failed: the state after a tagged NO or BAD.
        rfc: where the rule comes from.
    """

    ok: State | None
    failed: State | None
    rfc: str


#: Verb (``UID`` left out) -> where it may be sent.
SEND_TABLE: dict[str, Transition] = {
    # Any state (RFC 9051 §6.1).
    "CAPABILITY": Transition(_ANY, "RFC 9051 §6.1.1"),
    "NOOP": Transition(_ANY, "RFC 9051 §6.1.2"),
    "LOGOUT": Transition(_ANY, "RFC 9051 §6.1.3", exclusive=True),
    "ID": Transition(_ANY, "RFC 2971 §3.1"),
    # Not authenticated (RFC 9051 §6.2).
    "STARTTLS": Transition(_NOT_AUTH, "RFC 9051 §6.2.1", exclusive=True),
    "AUTHENTICATE": Transition(_NOT_AUTH, "RFC 9051 §6.2.2", exclusive=True),
    "LOGIN": Transition(_NOT_AUTH, "RFC 9051 §6.2.3", exclusive=True),
    # Authenticated (RFC 9051 §6.3); also allowed while a mailbox is selected.
    "ENABLE": Transition(_AUTH, "RFC 5161 §3.1", exclusive=True),
    "COMPRESS": Transition(_AUTH, "RFC 4978 §3", exclusive=True),
    "SELECT": Transition(_AUTH, "RFC 9051 §6.3.2", exclusive=True),
    "EXAMINE": Transition(_AUTH, "RFC 9051 §6.3.3", exclusive=True),
    "CREATE": Transition(_AUTH, "RFC 9051 §6.3.4"),
    "DELETE": Transition(_AUTH, "RFC 9051 §6.3.5"),
    "RENAME": Transition(_AUTH, "RFC 9051 §6.3.6"),
    "SUBSCRIBE": Transition(_AUTH, "RFC 9051 §6.3.7"),
    "UNSUBSCRIBE": Transition(_AUTH, "RFC 9051 §6.3.8"),
    "LIST": Transition(_AUTH, "RFC 9051 §6.3.9"),
    "LSUB": Transition(_AUTH, "RFC 3501 §6.3.9"),
    "NAMESPACE": Transition(_AUTH, "RFC 9051 §6.3.10"),
    "STATUS": Transition(_AUTH, "RFC 9051 §6.3.11"),
    "APPEND": Transition(_AUTH, "RFC 9051 §6.3.12"),
    "IDLE": Transition(_AUTH, "RFC 2177 §3", exclusive=True),
    "GETQUOTA": Transition(_AUTH, "RFC 9208 §4.2"),
    "GETQUOTAROOT": Transition(_AUTH, "RFC 9208 §4.3"),
    "SETQUOTA": Transition(_AUTH, "RFC 9208 §4.4"),
    "GETMETADATA": Transition(_AUTH, "RFC 5464 §4.2"),
    # Gmail's old XLIST (known so that recorded sessions replay), NOTIFY
    # (RFC 5465) and ACL (RFC 4314).
    "XLIST": Transition(_AUTH, "RFC 6154 (SPECIAL-USE; XLIST is Gmail's earlier form)"),
    "NOTIFY": Transition(_AUTH, "RFC 5465 §3"),
    "SETACL": Transition(_AUTH, "RFC 4314 §3.1"),
    "DELETEACL": Transition(_AUTH, "RFC 4314 §3.2"),
    "GETACL": Transition(_AUTH, "RFC 4314 §3.3"),
    "LISTRIGHTS": Transition(_AUTH, "RFC 4314 §3.4"),
    "MYRIGHTS": Transition(_AUTH, "RFC 4314 §3.5"),
    "SETMETADATA": Transition(_AUTH, "RFC 5464 §4.3"),
    # Selected (RFC 9051 §6.4).
    "CHECK": Transition(_SELECTED, "RFC 3501 §6.4.1"),
    "CLOSE": Transition(_SELECTED, "RFC 9051 §6.4.1", exclusive=True),
    "UNSELECT": Transition(_SELECTED, "RFC 9051 §6.4.2", exclusive=True),
    "EXPUNGE": Transition(_SELECTED, "RFC 9051 §6.4.3"),
    "SEARCH": Transition(_SELECTED, "RFC 9051 §6.4.4"),
    "FETCH": Transition(_SELECTED, "RFC 9051 §6.4.5"),
    "STORE": Transition(_SELECTED, "RFC 9051 §6.4.6"),
    "COPY": Transition(_SELECTED, "RFC 9051 §6.4.7"),
    "MOVE": Transition(_SELECTED, "RFC 9051 §6.4.8"),
    "SORT": Transition(_SELECTED, "RFC 5256 §3"),
    "THREAD": Transition(_SELECTED, "RFC 5256 §3"),
}

#: Verb -> where its completion leads.
COMPLETION_TABLE: dict[str, Completion] = {
    "LOGIN": Completion(S.AUTHENTICATED, None, "RFC 9051 §6.2.3"),
    "AUTHENTICATE": Completion(S.AUTHENTICATED, None, "RFC 9051 §6.2.2"),
    # A failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2).
    "SELECT": Completion(S.SELECTED, S.AUTHENTICATED, "RFC 9051 §6.3.2"),
    "EXAMINE": Completion(S.SELECTED, S.AUTHENTICATED, "RFC 9051 §6.3.3"),
    "CLOSE": Completion(S.AUTHENTICATED, None, "RFC 9051 §6.4.1"),
    "UNSELECT": Completion(S.AUTHENTICATED, None, "RFC 9051 §6.4.2"),
    "STARTTLS": Completion(S.TLS_HANDSHAKE, None, "RFC 9051 §6.2.1"),
    "LOGOUT": Completion(S.LOGOUT, S.LOGOUT, "RFC 9051 §6.1.3"),
}
