"""What the server subcommands of ``mailwire`` share: options, passwords, phases, output.

``send``, ``pop3`` and ``imap`` take the same connection options, read the
password the same way (a prompt, ``--password-env VAR`` or ``--password-file
FILE``; never the command line), print the exchange the same way and name the
phase that failed in the exit status (:data:`EXIT`).
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import ssl
import sys
from collections.abc import Callable
from typing import IO

from mailwire import errors
from mailwire.transcript import Transcript, use_color

__all__ = [
    "EXIT",
    "Missing",
    "Phase",
    "add_connection_args",
    "add_mechanism_arg",
    "add_output_args",
    "color_for",
    "failed_phase",
    "make_transcript",
    "message_lines",
    "password",
    "printable",
    "report",
    "run_session",
    "show",
    "ssl_context",
    "write_exchange",
]

#: Exit status by phase: 0 is success, 2 a usage error (argparse's own).
EXIT = {
    "ok": 0,
    "usage": 2,
    "connect": 3,
    "tls": 4,
    "auth": 5,
    "envelope": 6,
    "data": 7,
    "unknown": 8,
    "protocol": 9,
    "input": 10,
    "mailbox": 11,
    "message": 12,
    "interrupted": 130,
}


def add_connection_args(parser: argparse.ArgumentParser, *, ports: str) -> None:
    """``--server``, ``--port``, ``--tls``, ``--cafile`` and the login options."""
    parser.add_argument("--server", required=True, help="server host name or address")
    parser.add_argument("--port", type=int, help="port (default: by --tls mode)")
    parser.add_argument(
        "--tls",
        choices=["implicit", "starttls", "plain"],
        default="implicit",
        help=f"implicit TLS (the default), STARTTLS, or plain; {ports}",
    )
    parser.add_argument("--cafile", help="trust these CA certificates instead of the system's")
    parser.add_argument("--user", help="authenticate as this user")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--password-env", metavar="VAR", help="read the password from $VAR")
    secret.add_argument("--password-file", metavar="FILE", help="read the password from FILE")
    parser.add_argument(
        "--allow-plaintext-auth", action="store_true", help="allow authentication without TLS"
    )


def add_output_args(parser: argparse.ArgumentParser, *, styles: tuple[str, ...]) -> None:
    """``--style``, ``--color``, ``--save``, ``--show-sasl`` and ``--timeout``."""
    parser.add_argument(
        "--style",
        choices=list(styles),
        default="annotated",
        help="how to print the exchange (default: annotated)",
    )
    parser.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour the exchange by reply class; auto: only on a terminal, and "
        "never with NO_COLOR set or TERM=dumb (FORCE_COLOR forces it)",
    )
    parser.add_argument("--save", metavar="FILE", help="also save the transcript (text)")
    parser.add_argument(
        "--show-sasl",
        action="store_true",
        help="show SASL exchanges decoded (passwords and proofs stay masked); "
        "only for a server on loopback (127.0.0.0/8, ::1)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per network wait")


def password(args: argparse.Namespace) -> str | None:
    """The password for ``--user``: from ``--password-env``, ``--password-file`` or a prompt.

    Raises:
        ValueError: the variable is not set.
        OSError: the file cannot be read.
    """
    if args.user is None:
        return None
    if args.password_env:
        value = os.environ.get(args.password_env)
        if value is None:
            raise ValueError(f"${args.password_env} is not set")
        return value
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as file:
            return file.read().rstrip("\r\n")
    return getpass.getpass(f"password for {args.user}: ")


def ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    """A context trusting ``--cafile``, or ``None`` for the system's."""
    from mailwire.tls import create_context

    return create_context(cafile=args.cafile) if args.cafile else None


def make_transcript(args: argparse.Namespace, protocol: str) -> Transcript:
    """The transcript to record into (decoded SASL on loopback with ``--show-sasl``)."""
    transcript = Transcript(reveal_sasl_on_loopback=bool(getattr(args, "show_sasl", False)))
    transcript.protocol = protocol
    return transcript


def color_for(args: argparse.Namespace, stream: IO[str]) -> bool:
    """``--color``: always, never, or auto (the environment and whether ``stream`` is a tty)."""
    choice = getattr(args, "color", "auto")
    if choice == "always":
        return True
    if choice == "never":
        return False
    return use_color(stream)


