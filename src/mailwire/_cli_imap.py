"""``mailwire imap``: one IMAP session, one action, the exchange printed.

Actions:

- ``list [PATTERN]``: the mailboxes (LIST "" PATTERN, ``*`` by default).
- ``select MAILBOX``: SELECT, and what the server said of it (EXISTS,
  UIDVALIDITY, UIDNEXT, FLAGS, PERMANENTFLAGS).
- ``search MAILBOX CRITERIA...``: UID SEARCH in the mailbox opened read-only
  (EXAMINE); criteria as one types them (``UNSEEN``, ``FROM alice``,
  ``SUBJECT "two words"``, ``SINCE 1-Jan-2026`` or ``SINCE 2026-01-01``),
  ALL when none are given.
- ``fetch MAILBOX UIDS [--items ITEM ...] [--output FILE]``: UID FETCH in the
  mailbox opened read-only; ``BODY.PEEK[]`` does not set ``\\Seen``.
- ``append MAILBOX FILE [--flags FLAGS]``: APPEND the message in FILE.
- ``move MAILBOX UIDS DEST``: UID SEARCH for the UIDs (a MOVE of none is an
  OK), then UID MOVE (or COPY, STORE, EXPUNGE without it).
- ``idle MAILBOX [--seconds N]``: IDLE, printing each unsolicited response as
  it arrives; ends after N seconds (60 by default) or at Ctrl-C, with DONE
  and LOGOUT either way.

The exchange is printed after the session, then the result. Exit status
(``mailwire.cli.EXIT``): ``connect``, ``tls``, ``auth``; ``mailbox`` when the
mailbox (or ``move``'s destination) is refused or missing; ``message`` when
the messages asked for are not there or the action is refused; ``protocol``
when the session broke; ``input`` for a password or file that could not be
read, or criteria mailwire refused before sending anything.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import re
import signal
import sys
import time
from collections.abc import Iterable
from typing import Any

from mailwire import errors
from mailwire._cli_common import (
    EXIT,
    Missing,
    Phase,
    add_connection_args,
    add_mechanism_arg,
    add_output_args,
    make_transcript,
    message_lines,
    password,
    run_session,
    show,
    ssl_context,
)

__all__ = ["add_imap_parser", "criteria", "run_imap"]

PROG = "mailwire imap"

DEFAULT_ITEMS = ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[]")

# Keys whose argument is a date: an ISO date is taken for them as well.
_DATE_KEYS = frozenset(
    {"BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"}
    | {"SAVEDBEFORE", "SAVEDON", "SAVEDSINCE"}
)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def add_imap_parser(sub: Any) -> None:
    """Add ``imap`` to the ``mailwire`` subparsers."""
    imap = sub.add_parser("imap", help="work with mailboxes over IMAP and show the exchange")
    add_connection_args(imap, ports="ports 993, 143 and 143")
    add_mechanism_arg(imap)
    imap.add_argument(
        "--login-command",
        action="store_true",
        help="log in with the LOGIN command instead of SASL AUTHENTICATE",
    )
    add_output_args(imap, styles=("text", "annotated", "raw", "none"))
    actions = imap.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="LIST the mailboxes")
    listing.add_argument("pattern", nargs="?", default="*", help="a LIST pattern (default *)")
    select = actions.add_parser("select", help="SELECT a mailbox and show its state")
    select.add_argument("mailbox")
    search = actions.add_parser("search", help="UID SEARCH a mailbox")
    search.add_argument("mailbox")
    search.add_argument("criteria", nargs="*", help="e.g. UNSEEN, FROM alice, SINCE 2026-01-01")
    fetch = actions.add_parser("fetch", help="UID FETCH messages of a mailbox")
    fetch.add_argument("mailbox")
    fetch.add_argument("uids", help="a UID or a UID set (7, 1:4, 3,5)")
    fetch.add_argument(
        "--items",
        nargs="+",
        metavar="ITEM",
        help=f"the FETCH items (default: {' '.join(DEFAULT_ITEMS)})",
    )
    fetch.add_argument("--output", "-o", metavar="FILE", help="write the body section to FILE")
    append = actions.add_parser("append", help="APPEND a message file to a mailbox")
    append.add_argument("mailbox")
    append.add_argument("file", help="the message (RFC 5322, as it should be stored)")
    append.add_argument("--flags", default="", help='flags to set, e.g. "\\Seen \\Flagged"')
    move = actions.add_parser("move", help="UID MOVE messages to another mailbox")
    move.add_argument("mailbox")
    move.add_argument("uids", help="a UID or a UID set")
    move.add_argument("destination")
    idle = actions.add_parser("idle", help="IDLE in a mailbox, printing what the server says")
    idle.add_argument("mailbox")
    idle.add_argument(
        "--seconds", type=float, default=60.0, help="stop after this long (default 60)"
    )


def criteria(words: Iterable[str]) -> list[Any]:
    """SEARCH criteria from command-line words for :mod:`mailwire.imap.search`.

    Words pass as typed (the search builder checks them); an ISO date
    (``2026-01-31``) after a date key becomes a date. No words means ALL.

    Raises:
        ValueError: an ISO-looking date that does not exist.
    """
    out: list[Any] = []
    previous = ""
    for word in words:
        if previous.upper() in _DATE_KEYS and _ISO_DATE.match(word):
            out.append(datetime.date.fromisoformat(word))
        else:
            out.append(word)
        previous = word
    return out or ["ALL"]


def _flags(flags: Iterable[str]) -> str:
    return "(" + " ".join(flags) + ")"


def _describe(event: Any) -> str:
    """One unsolicited response as a line, for ``idle``."""
    from mailwire.imap import events

    if isinstance(event, events.Exists):
        return f"* {event.count} EXISTS"
    if isinstance(event, events.Recent):
        return f"* {event.count} RECENT"
    if isinstance(event, events.ExpungeData):
        return f"* {event.number} EXPUNGE"
    if isinstance(event, events.Vanished):
        return f"* VANISHED {event.uids}"
    if isinstance(event, events.FetchData):
        parts = [f"UID {event.uid}"] if event.uid is not None else []
        if event.flags is not None:
            parts.append(f"FLAGS {_flags(event.flags)}")
        return f"* {event.seq} FETCH ({' '.join(parts)})"
    if isinstance(event, events.StatusResponse):
        code = f"[{event.code.name}] " if event.code is not None else ""
        return f"* {event.status} {code}{event.text}".rstrip()
    return f"* {type(event).__name__}"


def _fetch_lines(result: Any, output: str | None) -> list[str]:
    lines: list[str] = []
    bodies: list[bytes] = []
    for key, data in sorted(result.items()):
        lines.append(f"UID {data.uid if data.uid is not None else key} (message {data.seq})")
        if data.flags is not None:
            lines.append(f"  FLAGS {_flags(data.flags)}")
        if data.internaldate is not None:
            lines.append(f"  INTERNALDATE {data.internaldate.isoformat()}")
        if data.size is not None:
            lines.append(f"  RFC822.SIZE {data.size}")
        if data.envelope is not None:
            lines.append(f"  ENVELOPE subject: {data.envelope.subject}")
        for name, body in data.sections.items():
            size = "NIL" if body is None else f"{len(body)} bytes"
            lines.append(f"  {name}: {size}")
            if body is not None:
                bodies.append(body)
                if not output:
                    lines.extend("    " + line for line in message_lines(body, None))
    if output:
        if not bodies:
            raise Missing("message", "the FETCH returned no body section to write")
        lines.extend(message_lines(b"".join(bodies), output))
    return lines


class _Interrupt:
    """Ctrl-C during IDLE: noted, so the loop ends with DONE and LOGOUT."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, signum: int, frame: object) -> None:
        self.seen = True


