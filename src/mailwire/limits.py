"""Bounds on what a server can make mailwire hold, read or repeat.

Every reader checks sizes against a :class:`Limits` before it buffers or
allocates, and never allocates from a size the server declares. A hostile or
broken server therefore meets a :class:`~mailwire.errors.LimitExceeded` instead
of exhausting memory or time. Each default below is explained where it is set.
"""

from __future__ import annotations

import dataclasses

__all__ = ["DEFAULT_LIMITS", "Limits"]

KiB = 1024
MiB = 1024 * KiB


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """Configurable bounds; every core and parser takes one (``limits=...``).

    Raise a value only for a server you trust. All values must be positive.
    """

    # One line of an IMAP or POP3 response, CRLF included. RFC 9051 sets no
    # bound and legitimate lines are long: a FETCH of ENVELOPE + BODYSTRUCTURE
    # for a message with hundreds of parts, or a SEARCH result listing every
    # UID of a large mailbox (imapclient issue 139 shows 10 000 bytes is far
    # too small). imaplib uses 1 000 000; 1 MiB keeps the same order.
    max_line_length: int = 1 * MiB

    # One line of an SMTP reply, CRLF included. RFC 5321 §4.5.3.1.5 allows
    # 512 octets, but EHLO keywords and multi-line 5xx texts run longer in
    # practice; smtplib's _MAXLINE is 8192, which we keep.
    max_reply_line_length: int = 8 * KiB

    # Lines in one SMTP multi-line reply or POP3 CAPA / LIST / UIDL header
    # block held at once. A real EHLO reply has around 15 lines; 100 is what
    # lettre and Postfix use, and stops `250-x` forever (security.md S23).
    max_reply_lines: int = 100

    # Bytes in one held multi-line reply (SMTP), the same 100 000 Postfix
    # applies to the replies it reads.
    max_reply_bytes: int = 100_000

    # Largest IMAP literal or POP3 message kept in memory. Bigger data must go
    # to a caller's sink, where memory is bounded by ``chunk_size`` instead.
    # 64 MiB is above the message-size limit of every large provider
    # (Gmail 25 MB before encoding, Outlook 150 MB only with sinks).
    max_literal_size: int = 64 * MiB

    # Nesting of IMAP parenthesised lists and MIME multiparts. Real messages
    # rarely go past 10; 100 is the common cap (Rust mailparse, a Dovecot fix,
    # postal-mime) and stays far below Python's recursion limit.
    max_nesting_depth: int = 100

    # Untagged IMAP data the core must hold until the command it belongs to
    # completes (data handed out as events does not count). A SEARCH or FETCH
    # answer for a big mailbox yields one response per message, so the bound
    # is generous; it stops a server flooding held data (S23).
    max_held_responses: int = 1_000_000

    # Challenge/response rounds in one SASL exchange. SCRAM needs 2, PLAIN 0
    # or 1, LOGIN 2; smtplib stops at 5 (_MAXCHALLENGE), as do we (S26).
    max_sasl_rounds: int = 5

    # Parts in one MIME message (S29). MailDev's fix for a part-count bomb
    # used 10 000; real messages have tens.
    max_mime_parts: int = 10_000

    # Bytes of one MIME header block (all header fields of one entity).
    # RFC 5322 limits lines to 998 octets but not the number of fields;
    # 1 MiB holds any real header block and stops an endless one.
    max_header_bytes: int = 1 * MiB

    # Size of the chunks handed to sinks and read from the socket. 64 KiB
    # matches typical socket buffers and keeps per-chunk overhead small.
    chunk_size: int = 64 * KiB

    # Most bytes one COMPRESS=DEFLATE input may inflate to in one step before
    # the output is consumed (S31): bounded like a read.
    max_inflate_chunk: int = 64 * KiB

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{field.name} must be a positive int, got {value!r}")


DEFAULT_LIMITS = Limits()
