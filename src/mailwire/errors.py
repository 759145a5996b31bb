"""Every exception mailwire raises on purpose.

The tree answers one question first: *can I keep using this connection?*

- ``ProtocolError`` and its subclasses: no. Somebody broke the protocol (the
  caller asked for something illegal, or the server sent something malformed,
  unexpected or oversized); the core is in its ``ERROR`` state for good.
  Reconnect.
- ``CommandError`` and its subclasses: yes. The server understood the command
  and said no; the session is in the state it was in before the command.
- ``ConnectionLost`` and ``Timeout``: no. The transport is gone or stalled.
- ``SecurityError``: no. mailwire refused to go on because going on would have
  been unsafe (TLS required but not obtained, plaintext authentication, a
  response injected before a TLS handshake).
- ``NotSupportedError``: yes. Nothing was sent; the server lacks a capability.
- ``MIMEError``: no connection is involved.

Bad caller input (CR, LF or NUL inside an argument, a malformed address) is a
plain ``ValueError``, raised before anything is queued or sent.

``ssl.SSLCertVerificationError`` is not wrapped: it propagates unchanged so
that ``except ssl.SSLCertVerificationError`` keeps working, and the failure is
recorded in the transcript first.

No exception text carries a secret: messages quote server replies and command
verbs, never credentials.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: see mailwire/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "AuthenticationError",
    "CommandError",
    "ConnectionLost",
    "IMAPStatusError",
    "LimitExceeded",
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
    "Timeout",
    "TooManyParts",
    "TooManyResponses",
]


# What an exception's text may not carry raw: C0 controls but tab and line
# feed, DEL, C1 controls, and the bidirectional marks, overrides and isolates.
# Server text ends up in these messages, and messages end up on terminals and
# in logs (S41): ESC sequences, a bare CR or U+202E would rewrite what is shown.
_UNSAFE = {c: f"\\x{c:02x}" for c in (*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}
_UNSAFE.update({c: f"\\u{c:04x}" for c in (0x200E, 0x200F, *range(0x202A, 0x202F))})
_UNSAFE.update({c: f"\\u{c:04x}" for c in range(0x2066, 0x206A)})


class MailwireError(Exception):
    """Base class of every exception mailwire raises on purpose.

    Catch this to handle anything mailwire reports; the subclasses say whether
    the connection is still usable. Control characters in the message are
    shown escaped (``\\x1b``); attributes such as ``text`` keep the server's
    words as they came.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(a.translate(_UNSAFE) if isinstance(a, str) else a for a in args))


# --------------------------------------------------------------------------
# Protocol errors: the connection is unusable afterwards.


class ProtocolError(MailwireError):
    """The protocol was broken; the connection is NOT usable afterwards.

    The sans-I/O core that raised this is in its ``ERROR`` state for good and
    every later call on it raises again. Close the connection and reconnect.
    """


class LocalProtocolError(ProtocolError):
    """The caller asked for something illegal in the current state.

    For example ``RCPT TO`` before ``MAIL FROM``, or ``FETCH`` with no mailbox
    selected. Nothing was sent for the offending command. The connection is NOT
    usable afterwards: the core is in ``ERROR``.
    """


class RemoteProtocolError(ProtocolError):
    """The server sent malformed, unexpected or oversized data.

    The offending bytes (escaped, shortened) are quoted in the message. The
    connection is NOT usable afterwards: the core is in ``ERROR``.
    """


