"""``mailwire demo`` end to end, through a subprocess as a learner runs it.

Each run checks the contract of issue 9 part 1: the three exchanges are
printed, the exit status is 0 when each worked, no form of the password or
of an AUTH payload reaches the output, and nothing is left behind: no
listening port, no server process, no work directory.

The IMAP exchange needs ``mailwire.imap.Client``; until it exists the demo
must say so and exit 1, and these tests check exactly that instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailwire.demo import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LAB, EXIT_OK
from mailwire.transcript import Transcript
from tests.demo.helpers import (
    PASSWORD,
    demo_env,
    demo_processes,
    imap_client_available,
    lab_ports,
    listening,
    need_lab,
    run_demo,
    secrets_in,
)

pytestmark = pytest.mark.lab

NOT_YET = "the IMAP client (mailwire.imap.Client) is not available yet"


def check_exchanges(output: str, returncode: int) -> None:
    """The three exchanges are there, and the exit status matches what worked."""
    for heading in ("[1/3] SMTP", "[2/3] POP3", "[3/3] IMAP"):
        assert heading in output
    # SMTP: STARTTLS, then AUTH inside TLS, then the message accepted.
    assert "C: STARTTLS" in output
    assert "C*: AUTH " in output
    assert "<redacted " in output
    assert "accepted for bob@example.test" in output
    # POP3 over implicit TLS: everything from the greeting on is inside TLS.
    assert "C*: RETR " in output
    assert "attachment lab-envelope.png (image/png, base64)" in output
    identical = output.count("identical to what alice sent")
    if imap_client_available():
        assert "C*: " in output.split("[3/3] IMAP", 1)[1]
        assert identical == 2, output
        assert returncode == EXIT_OK, output
    else:
        assert NOT_YET in output
        assert identical == 1, output
        assert returncode == EXIT_FAILED, output
    assert "Where next" in output


def check_nothing_left(output: str, workdirs: Path) -> None:
    ports = lab_ports(output)
    assert len(ports) >= 3, output
    assert [port for port in ports if listening(port)] == []
    assert list(workdirs.iterdir()) == []
    assert demo_processes() == []


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    need_lab()
    (tmp_path / "tmp").mkdir()
    saved = tmp_path / "saved"
    result = run_demo(tmp_path / "tmp", "--save", str(saved))
    output = result.stdout + result.stderr
    check_exchanges(result.stdout, result.returncode)
    assert secrets_in(output) == []
    check_nothing_left(result.stdout, tmp_path / "tmp")
    # The saved transcripts load back, and are as secret-free as the screen.
    files = {path.name for path in saved.iterdir()}
    assert {"smtp.txt", "pop3.txt", "imap.txt"} <= files
    for path in saved.iterdir():
        text = path.read_text("utf-8")
        assert secrets_in(text) == []
        assert Transcript.load(path).records


def test_step_mode_in_a_terminal(tmp_path: Path) -> None:
    """``--step`` pauses before each exchange; Enter runs it (a pseudo-terminal)."""
    need_lab()
    with Terminal(tmp_path, "--step") as term:
        before = term.read_until("press Enter")
        assert "[1/3] SMTP" in before
        assert "S: 220" not in before  # nothing sent yet: it waits
        term.send("\n")
        between = term.read_until("press Enter")
        assert "S*: 235" in between  # the SMTP exchange ran, and no more
        assert "[2/3] POP3" in between
        assert "C*: RETR" not in between
        term.send("\n")
        assert "C*: RETR" in term.read_until("press Enter")
        term.send("\n")
        rest = term.read_until_exit()
        status = term.status
    output = term.output
    assert "Summary" in rest
    check_exchanges(output, status)
    assert secrets_in(output) == []
    check_nothing_left(output, tmp_path)


def test_q_at_a_pause_stops_the_lab(tmp_path: Path) -> None:
    need_lab()
    with Terminal(tmp_path, "--step") as term:
        term.read_until("press Enter")
        ports = lab_ports(term.output)
        assert ports
        assert all(listening(port) for port in ports)
        term.send("q\n")
        term.read_until_exit()
        status = term.status
    assert status == EXIT_INTERRUPTED
    assert "Stopped at your request" in term.output
    check_nothing_left(term.output, tmp_path)


def test_keep_runs_until_ctrl_c(tmp_path: Path) -> None:
    """``--keep`` leaves the lab up (passwords in files, not on screen); Ctrl-C stops it."""
    need_lab()
    with Terminal(tmp_path, "--keep") as term:
        shown = term.read_until("Ctrl-C. Try it yourself")
        shown += term.read_until("--subject")
        ports = lab_ports(shown)
        assert all(listening(port) for port in ports)
        files = [
            Path(line.split(" is in ", 1)[1].strip())
            for line in shown.splitlines()
            if "password is in" in line
        ]
        assert len(files) == 2
        for path in files:
            assert path.stat().st_mode & 0o777 == 0o600
            assert path.read_text("utf-8").strip() == PASSWORD
        term.interrupt()
        term.read_until_exit()
        status = term.status
    assert status in {EXIT_OK, EXIT_FAILED}
    assert secrets_in(term.output) == []
    check_nothing_left(term.output, tmp_path)
    assert not any(path.exists() for path in files)


def test_sigterm_stops_the_lab(tmp_path: Path) -> None:
    need_lab()
    with Terminal(tmp_path, "--step") as term:
        term.read_until("press Enter")
        term.terminate()
        term.read_until_exit()
        status = term.status
    assert status == EXIT_INTERRUPTED
    check_nothing_left(term.output, tmp_path)


def test_missing_servers_name_the_lab_extra(tmp_path: Path) -> None:
    # pymap "not installed": the demo must say what to install, and exit 12.
    code = (
        "import sys; sys.modules['pymap'] = None; sys.modules['pymap.imap'] = None\n"
        "from mailwire.cli import main; sys.exit(main(['demo']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=demo_env(tmp_path),
        check=False,
    )
    assert result.returncode == EXIT_LAB
    assert 'pip install "mailwire[lab]"' in result.stderr
    assert "pymap" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_importing_mailwire_loads_no_lab_server() -> None:
    code = (
        "import sys, mailwire, mailwire.cli, mailwire.demo\n"
        "mailwire.cli._build_parser()\n"
        "lab = {'aiosmtpd', 'pymap', 'twisted', 'OpenSSL', 'trustme', 'pysasl'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in lab))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------------ helpers --


class Terminal:
    """The demo on a pseudo-terminal, as a learner's shell would run it."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        import pty

        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailwire", "demo", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=demo_env(tmp_path),
            start_new_session=True,  # its own terminal session, like a shell's job
        )
        os.close(slave)
        self.output = ""
        self._seen = 0
        self.status: int | None = None

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.master)

    def _read(self, deadline: float) -> bool:
        import select

        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the other side has closed
            return False
        if not chunk:
            return False
        self.output += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return True

    def read_until(self, needle: str, timeout: float = 60) -> str:
        """Everything new up to and including ``needle``."""
        deadline = time.monotonic() + timeout
        while needle not in self.output[self._seen :]:
            if time.monotonic() > deadline or not self._read(deadline):
                raise AssertionError(f"no {needle!r} in:\n{self.output[self._seen :]}")
        end = self.output.index(needle, self._seen) + len(needle)
        new, self._seen = self.output[self._seen : end], end
        return new

    def read_until_exit(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(deadline):
            pass
        self.status = self.proc.wait(max(1.0, deadline - time.monotonic()))
        new, self._seen = self.output[self._seen :], len(self.output)
        return new

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the foreground process (here, the demo)."""
        self.proc.send_signal(signal.SIGINT)

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
