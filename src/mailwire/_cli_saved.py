"""The ``replay`` and ``export`` subcommands: work on a saved session.

Kept apart from :mod:`mailwire.cli` so that the commands which talk to a
server and the commands which read a file can grow independently.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["add_saved_parsers", "run_export", "run_replay"]

# The same numbers as mailwire.cli.EXIT (imported there, so not imported here).
_EXIT_OK = 0
_EXIT_USAGE = 2


def add_saved_parsers(sub: Any) -> None:
    """Add ``replay`` and ``export`` to the ``mailwire`` subparsers."""
    replay = sub.add_parser("replay", help="step through a saved session in a fresh core")
    replay.add_argument("path", help="a transcript saved as C:/S: text or JSON Lines")
    replay.add_argument("--step", action="store_true", help="wait for Enter after each step")
    replay.add_argument("--protocol", choices=["smtp", "lmtp"], default="smtp")

    export = sub.add_parser("export", help="write a saved session in another form")
    export.add_argument("path", help="a transcript saved as C:/S: text or JSON Lines")
    export.add_argument(
        "--to", choices=["pcapng", "jsonl", "html", "mermaid", "text"], required=True
    )
    export.add_argument("--output", "-o", help="output file (default: standard output)")
    export.add_argument("--protocol", choices=["smtp", "lmtp", "pop3", "imap"], default="smtp")


def run_replay(args: argparse.Namespace) -> int:
    from mailwire.smtp import replay
    from mailwire.transcript import Transcript

    transcript = Transcript.load(args.path)
    for step in replay(transcript, lmtp=args.protocol == "lmtp"):
        print(step)
        if args.step:
            try:
                input("-- Enter for the next step, Ctrl-D to stop -- ")
            except EOFError:
                print()
                break
    return _EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from mailwire.transcript import Transcript

    transcript = Transcript.load(args.path)
    transcript.protocol = args.protocol
    if args.to == "pcapng":
        if not args.output:
            print("mailwire export: pcapng needs --output FILE", file=sys.stderr)
            return _EXIT_USAGE
        frames = transcript.export_pcapng(args.output)
        print(f"wrote {frames} frames to {args.output} (secrets masked)", file=sys.stderr)
        return _EXIT_OK
    renderers: dict[str, Callable[[], str]] = {
        "jsonl": transcript.to_jsonl,
        "html": transcript.to_html,
        "mermaid": transcript.to_mermaid,
        "text": transcript.render,
    }
    text = renderers[args.to]()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
    else:
        sys.stdout.write(text)
    return _EXIT_OK
