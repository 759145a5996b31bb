"""The ``mailwire`` command (also ``python -m mailwire``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailwire",
        description="Mail protocols from scratch: see what crosses the wire.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    show = sub.add_parser("transcript", help="render a saved transcript (text or JSON Lines)")
    show.add_argument("path", help="a transcript saved as C:/S: text or JSON Lines")
    show.add_argument(
        "--style",
        choices=["text", "annotated", "raw", "jsonl"],
        default="text",
        help="how to render it (default: text)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from mailwire import __version__

        print(f"mailwire {__version__}")
        return 0
    if args.command == "transcript":
        from mailwire.transcript import Transcript

        transcript = Transcript.load(args.path)
        if args.style == "jsonl":
            sys.stdout.write(transcript.to_jsonl())
        else:
            sys.stdout.write(transcript.render(style=args.style))
        return 0
    parser.print_help()
    return 2