def write_exchange(transcript: Transcript, args: argparse.Namespace) -> None:
    """Print the exchange in ``--style`` (unless ``none``) and save it with ``--save``.

    With ``--show-sasl`` and a peer that is not on loopback, say on stderr
    why nothing was decoded.
    """
    if getattr(args, "show_sasl", False) and transcript.peer and not transcript.sasl_decoded:
        print(
            f"mailwire: --show-sasl: {transcript.peer} is not a loopback address, "
            "so SASL payloads stay redacted",
            file=sys.stderr,
        )
    if args.style != "none":
        out = sys.stdout
        out.write(transcript.render(style=args.style, color=color_for(args, out)))
        out.flush()
    if args.save:
        with open(args.save, "w", encoding="utf-8") as file:
            file.write(transcript.render())


class Missing(errors.MailwireError):
    """What the command asked for is not there (a message, a mailbox); ``phase`` says which."""

    def __init__(self, phase: str, message: str) -> None:
        super().__init__(message)
        self.phase = phase


def failed_phase(exc: BaseException, phase: str) -> str:
    """The phase to report for ``exc``, raised while in ``phase``.

    TLS failures (a refused certificate, a failed handshake, STARTTLS not
    obtained) are ``tls`` wherever they happen, except a refusal to
    authenticate without TLS, which is ``auth``; a refused login is ``auth``;
    a connection that could not be made is ``connect``; caller input mailwire
    refused (CR, LF, NUL, a bad criterion) is ``input``; anything else that
    breaks the session after it was set up is ``protocol``.
    """
    if isinstance(exc, Missing):
        return exc.phase
    if isinstance(exc, errors.AuthenticationError):
        return "auth"
    if isinstance(exc, errors.SecurityError):
        return "auth" if phase == "auth" else "tls"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, errors.NotSupportedError) and phase == "auth":
        return "auth"
    if isinstance(exc, errors.CommandError):
        return phase if phase in ("connect", "auth", "mailbox", "message") else "protocol"
    if isinstance(exc, ValueError):
        return "input"
    if phase == "connect":
        return "connect"
    return "protocol"


def report(prog: str, phase: str, exc: BaseException) -> int:
    """Print why ``prog`` failed in ``phase`` on stderr; return the exit status.

    The error text may quote the server, so it is escaped like a result.
    """
    print(f"{prog}: {phase} failed: {type(exc).__name__}: {printable(str(exc))}", file=sys.stderr)
    return EXIT[phase]


_CONTROL = re.compile(r"[^\x20-\x7e]")


def printable(text: str) -> str:
    """``text`` with control, bidi and invalid bytes escaped (S41).

    Unlike the transcript syntax, a backslash stays as it is (``\\Seen``):
    a result is for reading, not for loading back.
    """
    from mailwire._transcript_escape import _escape_char

    return _CONTROL.sub(_escape_char, text)


def show(text: str) -> None:
    """Print one result line, escaped with :func:`printable`."""
    print(printable(text))


def add_mechanism_arg(parser: argparse.ArgumentParser, extra: str = "") -> None:
    """``--mechanism NAME``: one SASL mechanism instead of the automatic choice."""
    parser.add_argument(
        "--mechanism",
        metavar="NAME",
        type=str.upper,
        help="use this SASL mechanism (default: the strongest both sides support)" + extra,
    )


class Phase:
    """Where a session is: ``connect``, ``auth``, ``mailbox``, ``message``, ``protocol``."""

    __slots__ = ("name",)

    def __init__(self) -> None:
        self.name = "connect"


def run_session(
    prog: str,
    args: argparse.Namespace,
    transcript: Transcript,
    session: Callable[[Phase], list[str]],
    cleanup: Callable[[], None],
) -> int:
    """Run ``session``; print the exchange, then its result lines; return the exit status.

    ``session`` moves the phase along as it goes and returns the lines to
    print (escaped, so nothing a server sent can drive the terminal). On a
    failure the exchange is printed, then why, on stderr.
    """
    phase = Phase()
    failure: tuple[str, BaseException] | None = None
    failure_status = EXIT["ok"]
    lines: list[str] = []
    try:
        lines = session(phase)
    except (errors.MailwireError, OSError, ValueError) as exc:
        local_file = (
            isinstance(exc, OSError)
            and not isinstance(exc, errors.MailwireError | ssl.SSLError)
            and exc.filename is not None
        )
        failure = ("input" if local_file else failed_phase(exc, phase.name), exc)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        failure_status = EXIT["interrupted"]
    finally:
        cleanup()
    write_exchange(transcript, args)
    for line in lines:
        show(line)
    if failure is not None:
        return report(prog, *failure)
    return failure_status


def message_lines(data: bytes, output: str | None) -> list[str]:
    """A message for printing, or written to ``output`` (bytes exact) and a note."""
    if output:
        with open(output, "wb") as file:
            file.write(data)
        return [f"# wrote {len(data)} bytes to {output}"]
    text = data.decode("utf-8", "surrogateescape")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return lines[:-1] if lines and not lines[-1] else lines