def _idle(client: Any, seconds: float) -> None:
    stop = _Interrupt()
    previous = signal.signal(signal.SIGINT, stop)
    end = time.monotonic() + seconds
    print(f"# idling for {seconds:g} s (Ctrl-C ends it)", flush=True)
    try:
        with client.idle(timeout=1.0) as session:
            while not stop.seen:
                left = end - time.monotonic()
                if left <= 0:
                    break
                session.timeout = min(1.0, left)  # wake up to see Ctrl-C
                for event in session:
                    show(_describe(event))
                    sys.stdout.flush()
                    if stop.seen or time.monotonic() >= end:
                        break
    finally:
        signal.signal(signal.SIGINT, previous)
    if stop.seen:
        print("# interrupted: DONE and LOGOUT", flush=True)


def _act(client: Any, args: argparse.Namespace, phase: Phase, message: bytes | None) -> list[str]:
    action = args.action
    if action == "list":
        return [
            f"{_flags(box.attributes)} {box.delimiter or 'NIL'} {box.name}"
            for box in client.list("", args.pattern)
        ]
    if action == "append":
        flags = args.flags.split()
        done = client.append(args.mailbox, message, flags)
        where = f"UIDVALIDITY {done.uidvalidity} UID " + ",".join(map(str, done.uids))
        return [f"appended to {args.mailbox}" + (f": {where}" if done.uids else "")]
    if action == "select":
        opened = client.select(args.mailbox)
        return [
            f"EXISTS {opened.exists}",
            f"UIDVALIDITY {opened.uidvalidity}",
            f"UIDNEXT {opened.uidnext}",
            f"FLAGS {_flags(opened.flags)}",
            f"PERMANENTFLAGS {_flags(opened.permanent_flags)}",
            f"READ-ONLY {'yes' if opened.readonly else 'no'}",
        ]
    if action in ("search", "fetch"):
        client.examine(args.mailbox)
    else:
        client.select(args.mailbox)
    phase.name = "message"
    if action == "search":
        found = client.search(*criteria(args.criteria))
        return [" ".join(map(str, found)) if found else "(no messages match)"]
    if action == "fetch":
        result = client.fetch(args.uids, list(args.items or DEFAULT_ITEMS))
        if not result:
            raise Missing("message", f"no message with UID {args.uids} in {args.mailbox}")
        return _fetch_lines(result, args.output)
    if action == "move":
        # UID MOVE of UIDs that are not there is an OK that moved nothing
        # (RFC 9051 §6.4.9): look first, so that case is reported as such.
        if not client.search("UID", args.uids):
            raise Missing("message", f"no message with UID {args.uids} in {args.mailbox}")
        moved = client.move(args.uids, args.destination)
        if moved is None:
            return [f"moved to {args.destination} (the server gave no COPYUID)"]
        return [
            f"moved to {args.destination}: UIDs {moved.source} are now {moved.destination} "
            f"(UIDVALIDITY {moved.uidvalidity})"
        ]
    _idle(client, args.seconds)
    return []


