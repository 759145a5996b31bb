"""The ``mailwire`` command (also ``python -m mailwire``).

Subcommands:

- ``send``: one message over SMTP, step by step, in the spirit of swaks;
  ``--quit-after`` stops after a stage, and the exchange is printed.
- ``pop3 ACTION``: one POP3 session: ``stat``, ``list``, ``uidl``, ``retr N``,
  ``top N LINES`` or ``dele N`` (``mailwire._cli_pop3``).
- ``imap ACTION``: one IMAP session: ``list [PATTERN]``, ``select MAILBOX``,
  ``search MAILBOX CRITERIA...``, ``fetch MAILBOX UIDS``, ``append MAILBOX
  FILE``, ``move MAILBOX UIDS DEST`` or ``idle MAILBOX`` (``mailwire._cli_imap``).
- ``replay FILE``: a saved session re-fed through a fresh core, one step at
  a time (``--step`` waits for Enter between steps).
- ``export FILE --to pcapng|jsonl|html|mermaid|text``: another form of a
  saved session.
- ``explain CODE``: what an SMTP reply, enhanced status, IMAP or POP3 code
  means.
- ``transcript FILE``: render a saved session.
- ``demo``: start a mail lab on loopback, send a message over SMTP, read it
  back over POP3 and IMAP, and show each exchange (``mailwire.demo``).

``send``, ``pop3`` and ``imap`` share their options: ``--server``, ``--port``,
``--tls implicit|starttls|plain``, ``--cafile``, ``--user`` with the password
from a prompt, ``--password-env VAR`` or ``--password-file FILE`` (never the
command line; never printed), ``--allow-plaintext-auth``, ``--timeout``,
``--style`` of the printed exchange, ``--save FILE`` (the text transcript,
secrets redacted), ``--color auto|always|never`` and ``--show-sasl``.

Colour (``--color``, and ``transcript --color``): ``always`` and ``never``
mean what they say; ``auto``, the default, colours only when NO_COLOR is
unset or empty, and then always when FORCE_COLOR is set, never when
TERM=dumb, otherwise only when standard output is a terminal. Lines are
coloured by reply class: SMTP 2xx, 3xx, 4xx, 5xx; POP3 +OK, -ERR and ``+``;
IMAP OK, NO, BAD, BYE, PREAUTH and ``+``; the client's lines in their own
colour.

``--show-sasl`` records the SASL exchange decoded, as ``# event: SASL ...``
lines, only when the server's address is on loopback (127.0.0.0/8, ::1):
user names, SCRAM nonces, salts and iteration counts are shown, passwords,
tokens, SCRAM proofs and CRAM-MD5 digests never. Elsewhere the payloads stay
``<redacted N bytes>``.

Exit status (``EXIT``), by the phase that failed:

===========  ====  ==========================================================
ok           0     every step worked
usage        2     the command line was wrong (argparse)
connect      3     no connection, or no greeting
tls          4     the certificate was refused, TLS could not be set up
auth         5     the login was refused or could not be tried safely
envelope     6     ``send``: MAIL FROM or RCPT TO refused
data         7     ``send``: the message content refused
unknown      8     ``send``: lost after the end of data; delivery unknown
protocol     9     the session broke (unexpected reply, lost connection)
input        10    a password, file or argument could not be used
mailbox      11    ``imap``: the mailbox (or ``move``'s destination) refused
message      12    ``pop3``/``imap``: the message is not there or was refused
interrupted  130   Ctrl-C (``imap idle`` ends cleanly at Ctrl-C and exits 0)
===========  ====  ==========================================================
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from mailwire._cli_common import (
    EXIT,
    add_output_args,
    color_for,
    make_transcript,
    write_exchange,
)
from mailwire._cli_common import password as _password
from mailwire._cli_imap import add_imap_parser, run_imap
from mailwire._cli_pop3 import add_pop3_parser, run_pop3
from mailwire._cli_saved import add_saved_parsers, run_export, run_replay

__all__ = ["EXIT", "main"]

STAGES = ("CONNECT", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA")


def _add_send(sub: Any) -> None:
    send = sub.add_parser("send", help="send a message over SMTP and show the exchange")
    send.add_argument("--server", required=True, help="SMTP server host name or address")
    send.add_argument("--port", type=int, help="port (default: by --tls mode)")
    send.add_argument(
        "--tls",
        choices=["implicit", "starttls", "plain"],
        default="implicit",
        help="implicit TLS (default, port 465), STARTTLS (587), or plain (25)",
    )
    send.add_argument("--cafile", help="trust these CA certificates instead of the system's")
    send.add_argument("--user", help="authenticate as this user")
    secret = send.add_mutually_exclusive_group()
    secret.add_argument("--password-env", metavar="VAR", help="read the password from $VAR")
    secret.add_argument("--password-file", metavar="FILE", help="read the password from FILE")
    send.add_argument("--allow-plaintext-auth", action="store_true", help="allow AUTH without TLS")
    send.add_argument("--from", dest="sender", required=True, help="sender address")
    send.add_argument("--to", action="append", default=[], help="recipient (repeatable)")
    send.add_argument("--cc", action="append", default=[], help="copy recipient")
    send.add_argument("--bcc", action="append", default=[], help="blind copy recipient")
    send.add_argument("--subject", default="mailwire test", help="subject")
    send.add_argument("--body", default="Sent with mailwire.\n", help="plain-text body")
    send.add_argument("--html", help="an HTML body as well")
    send.add_argument("--attach", action="append", default=[], help="attach a file")
    send.add_argument("--quit-after", choices=STAGES, type=str.upper, help="stop after this stage")
    add_output_args(send, styles=("text", "annotated", "raw"))


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailwire",
        description="Mail protocols from scratch: see what crosses the wire.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_send(sub)
    add_pop3_parser(sub)
    add_imap_parser(sub)

    add_saved_parsers(sub)

    explain = sub.add_parser("explain", help="what a reply or response code means")
    explain.add_argument("code", help="e.g. 550, 5.1.1, TRYCREATE, IN-USE")

    demo = sub.add_parser(
        "demo", help="run a mail lab on loopback and watch SMTP, POP3 and IMAP exchanges"
    )
    demo.add_argument(
        "--servers",
        choices=["python", "system"],
        default="python",
        help="python: aiosmtpd, pymap, Twisted (pip install 'mailwire[lab]', the default); "
        "system: the installed Dovecot and Postfix (root)",
    )
    demo.add_argument("--step", action="store_true", help="pause before each exchange")
    demo.add_argument("--save", metavar="DIR", help="also save the transcripts in DIR")
    demo.add_argument(
        "--keep", action="store_true", help="keep the lab running afterwards, until Ctrl-C"
    )

    show = sub.add_parser("transcript", help="render a saved transcript (text or JSON Lines)")
    show.add_argument("path", help="a transcript saved as C:/S: text or JSON Lines")
    show.add_argument(
        "--style",
        choices=["text", "annotated", "raw", "jsonl"],
        default="text",
        help="how to render it (default: text)",
    )
    show.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour by reply class (auto: on a terminal, as NO_COLOR, FORCE_COLOR, TERM say)",
    )
    return parser


def _message(args: argparse.Namespace) -> Any:
    import email.message
    import mimetypes
    import pathlib

    msg = email.message.EmailMessage()
    msg["From"] = args.sender
    if args.to:
        msg["To"] = ", ".join(args.to)
    if args.cc:
        msg["Cc"] = ", ".join(args.cc)
    msg["Subject"] = args.subject
    msg.set_content(args.body)
    if args.html:
        msg.add_alternative(args.html, subtype="html")
    for name in args.attach:
        path = pathlib.Path(name)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        msg.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    return msg


def _send(args: argparse.Namespace) -> int:
    from mailwire import errors, smtp
    from mailwire.smtp import Data, MailFrom, Quit, RcptTo, _flows
    from mailwire.tls import TLSMode, create_context

    recipients = args.to + args.cc + args.bcc
    if not recipients:
        print("mailwire send: give at least one --to, --cc or --bcc", file=sys.stderr)
        return EXIT["usage"]
    try:
        password = _password(args)
    except (OSError, ValueError) as exc:
        print(f"mailwire send: {exc}", file=sys.stderr)
        return EXIT["input"]
    context = create_context(cafile=args.cafile) if args.cafile else None
    client = smtp.Client(
        args.server,
        args.port,
        tls=TLSMode(args.tls),
        ssl_context=context,
        timeout=args.timeout,
        allow_plaintext_auth=args.allow_plaintext_auth,
        transcript=make_transcript(args, "smtp"),
    )
    phase = "connect"
    status = EXIT["ok"]
    stop = args.quit_after
    try:
        client._driver.connect()
        client._set_local_name(client._driver.sockname)
        conn = client.connection
        if stop != "CONNECT":
            phase = "protocol"
            client._run(_flows.greet(conn, client.local_hostname))
            if client.tls is TLSMode.STARTTLS and stop != "EHLO":
                phase = "tls"
                client._run(_flows.starttls(conn, client.local_hostname, None))
        if stop not in ("CONNECT", "EHLO", "STARTTLS") and args.user:
            phase = "auth"
            client.login(args.user, password)
        if stop in ("MAIL", "RCPT", "DATA"):
            phase = "envelope"
            client._run(_flows.command(conn, MailFrom(args.sender)))
            if stop in ("RCPT", "DATA"):
                for rcpt in recipients:
                    client._run(_flows.command(conn, RcptTo(rcpt)))
            if stop == "DATA":
                phase = "data"
                reply = client._run(_flows.command(conn, Data()))
                if reply.code == 354:
                    client.close()  # stop before any content: nothing is delivered
        elif stop is None:
            phase = "envelope"
            result = client.send_message(_message(args), sender=args.sender, recipients=recipients)
            for address, reply in result.refused.items():
                print(f"refused: {address}: {reply}", file=sys.stderr)
        if client._driver.is_open:
            client._run(_flows.command(conn, Quit()))
            client.close()
    except errors.OutcomeUnknown as exc:
        status = EXIT["unknown"]
        print(f"mailwire send: {exc}", file=sys.stderr)
    except errors.MailwireError as exc:
        if isinstance(exc, errors.AuthenticationError):
            phase = "auth"
        elif isinstance(exc, errors.SecurityError):
            phase = "tls"
        elif isinstance(exc, errors.SMTPReplyError) and phase == "envelope":
            phase = "data" if (exc.command or "").startswith(("end", "DATA", "BDAT")) else phase
        status = EXIT.get(phase, EXIT["protocol"])
        print(f"mailwire send: {phase} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    except (OSError, ValueError) as exc:  # certificate problems, bad input
        status = EXIT["tls"] if "certificate" in str(exc).lower() else EXIT["input"]
        print(f"mailwire send: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        client.close()
    write_exchange(client.transcript, args)
    return status


def _explain(args: argparse.Namespace) -> int:
    from mailwire._explain import explain

    text = explain(args.code)
    if text is None:
        print(f"mailwire explain: {args.code!r} is not a code known here", file=sys.stderr)
        return EXIT["input"]
    print(text)
    return EXIT["ok"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from mailwire import __version__

        print(f"mailwire {__version__}")
        return EXIT["ok"]
    if args.command == "send":
        return _send(args)
    if args.command == "pop3":
        return run_pop3(args)
    if args.command == "imap":
        return run_imap(args)
    if args.command == "replay":
        return run_replay(args)
    if args.command == "export":
        return run_export(args)
    if args.command == "explain":
        return _explain(args)
    if args.command == "demo":
        from mailwire import demo

        return demo.run(servers=args.servers, step=args.step, save=args.save, keep=args.keep)
    if args.command == "transcript":
        from mailwire.transcript import Transcript

        transcript = Transcript.load(args.path)
        if args.style == "jsonl":
            sys.stdout.write(transcript.to_jsonl())
        else:
            color = color_for(args, sys.stdout)
            sys.stdout.write(transcript.render(style=args.style, color=color))
        return EXIT["ok"]
    parser.print_help()
    return EXIT["usage"]
