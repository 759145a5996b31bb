"""What the client knows about the session: capabilities, the open mailbox, alerts.

:class:`Capabilities` is the server's CAPABILITY list (RFC 9051 §7.2.2) with
the questions a client asks of it. :class:`SelectedMailbox` is the state of
the mailbox that SELECT or EXAMINE opened, kept current by the server's
untagged data (RFC 9051 §7.3, §7.4, RFC 7162) without holding any message
data, so a flood of updates costs nothing but the count (security.md S23).
:class:`Alert` is an ``[ALERT]`` or ``[WEBALERT]`` text that must reach the
user (RFC 9051 §7.1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

__all__ = ["Alert", "Capabilities", "SelectedMailbox"]


class Capabilities:
    """The capability names a server announced, upper case.

    ``"IDLE" in caps`` asks for one; :attr:`auth` lists the SASL mechanisms
    (``AUTH=PLAIN`` gives ``"PLAIN"``).

    Args:
        names: the names as announced (any case).
    """

    __slots__ = ("_names",)

    def __init__(self, names: Iterable[str]) -> None:
        self._names = tuple(dict.fromkeys(name.upper() for name in names))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.upper() in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Capabilities):
            return set(self._names) == set(other._names)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._names))

    def __repr__(self) -> str:
        return f"Capabilities({' '.join(self._names)})"

    @property
    def names(self) -> tuple[str, ...]:
        """Every name, in the order announced."""
        return self._names

    @property
    def auth(self) -> tuple[str, ...]:
        """The SASL mechanisms offered (``AUTH=...``, RFC 9051 §6.2.2)."""
        return tuple(n[5:] for n in self._names if n.startswith("AUTH="))

    @property
    def rev2(self) -> bool:
        """Whether IMAP4rev2 (RFC 9051) is offered."""
        return "IMAP4REV2" in self._names

    @property
    def starttls(self) -> bool:
        """Whether STARTTLS is offered (RFC 9051 §6.2.1)."""
        return "STARTTLS" in self._names

    @property
    def login_disabled(self) -> bool:
        """Whether LOGIN is forbidden (LOGINDISABLED, RFC 9051 §6.2.3)."""
        return "LOGINDISABLED" in self._names

    @property
    def sasl_ir(self) -> bool:
        """Whether an initial response may go with AUTHENTICATE (RFC 4959)."""
        return "SASL-IR" in self._names or self.rev2

    @property
    def gmail(self) -> bool:
        """Whether Gmail's extensions are offered (X-GM-EXT-1)."""
        return "X-GM-EXT-1" in self._names


@dataclasses.dataclass(frozen=True, slots=True)
class Alert:
    """A text the server wants shown to the user (RFC 9051 §7.1 ALERT, Gmail WEBALERT).

    Attributes:
        text: the human-readable text (controls are left to the renderer).
        url: for WEBALERT, the address the server gave.
        trusted: ``False`` when it arrived before TLS, when any man in the
            middle could have written it (security.md S41).
    """

    text: str
    url: str | None = None
    trusted: bool = True


@dataclasses.dataclass(slots=True)
class SelectedMailbox:
    """The mailbox SELECT or EXAMINE opened, as the server has described it.

    Updated in place as untagged data arrives; nothing per message is kept.

    Attributes:
        name: the mailbox name.
        readonly: opened with EXAMINE, or the server said ``[READ-ONLY]``.
        exists: the message count (EXISTS, less EXPUNGE and VANISHED).
        recent: RECENT (IMAP4rev1 only).
        flags: FLAGS: the flags defined in the mailbox.
        permanent_flags: PERMANENTFLAGS: those the client can store.
        uidvalidity: UIDVALIDITY (RFC 9051 §2.3.1.1).
        uidnext: UIDNEXT, the next UID the server expects to assign.
        unseen: the first unseen message number (IMAP4rev1 ``[UNSEEN]``).
        highestmodseq: HIGHESTMODSEQ (RFC 7162 §3.1.1), kept current from
            the MODSEQ of FETCH data; ``None`` when the mailbox has none.
        nomodseq: the server said ``[NOMODSEQ]`` (RFC 7162 §3.1.2.2).
        uidnotsticky: UIDs do not persist (``[UIDNOTSTICKY]``, RFC 4315 §3).
        mailboxid: MAILBOXID (RFC 8474).
        annotations: the ANNOTATIONS code after SELECT (ANNOTATE) (RFC 5257
            §4.1): the largest annotation size, ``NONE`` or ``READ-ONLY``,
            perhaps followed by ``NOPRIVATE``.
        expunged: expunges seen since the mailbox was opened.
        uidvalidity_changed: a different UIDVALIDITY arrived while selected:
            every UID the caller holds for this mailbox is void.
    """

    name: str
    readonly: bool = False
    exists: int = 0
    recent: int = 0
    flags: tuple[str, ...] = ()
    permanent_flags: tuple[str, ...] = ()
    uidvalidity: int | None = None
    uidnext: int | None = None
    unseen: int | None = None
    highestmodseq: int | None = None
    nomodseq: bool = False
    uidnotsticky: bool = False
    mailboxid: str | None = None
    expunged: int = 0
    uidvalidity_changed: bool = False
    annotations: str | None = None
