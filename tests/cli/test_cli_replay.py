"""``mailwire replay`` and ``mailwire export`` on saved SMTP, POP3 and IMAP sessions.

The sessions are recorded against the lab (aiosmtpd for SMTP, Dovecot for
POP3 and IMAP) and saved as text or JSON Lines. The CLI runs as a separate
process (``python -m mailwire``), with no ``--protocol``: it must tell the
protocol from the transcript. Step mode is driven through a pseudo-terminal,
as a person at a keyboard would: Enter for the next step, Ctrl-D to stop.
"""

from __future__ import annotations

import base64
import os
import pathlib
import pty
import select
import struct
import subprocess
import sys
import time
import uuid

import pytest

from mailwire import TLSMode, Transcript, imap, pop3, smtp
from tests.lab import DovecotLab, SmtpLab
from tests.lab.accounts import ALICE

SECRETS = (
    ALICE.password,
    base64.b64encode(f"\0{ALICE.name}\0{ALICE.password}".encode()).decode(),
    base64.b64encode(ALICE.password.encode()).decode(),
)
MESSAGE = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: cli\r\n\r\nhi\r\n"


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailwire", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        check=False,
    )


def assert_no_secret(result: subprocess.CompletedProcess[str]) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout
        assert secret not in result.stderr


# ------------------------------------------------------------ recordings


def smtp_session(lab: SmtpLab) -> Transcript:
    with smtp.Client(
        lab.host, lab.starttls_port, tls=TLSMode.STARTTLS, ssl_context=lab.client_context()
    ) as client:
        client.login(ALICE.name, ALICE.password)
        client.send_message(MESSAGE)
    return client.transcript


def pop3_session(lab: DovecotLab) -> Transcript:
    lab.purge(ALICE)
    message_id = f"<{uuid.uuid4().hex}@cli-replay.test>"
    lab.seed(MESSAGE.replace(b"\r\n\r\n", f"\r\nMessage-ID: {message_id}\r\n\r\n".encode()), ALICE)
    lab.wait_for_message(ALICE, message_id)
    with pop3.Client(
        lab.host, lab.pop3_port, tls=TLSMode.STARTTLS, ssl_context=lab.client_context()
    ) as client:
        client.login(ALICE.name, ALICE.password)
        client.uidl()
        client.retrieve(1)
    return client.transcript


def imap_session(lab: DovecotLab) -> Transcript:
    with imap.Client(
        lab.host, lab.imaps_port, tls=TLSMode.IMPLICIT, ssl_context=lab.client_context()
    ) as client:
        client.login(ALICE.name, ALICE.password)
        client.select("INBOX")
        client.search("ALL")
        client.logout()
    return client.transcript


def save(transcript: Transcript, path: pathlib.Path, form: str) -> pathlib.Path:
    path.write_text(transcript.render() if form == "text" else transcript.to_jsonl())
    return path


# ------------------------------------------------------------- replay


@pytest.mark.parametrize("form", ["text", "jsonl"])
def test_replay_smtp(smtp_lab: SmtpLab, tmp_path: pathlib.Path, form: str) -> None:
    path = save(smtp_session(smtp_lab), tmp_path / "smtp.session", form)
    result = run("replay", str(path))
    assert result.returncode == 0, result.stderr
    assert "as SMTP" in result.stdout.splitlines()[0]
    assert "EHLO: INIT -> INIT (RFC 5321 §4.1.1.1)" in result.stdout
    assert "STARTTLS" in result.stdout
    assert "our writer would send" not in result.stdout
    assert "refuses" not in result.stdout
    assert_no_secret(result)


@pytest.mark.parametrize("form", ["text", "jsonl"])
def test_replay_pop3(dovecot_lab: DovecotLab, tmp_path: pathlib.Path, form: str) -> None:
    path = save(pop3_session(dovecot_lab), tmp_path / "pop3.session", form)
    result = run("replay", str(path))
    assert result.returncode == 0, result.stderr
    assert "as POP3" in result.stdout.splitlines()[0]
    # RFC 1939 §4 (greeting -> AUTHORIZATION), §5 (RETR), §6 (QUIT -> UPDATE).
    assert "greeting (RFC 1939 §4)" in result.stdout
    assert "GREETING -> AUTHORIZATION" in result.stdout
    assert "STLS: AUTHORIZATION -> STLS (RFC 2595 §4)" in result.stdout
    assert "RETR: TRANSACTION -> TRANSACTION (RFC 1939 §5)" in result.stdout
    assert "QUIT: TRANSACTION -> UPDATE" in result.stdout
    assert "our writer would send" not in result.stdout
    assert "refuses" not in result.stdout
    assert_no_secret(result)


@pytest.mark.parametrize("form", ["text", "jsonl"])
def test_replay_imap(dovecot_lab: DovecotLab, tmp_path: pathlib.Path, form: str) -> None:
    path = save(imap_session(dovecot_lab), tmp_path / "imap.session", form)
    result = run("replay", str(path))
    assert result.returncode == 0, result.stderr
    assert "as IMAP" in result.stdout.splitlines()[0]
    # RFC 9051 §6.2.3 (LOGIN) and §6.3.2 (SELECT); a tagged OK completes each (§7.1).
    assert "LOGIN: sent in state NOT_AUTHENTICATED (RFC 9051 §6.2.3)" in result.stdout
    assert "SELECT: sent in state AUTHENTICATED (RFC 9051 §6.3.2)" in result.stdout
    assert "completes SELECT (RFC 9051 §7.1); AUTHENTICATED -> SELECTED" in result.stdout
    assert "refuses" not in result.stdout
    assert_no_secret(result)


