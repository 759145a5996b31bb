"""What the demo prints: the lab banner, each exchange, the summary, what next.

Everything goes to one text stream, flushed after each piece so that a
learner (or a pipe, or a pseudo-terminal) sees each exchange as it happens.
Nothing printed here contains a password: the banner names the accounts
only, and transcripts are rendered with their secrets redacted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from mailwire.demo._lab import Lab
from mailwire.demo._scenario import ATTACHMENT_NAME, StepResult

__all__ = ["Printer"]

RULE = "-" * 78

#: What to look for in each exchange, for someone who has never seen one.
WATCH = {
    "smtp": [
        "the 220 greeting, then EHLO: the server lists its extensions (RFC 5321 §4.1.1.1)",
        "STARTTLS, then a second EHLO inside TLS (RFC 3207 §4.2): AUTH appears only now",
        "AUTH: the credentials are redacted here, and were encrypted on the wire",
        "MAIL FROM / RCPT TO are the envelope; DATA carries the message, headers first,",
        f"  then MIME parts: the text and {ATTACHMENT_NAME} in base64 (RFC 2045 §6.8)",
        "the 250 after the lone '.' means the server now has the message (RFC 5321 §4.1.1.4)",
    ],
    "pop3": [
        "implicit TLS: the handshake comes first, so even the greeting is encrypted (RFC 8314)",
        "a <...> in the greeting is an APOP timestamp (RFC 1939 §7); CAPA lists extensions",
        "the login: SASL AUTH PLAIN (RFC 5034) when offered, else USER and PASS; redacted",
        "STAT gives the count and size of the maildrop; UIDL a stable id for each message",
        "RETR sends one message, ended by a line holding a lone '.' (RFC 1939 §3)",
        "the Return-Path and Received lines on top were added on delivery (RFC 5321 §4.4)",
    ],
    "imap": [
        "every command starts with a tag; the server ends its answer with the same tag",
        "lines starting with '*' are untagged data: capabilities, mailbox counts, results",
        "STARTTLS, then the login inside TLS (the password is redacted)",
        "SELECT opens INBOX; SEARCH finds the message; FETCH BODY.PEEK[] reads it",
        "  without marking it \\Seen, and ENVELOPE gives the parsed headers (RFC 3501 §7.4.2)",
    ],
}


class Printer:
    """Writes the demo's output to ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def say(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def title(self) -> None:
        self.say("mailwire demo: see what crosses the wire when mail is sent and read")
        self.say("=" * 70)
        self.say()

    def lab_ready(self, lab: Lab, seconds: float) -> None:
        where = "Dovecot and Postfix" if lab.kind == "system" else "Python servers from pip"
        self.say(f"The lab is up ({where}, on {lab.host} only) after {seconds:.2f} s:")
        width = max(len(listener.software) for listener in lab.listeners)
        for listener in lab.listeners:
            self.say(
                f"  {listener.protocol:<4}  {listener.software:<{width}}  "
                f"{lab.host}:{listener.port:<5}  {listener.security}"
            )
        self.say("  TLS: every server shows a certificate from a CA made for this run (trustme);")
        self.say("       mailwire's clients trust that CA only, and verify as on the Internet.")
        names = ", ".join(account.address for account in lab.accounts.values())
        self.say(f"  Accounts: {names}; their passwords are made for this run and")
        self.say("       never shown: every transcript below prints them as <redacted N bytes>.")
        self.say()

    def step_header(self, number: int, total: int, title: str, key: str) -> None:
        self.say(f"[{number}/{total}] {title}")
        for line in WATCH.get(key, []):
            # A line starting with spaces continues the one before it.
            self.say(f"    {line.strip()}" if line.startswith(" ") else f"  - {line}")

    def step_result(self, result: StepResult) -> None:
        if result.transcript is not None:
            self.say(RULE)
            self.stream.write(result.transcript.render(style="annotated"))
            self.say(RULE)
        for line in result.findings:
            self.say(f"  {line}")
        if result.ok:
            self.say(f"  ok ({result.seconds:.2f} s)")
        else:
            self.say(f"  FAILED: {result.error or 'see the transcript above'}")
        self.say()

    def summary(self, results: Sequence[StepResult], started: float, stopped: float | None) -> None:
        self.say("Summary")
        for result in results:
            mark = "ok    " if result.ok else "FAILED"
            detail = f"{result.seconds:.2f} s" if result.ok else (result.error or "")
            self.say(f"  {mark}  {result.key.upper():<4}  {detail}")
        timing = f"  lab: started in {started:.2f} s"
        if stopped is not None:
            timing += f", stopped in {stopped:.2f} s"
        self.say(timing)
        self.say()

    def saved(self, paths: Sequence[Path]) -> None:
        for path in paths:
            self.say(f"  saved {path} (secrets redacted)")
        if paths:
            self.say()

    def where_next(self, saved_dir: Path | None, kind: str) -> None:
        if saved_dir is not None:
            smtp_file = str(saved_dir / "smtp.txt")
            replay = [f"      mailwire replay {smtp_file} --step"]
        else:
            smtp_file = "DIR/smtp.txt"
            replay = ["      mailwire demo --save DIR", f"      mailwire replay {smtp_file} --step"]
        lines = [
            "Where next",
            "  - Keep the transcripts and step through one, event by event, in a fresh",
            "    protocol core (what each line meant, the state before and after, the RFC):",
            *replay,
            "  - Draw a transcript as a sequence diagram (a page with no external links):",
            f"      mailwire export {smtp_file} --to html -o smtp.html",
            "  - Look up any reply you saw:  mailwire explain 334   mailwire explain 5.7.0",
            "  - Keep the lab running and send your own mail to it with mailwire send:",
            "      mailwire demo --keep",
        ]
        if kind != "system":
            lines += [
                "  - The same exchanges with Dovecot and Postfix, where installed (as root):",
                "      mailwire demo --servers system",
            ]
        lines += [
            "  - Then a real provider: `mailwire send --help` shows the options (TLS mode,",
            "    login, attachments); use an app password, never your main one.",
        ]
        for line in lines:
            self.say(line)
