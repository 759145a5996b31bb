"""``mailwire pop3``: one POP3 session, one action, the exchange printed.

Actions: ``stat``, ``list``, ``uidl``, ``retr N``, ``top N LINES`` and
``dele N`` (the deletion is committed by the QUIT that ends the session,
RFC 1939 §6). The exchange is printed first, then the result. Exit status
(``mailwire.cli.EXIT``): ``connect``, ``tls``, ``auth``; ``message`` when the
server refuses the action (``-ERR``: no such message); ``protocol`` when the
session broke; ``input`` for a password or file that could not be read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mailwire._cli_common import (
    EXIT,
    Phase,
    add_connection_args,
    add_mechanism_arg,
    add_output_args,
    make_transcript,
    message_lines,
    password,
    run_session,
    ssl_context,
)

__all__ = ["add_pop3_parser", "run_pop3"]

PROG = "mailwire pop3"


def add_pop3_parser(sub: Any) -> None:
    """Add ``pop3`` to the ``mailwire`` subparsers."""
    pop3 = sub.add_parser("pop3", help="read a mailbox over POP3 and show the exchange")
    add_connection_args(pop3, ports="ports 995, 110 and 110")
    add_mechanism_arg(pop3, '; "USER" for USER/PASS, "APOP" for APOP')
    add_output_args(pop3, styles=("text", "annotated", "raw", "none"))
    actions = pop3.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("stat", help="STAT: the number of messages and their total size")
    actions.add_parser("list", help="LIST: each message's number and size")
    actions.add_parser("uidl", help="UIDL: each message's number and unique id")
    retr = actions.add_parser("retr", help="RETR N: one whole message")
    retr.add_argument("number", type=int, help="the message number (from list)")
    retr.add_argument("--output", "-o", metavar="FILE", help="write the message to FILE")
    top = actions.add_parser("top", help="TOP N LINES: the header and the first body lines")
    top.add_argument("number", type=int, help="the message number (from list)")
    top.add_argument("lines", type=int, help="how many body lines")
    top.add_argument("--output", "-o", metavar="FILE", help="write the result to FILE")
    dele = actions.add_parser("dele", help="DELE N: delete a message (at the QUIT)")
    dele.add_argument("number", type=int, help="the message number (from list)")


def _act(client: Any, args: argparse.Namespace) -> list[str]:
    action = args.action
    if action == "stat":
        count, octets = client.stat()
        return [f"{count} messages, {octets} octets"]
    if action == "list":
        return [f"{number} {octets}" for number, octets in client.list().items()]
    if action == "uidl":
        return [f"{number} {uid}" for number, uid in client.uidl().items()]
    if action == "retr":
        return message_lines(client.retrieve(args.number), args.output)
    if action == "top":
        return message_lines(client.top(args.number, args.lines), args.output)
    client.delete(args.number)
    return [f"message {args.number} marked deleted; the QUIT removed it"]


def run_pop3(args: argparse.Namespace) -> int:
    """Run ``mailwire pop3``; returns the exit status."""
    from mailwire.pop3 import Client
    from mailwire.tls import TLSMode

    if args.user is None:  # every action needs the TRANSACTION state (RFC 1939 §5)
        print(f"{PROG}: give --user: every action needs a login", file=sys.stderr)
        return EXIT["usage"]
    try:
        secret = password(args)
        context = ssl_context(args)
    except (OSError, ValueError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT["input"]
    transcript = make_transcript(args, "pop3")
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
        phase.name = "auth"
        mechanisms = [args.mechanism] if args.mechanism else None
        client.login(args.user, secret, mechanisms=mechanisms)
        phase.name = "message"
        lines = _act(client, args)
        phase.name = "protocol"
        client.quit()
        return lines

    return run_session(PROG, args, transcript, session, client.close)