class LimitExceeded(RemoteProtocolError):
    """The server's data went past a bound set in :class:`mailwire.Limits`.

    mailwire stopped reading at the bound instead of growing memory or time
    without end. Raise the limit only for a server you trust. The connection is
    NOT usable afterwards.

    Attributes:
        limit: the bound that was exceeded (bytes, lines, levels or rounds).
    """

    def __init__(self, message: str, *, limit: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class LineTooLong(LimitExceeded):
    """A line did not end within ``Limits`` (no CRLF in time).

    Raised having buffered at most the limit plus one read. The connection is
    NOT usable afterwards.
    """


class LiteralTooLarge(LimitExceeded):
    """A declared literal or message size is over ``Limits.max_literal_size``.

    Raised before any of its bytes are read. To take larger bodies, stream them
    to a sink, which is bounded by the chunk size rather than the literal size.
    The connection is NOT usable afterwards.
    """


class NestingTooDeep(LimitExceeded):
    """Parenthesised lists (IMAP) or nested MIME parts went past the depth cap.

    Raised instead of ``RecursionError``. The connection (if any) is NOT usable
    afterwards.
    """


class TooManyResponses(LimitExceeded):
    """A reply had too many lines, or held data piled up past its cap.

    For example an SMTP multi-line reply that never ends, or a POP3 CAPA list
    that never reaches its terminating dot. The connection is NOT usable
    afterwards.
    """


class TooManyParts(LimitExceeded):
    """A MIME message has more parts than ``Limits.max_mime_parts``.

    Raised by the MIME parser in strict mode; in tolerant mode the parser stops
    splitting and records a defect instead. No connection is involved.
    """


# --------------------------------------------------------------------------
# Command errors: the server said no; the connection is still usable.


class CommandError(MailwireError):
    """The server understood the command and refused it.

    The connection IS still usable: the session is in the state it was in
    before the command.
    """


class SMTPReplyError(CommandError):
    """An SMTP command got a 4xx or 5xx reply.

    The connection IS still usable (after a 421 the server closes it, which the
    next command reports as ``ConnectionLost``).

    Attributes:
        code: the three-digit reply code.
        enhanced: the RFC 3463 enhanced status code ``(class, subject,
            detail)``, or ``None`` when the server sent none.
        text: the reply text, lines joined with newlines.
        is_transient: ``True`` for 4xx (try again later), ``False`` for 5xx.
    """

    def __init__(
        self,
        code: int,
        text: str,
        enhanced: tuple[int, int, int] | None = None,
        *,
        command: str | None = None,
    ) -> None:
        self.code = code
        self.text = text
        self.enhanced = enhanced
        self.command = command
        where = f"{command}: " if command else ""
        status = f" {'.'.join(map(str, enhanced))}" if enhanced else ""
        super().__init__(f"{where}{code}{status} {text}".rstrip())

    @property
    def is_transient(self) -> bool:
        """Whether the failure is temporary (RFC 5321 §4.2.1: 4yz replies)."""
        return 400 <= self.code < 500


class SenderRefused(SMTPReplyError):
    """``MAIL FROM`` was refused. The connection IS still usable.

    Attributes:
        sender: the envelope sender that was refused.
    """

    def __init__(
        self,
        code: int,
        text: str,
        enhanced: tuple[int, int, int] | None = None,
        *,
        sender: str = "",
        command: str | None = "MAIL FROM",
    ) -> None:
        self.sender = sender
        super().__init__(code, text, enhanced, command=command)


class RecipientRefused(SMTPReplyError):
    """Every ``RCPT TO`` of a message was refused, so nothing was sent.

    The connection IS still usable.

    Attributes:
        refused: ``{recipient: reply}`` for every recipient.
    """

    def __init__(
        self,
        code: int,
        text: str,
        enhanced: tuple[int, int, int] | None = None,
        *,
        refused: Mapping[str, object] | None = None,
        command: str | None = "RCPT TO",
    ) -> None:
        self.refused: dict[str, object] = dict(refused or {})
        super().__init__(code, text, enhanced, command=command)


class POP3ErrorReply(CommandError):
    """A POP3 command got ``-ERR``. The connection IS still usable.

    Attributes:
        text: the text after ``-ERR`` (without the response code).
        code: the RFC 2449 / RFC 3206 response code such as ``"IN-USE"``,
            ``"LOGIN-DELAY"``, ``"SYS/TEMP"``, ``"SYS/PERM"`` or ``"AUTH"``,
            or ``None``.
    """

    def __init__(self, text: str, code: str | None = None, *, command: str | None = None) -> None:
        self.text = text
        self.code = code
        self.command = command
        where = f"{command}: " if command else ""
        bracket = f"[{code}] " if code else ""
        super().__init__(f"{where}-ERR {bracket}{text}".rstrip())


class IMAPStatusError(CommandError):
    """An IMAP command completed with ``NO`` or ``BAD``.

    The connection IS still usable: a tagged ``NO``/``BAD`` ends one command,
    not the session (a ``BYE`` is reported as ``ConnectionLost``).

    Attributes:
        status: ``"NO"`` or ``"BAD"``.
        code: the response code atom (``"TRYCREATE"``,
            ``"AUTHENTICATIONFAILED"``, ...) or ``None``.
        text: the human-readable text.
    """

    def __init__(
        self, status: str, text: str, code: str | None = None, *, command: str | None = None
    ) -> None:
        self.status = status
        self.text = text
        self.code = code
        self.command = command
        where = f"{command}: " if command else ""
        bracket = f"[{code}] " if code else ""
        super().__init__(f"{where}{status} {bracket}{text}".rstrip())


class AuthenticationError(CommandError):
    """Authentication failed or could not be attempted safely.

    Raised when the server rejects the credentials, when no offered SASL
    mechanism is acceptable, when a SCRAM server signature does not verify, or
    when an exchange runs past ``Limits.max_sasl_rounds``. After a refusal the
    connection IS still usable (unauthenticated); after a failed server
    signature, treat the server as untrusted and close it.

    Attributes:
        reply: the protocol error that carried the refusal, if any.
    """

    def __init__(self, message: str, *, reply: CommandError | None = None) -> None:
        super().__init__(message)
        self.reply = reply


# --------------------------------------------------------------------------
# Other errors.


class NotSupportedError(MailwireError):
    """The server lacks a capability the operation needs.

    Nothing was sent for the operation, so the connection IS still usable.

    Attributes:
        capability: the missing capability (``"STARTTLS"``, ``"UIDPLUS"``...).
    """

    def __init__(self, message: str, *, capability: str | None = None) -> None:
        super().__init__(message)
        self.capability = capability


class SecurityError(MailwireError):
    """mailwire refused to continue because continuing would be unsafe.

    TLS was required but not obtained, or data was injected before a TLS
    handshake: the connection is NOT usable afterwards and the client closes
    it. When authentication is refused because it would go over plaintext,
    nothing was sent and the connection IS still usable.
    """


class ConnectionLost(MailwireError, ConnectionError):
    """The connection was closed or reset, or the server said goodbye.

    Also a :class:`ConnectionError`. The connection is NOT usable afterwards.

    Attributes:
        settled: in a batch (``send_messages``), the results of the messages
            settled before the loss; empty otherwise.
    """

    settled: list[object]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.settled = []


class OutcomeUnknown(ConnectionLost):
    """Lost after the end of the message data was sent, before its reply.

    The server may or may not have accepted the message: it is reported neither
    as sent nor as refused. Resending may deliver it twice; check first. The
    connection is NOT usable afterwards.

    Attributes:
        recipients: the envelope recipients whose fate is unknown.
        settled: results of the messages of a batch settled before the loss.
    """

    def __init__(
        self,
        message: str,
        *,
        recipients: list[str] | None = None,
        settled: list[object] | None = None,
    ) -> None:
        super().__init__(message)
        self.recipients: list[str] = list(recipients or [])
        self.settled = list(settled or [])


class Timeout(MailwireError, TimeoutError):
    """A connect, read or whole-operation deadline passed.

    Also a :class:`TimeoutError`. The connection is NOT usable afterwards: the
    reply that was late may still arrive and would be paired with the wrong
    command.

    Attributes:
        settled: in a batch (``send_messages``), the results of the messages
            settled before the deadline passed; empty otherwise.
    """

    settled: list[object]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.settled = []


class MIMEError(MailwireError):
    """The MIME builder was misused, or the parser met a defect in strict mode.

    No connection is involved.
    """
