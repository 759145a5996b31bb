"""``--show-sasl`` for ``send`` and ``--color`` for ``transcript``, through a subprocess."""

from __future__ import annotations

import argparse
import pathlib

import pytest

from mailwire._cli_common import message_lines, report, show, write_exchange
from mailwire.cli import EXIT
from mailwire.transcript import Kind, Transcript
from tests.cli.cli_support import PASSWORD_VAR, assert_no_secret, run
from tests.lab import SmtpLab
from tests.lab.accounts import ALICE


def send_args(lab: SmtpLab, *extra: str) -> list[str]:
    return [
        "send",
        "--server",
        lab.host,
        "--port",
        str(lab.starttls_port),
        "--tls",
        "starttls",
        "--cafile",
        str(lab.ca_file),
        "--user",
        ALICE.name,
        "--password-env",
        PASSWORD_VAR,
        "--from",
        "alice@example.test",
        "--to",
        "bob@example.test",
        "--quit-after",
        "AUTH",
        "--style",
        "text",
        *extra,
    ]


def test_send_show_sasl(smtp_lab: SmtpLab, tmp_path: pathlib.Path) -> None:
    saved = tmp_path / "send.txt"
    result = run(
        *send_args(smtp_lab, "--show-sasl", "--save", str(saved)),
        env={PASSWORD_VAR: ALICE.password},
    )
    assert result.returncode == EXIT["ok"], result.stderr
    note = (
        '# event: SASL PLAIN client (initial response): authzid "", authcid "alice", '
        f"password <redacted {len(ALICE.password_bytes)} bytes>"
    )
    assert "C*: AUTH PLAIN <redacted" in result.stdout
    assert note in result.stdout
    assert note in saved.read_text(encoding="utf-8")
    assert_no_secret(ALICE, result.stdout, result.stderr, saved.read_text(encoding="utf-8"))
    without = run(*send_args(smtp_lab), env={PASSWORD_VAR: ALICE.password})
    assert without.returncode == EXIT["ok"], without.stderr
    assert "# event: SASL" not in without.stdout


def test_transcript_color(tmp_path: pathlib.Path) -> None:
    saved = tmp_path / "session.txt"
    saved.write_text("C: NOOP\nS: 250 2.0.0 ok\nC: RSET\nS: 451 4.3.0 later\n", encoding="utf-8")
    always = run("transcript", str(saved), "--color", "always")
    assert always.returncode == EXIT["ok"], always.stderr
    assert "\x1b[34mC: NOOP\x1b[0m" in always.stdout
    assert "\x1b[32mS: 250 2.0.0 ok\x1b[0m" in always.stdout
    assert "\x1b[33mS: 451 4.3.0 later\x1b[0m" in always.stdout
    # auto: a pipe is not a terminal; FORCE_COLOR forces, NO_COLOR wins over it.
    assert "\x1b" not in run("transcript", str(saved), env={"FORCE_COLOR": ""}).stdout
    forced = run("transcript", str(saved), env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert "\x1b[32mS: 250 2.0.0 ok" in forced.stdout
    refused = run("transcript", str(saved), env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b" not in refused.stdout
    never = run("transcript", str(saved), "--color", "never", env={"FORCE_COLOR": "1"})
    assert "\x1b" not in never.stdout


def test_show_sasl_elsewhere_says_why_nothing_is_decoded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = argparse.Namespace(style="none", save=None, show_sasl=True, color="never")
    remote = Transcript(reveal_sasl_on_loopback=True)
    remote.add(Kind.CONNECT, note="connected to mail.example:587 (192.0.2.1:587)")
    write_exchange(remote, args)
    assert "192.0.2.1:587 is not a loopback address" in capsys.readouterr().err
    local = Transcript(reveal_sasl_on_loopback=True)
    local.add(Kind.CONNECT, note="connected to localhost:587 (127.0.0.1:587)")
    write_exchange(local, args)
    assert capsys.readouterr().err == ""


def test_server_text_cannot_drive_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    # S41: a result line or an error quoting the server is escaped before printing.
    hostile = "NO \x1b]0;owned\x07 gone\u202e \x9b2J"
    assert report("mailwire imap", "mailbox", Exception(hostile)) == EXIT["mailbox"]
    for line in message_lines(b"Subject: \x1b[2J\xff\r\nbody\r\n", None):
        show(line)
    out, err = capsys.readouterr()
    for text in (out, err):
        assert not any(char in text for char in "\x1b\x07\u202e\x9b\udcff")
    assert "\\x1b]0;owned\\x07 gone\\u202e \\u009b2J" in err
    assert out == "Subject: \\x1b[2J\\xff\nbody\n"