def test_protocol_can_be_named_and_unknown_ones_are_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "odd.session"
    path.write_text("C: HELLO there\n")
    unknown = run("replay", str(path))
    assert unknown.returncode == 2
    assert "--protocol" in unknown.stderr
    named = run("replay", str(path), "--protocol", "pop3")
    assert named.returncode == 0, named.stderr
    assert "as POP3" in named.stdout
    assert "not understood" in named.stdout  # a step, not a crash
    missing = run("replay", str(tmp_path / "nowhere.txt"))
    assert missing.returncode == 10
    assert "cannot read" in missing.stderr
    path.write_text("this is not a transcript\n")
    broken = run("replay", str(path))
    assert broken.returncode == 10
    assert "not a transcript" in broken.stderr


# ------------------------------------------------------------- export


def pcapng_ports(data: bytes) -> set[int]:
    """The TCP server ports of the Enhanced Packet Blocks (Ethernet/IPv4/TCP)."""
    ports = set()
    pos = 0
    while pos + 12 <= len(data):
        kind, length = struct.unpack_from("<II", data, pos)
        if kind == 6:  # Enhanced Packet Block: 28 bytes of header, then the frame
            frame = data[pos + 28 : pos + length - 4]
            src, dst = struct.unpack_from("!HH", frame, 14 + 20)
            ports.add(min(src, dst))  # the client port is 49152 or above
        pos += length
    return ports


@pytest.mark.parametrize(
    ("recorder", "port"),
    [("smtp", 25), ("pop3", 110), ("imap", 143)],  # IANA's plaintext ports
)
def test_export_chooses_the_protocol_port(
    recorder: str,
    port: int,
    smtp_lab: SmtpLab,
    dovecot_lab: DovecotLab,
    tmp_path: pathlib.Path,
) -> None:
    transcript = {
        "smtp": lambda: smtp_session(smtp_lab),
        "pop3": lambda: pop3_session(dovecot_lab),
        "imap": lambda: imap_session(dovecot_lab),
    }[recorder]()
    path = save(transcript, tmp_path / "session.txt", "text")
    out = tmp_path / "session.pcapng"
    result = run("export", str(path), "--to", "pcapng", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert recorder.upper() in result.stderr
    data = out.read_bytes()
    assert data[:4] == b"\x0a\x0d\x0d\x0a"
    assert pcapng_ports(data) == {port}
    for secret in SECRETS:
        assert secret.encode() not in data
    for form, marker in (("html", "<!DOCTYPE html>"), ("mermaid", "sequenceDiagram")):
        shown = run("export", str(path), "--to", form)
        assert shown.returncode == 0, shown.stderr
        assert marker in shown.stdout
        assert_no_secret(shown)


# ------------------------------------------------------------ step mode


class Terminal:
    """A child process on a pseudo-terminal, read until a marker shows up."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailwire", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
            env={**os.environ, "NO_COLOR": "1", "TERM": "dumb"},
        )
        os.close(slave)
        self.output = b""

    def read_until(self, marker: bytes, limit: float = 60.0) -> bytes:
        """Everything up to the next ``marker``; fails (not a timing check) if it never comes."""
        end = time.monotonic() + limit
        while marker not in self.output:
            left = end - time.monotonic()
            if left <= 0:
                pytest.fail(f"never saw {marker!r}; got {self.output[-500:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if not chunk:
                pytest.fail(f"the process ended before {marker!r}; got {self.output[-500:]!r}")
            self.output += chunk
        head, _, self.output = self.output.partition(marker)
        return head

    def read_rest(self) -> bytes:
        rest = self.output
        while True:
            ready, _, _ = select.select([self.master], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            rest += chunk
        return rest

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> int:
        code = self.proc.wait(timeout=60)
        os.close(self.master)
        return code


PROMPT = b"Enter for the next step, Ctrl-D to stop"


@pytest.mark.parametrize("form", ["text", "jsonl"])
def test_step_mode_through_a_terminal(
    dovecot_lab: DovecotLab, tmp_path: pathlib.Path, form: str
) -> None:
    path = save(pop3_session(dovecot_lab), tmp_path / "pop3.session", form)
    term = Terminal("replay", str(path), "--step")
    try:
        first = term.read_until(PROMPT)
        assert b"as POP3" in first
        assert b"greeting (RFC 1939 \xc2\xa74)" in first  # the first step: the greeting
        assert b"CAPA" not in first  # and nothing after it yet
        term.send(b"\r")  # Enter
        second = term.read_until(PROMPT)
        assert b"CAPA: AUTHORIZATION -> AUTHORIZATION (RFC 2449 \xc2\xa75)" in second
        term.send(b"\x04")  # Ctrl-D on an empty line: end of input
        rest = term.read_rest()
    finally:
        code = term.close()
    assert code == 0
    assert PROMPT not in rest  # it stopped at once
    assert b"Traceback" not in first + second + rest
    for secret in SECRETS:
        assert secret.encode() not in first + second + rest
