"""The ``replay`` and ``export`` subcommands: work on a saved session.

Kept apart from :mod:`mailwire.cli` so that the commands which talk to a
server and the commands which read a file can grow independently.

Both read a transcript saved as C:/S: text or JSON Lines and work out which
protocol it speaks (:func:`mailwire._transcript_protocol.guess_protocol`:
the greeting, else the first command); ``--protocol`` overrides the guess.
``replay`` steps the session through a fresh core of that protocol;
``export`` writes it in another form (pcapng on that protocol's port).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from mailwire._transcript_protocol import PROTOCOLS

if TYPE_CHECKING:
    from mailwire.transcript import Transcript

__all__ = ["add_saved_parsers", "run_export", "run_replay"]

# The same numbers as mailwire.cli.EXIT (imported there, so not imported here).
_EXIT_OK = 0
_EXIT_USAGE = 2
_EXIT_INPUT = 10

_PROMPT = "-- Enter for the next step, Ctrl-D to stop -- "


def add_saved_parsers(sub: Any) -> None:
    """Add ``replay`` and ``export`` to the ``mailwire`` subparsers."""
    guessed = "default: the one the transcript speaks (its greeting, else its first command)"
    replay = sub.add_parser("replay", help="step through a saved session in a fresh core")
    replay.add_argument("path", help="a transcript saved as C:/S: text or JSON Lines")
    replay.add_argument("--step", action="store_true", help="wait for Enter after each step")
    replay.add_argument("--protocol", choices=PROTOCOLS, default=None, help=guessed)

    export = sub.add_parser("export", help="write a saved session in another form")
    export.add_argument("path", help="a transcript saved as C:/S: text or JSON Lines")
    export.add_argument(
        "--to", choices=["pcapng", "jsonl", "html", "mermaid", "text"], required=True
    )
    export.add_argument("--output", "-o", help="output file (default: standard output)")
    export.add_argument("--protocol", choices=PROTOCOLS, default=None, help=guessed)


def _load(args: argparse.Namespace, command: str) -> tuple[Transcript, str] | int:
    """The transcript and its protocol, or an exit status after a message."""
    from mailwire._transcript_protocol import guess_protocol
    from mailwire.transcript import Transcript

    try:
        transcript = Transcript.load(args.path)
    except OSError as exc:
        print(f"mailwire {command}: cannot read {args.path}: {exc.strerror}", file=sys.stderr)
        return _EXIT_INPUT
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"mailwire {command}: {args.path} is not a transcript: {exc}", file=sys.stderr)
        return _EXIT_INPUT
    protocol = args.protocol or guess_protocol(transcript)
    if protocol is None:
        print(
            f"mailwire {command}: cannot tell which protocol {args.path} speaks; "
            f"say it with --protocol {{{','.join(PROTOCOLS)}}}",
            file=sys.stderr,
        )
        return _EXIT_USAGE
    transcript.protocol = protocol
    return transcript, protocol


def _steps(transcript: Transcript, protocol: str) -> Iterator[object]:
    if protocol == "pop3":
        from mailwire import pop3

        return pop3.replay(transcript)
    if protocol == "imap":
        from mailwire.imap._replay import replay

        return replay(transcript)
    from mailwire import smtp

    return smtp.replay(transcript, lmtp=protocol == "lmtp")


def run_replay(args: argparse.Namespace) -> int:
    loaded = _load(args, "replay")
    if isinstance(loaded, int):
        return loaded
    transcript, protocol = loaded
    try:
        print(f"# replaying {args.path} as {protocol.upper()} through a fresh core")
        for step in _steps(transcript, protocol):
            print(step, flush=True)
            if args.step:
                try:
                    input(_PROMPT)
                except EOFError:  # Ctrl-D: stop here
                    print()
                    break
    except BrokenPipeError:  # the reader went away (| head): nothing left to say
        _quiet_stdout()
    return _EXIT_OK


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit does not fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def run_export(args: argparse.Namespace) -> int:
    loaded = _load(args, "export")
    if isinstance(loaded, int):
        return loaded
    transcript, protocol = loaded
    if args.to == "pcapng":
        if not args.output:
            print("mailwire export: pcapng needs --output FILE", file=sys.stderr)
            return _EXIT_USAGE
        frames = transcript.export_pcapng(args.output)
        print(
            f"wrote {frames} frames of {protocol.upper()} to {args.output} (secrets masked)",
            file=sys.stderr,
        )
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