def run_imap(args: argparse.Namespace) -> int:
    """Run ``mailwire imap``; returns the exit status."""
    from mailwire.imap import Client
    from mailwire.tls import TLSMode

    message: bytes | None = None
    try:
        secret = password(args)
        context = ssl_context(args)
        if args.action == "append":
            with open(args.file, "rb") as file:
                message = file.read()
        if args.action == "search":  # refused before connecting (S16)
            from mailwire.imap.search import compile_criteria

            compile_criteria(criteria(args.criteria))
    except (OSError, ValueError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT["input"]
    transcript = make_transcript(args, "imap")
    client = Client(
        args.server,
        args.port,
        tls=TLSMode(args.tls),
        ssl_context=context,
        timeout=args.timeout,
        allow_plaintext_auth=args.allow_plaintext_auth,
        transcript=transcript,
    )

    def session(phase: Phase) -> list[str]:
        client.connect()
        if args.user is not None:
            phase.name = "auth"
            assert secret is not None
            caps = client.capabilities
            if args.login_command or (not args.mechanism and caps is not None and not caps.auth):
                client.login(args.user, secret)
            else:
                client.authenticate(args.mechanism, username=args.user, password=secret)
        phase.name = "mailbox"
        try:
            lines = _act(client, args, phase, message)
        except errors.IMAPStatusError as exc:
            if exc.code in ("TRYCREATE", "NONEXISTENT"):
                phase.name = "mailbox"
            raise
        phase.name = "protocol"
        client.logout()
        return lines

    def cleanup() -> None:
        # After a NO the session is still usable: end it properly.
        with contextlib.suppress(errors.MailwireError, OSError):
            client.logout()
        client.disconnect()

    return run_session(PROG, args, transcript, session, cleanup)
