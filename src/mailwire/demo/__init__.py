"""``mailwire demo``: a mail lab on loopback, and three exchanges to watch.

One command, no account anywhere, no root, no question asked::

    pip install "mailwire[lab]"
    mailwire demo

starts real mail servers on 127.0.0.1 (ports the kernel picks, certificates
from a CA made for this run), has alice send bob a message with an
attachment over SMTP (STARTTLS, then AUTH), has bob read it back over POP3
(implicit TLS) and over IMAP (STARTTLS), prints each exchange as an annotated
transcript with the secrets redacted, and says where to go next. It stops
every server it started before it exits, on success, failure or Ctrl-C.

The servers (``--servers``):

- ``python`` (the default): aiosmtpd for SMTP submission, delivering into
  Maildirs; pymap for IMAP and Twisted's POP3 server (with a small adapter)
  over the same Maildirs. They come with the ``lab`` extra, never with
  mailwire itself, and run as threads of the demo's own process.
- ``system``: Dovecot (IMAP, POP3, and LMTP delivery) and Postfix
  (submission), where they are installed. Postfix runs only as root.

Options: ``--step`` pauses before each exchange (Enter goes on, ``q``
stops); ``--save DIR`` writes the three transcripts there (text form,
secrets redacted) for ``mailwire replay`` and ``mailwire export``;
``--keep`` leaves the lab running after the exchanges, until Ctrl-C.

Exit status: 0 when every exchange worked; 1 when one failed; 12 when the
lab could not start (not installed, not allowed, or broken; the message says
which and what to do); 130 when stopped by Ctrl-C or ``q``.

The lab's servers are imported only when a lab starts: ``import mailwire``
and ``import mailwire.demo`` need none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_LAB", "EXIT_OK", "run"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_LAB = 12
EXIT_INTERRUPTED = 130


def run(
    *,
    servers: str = "python",
    step: bool = False,
    save: str | Path | None = None,
    keep: bool = False,
    stdout: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the demo; returns the exit status (see the module docstring).

    Args:
        servers: ``"python"`` (aiosmtpd, pymap, Twisted) or ``"system"``
            (Dovecot and Postfix).
        step: pause before each exchange, reading a line from ``stdin``.
        save: a directory for the transcripts (created if missing).
        keep: leave the lab running after the exchanges, until Ctrl-C.
        stdout, stdin: where to print and read (the process's by default).
    """
    from mailwire.demo._main import main

    return main(servers=servers, step=step, save=save, keep=keep, stdout=stdout, stdin=stdin)
