"""The mailwire command through a subprocess: exit codes, output, no secret shown."""

from __future__ import annotations

import base64
import os
import pathlib
import subprocess
import sys

import pytest

from mailwire.cli import EXIT
from tests.lab import SmtpLab
from tests.lab.accounts import ALICE


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailwire", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        input=stdin,
    )


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
        "MW_TEST_PASSWORD",
        "--from",
        "alice@example.test",
        "--to",
        "bob@example.test",
        "--bcc",
        "carol@example.test",
        "--subject",
        "from the command line",
        *extra,
    ]


SECRETS = [ALICE.password, base64.b64encode(f"\0{ALICE.name}\0{ALICE.password}".encode()).decode()]


def assert_no_secret(result: subprocess.CompletedProcess[str]) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout
        assert secret not in result.stderr


def test_send(smtp_lab: SmtpLab, tmp_path: pathlib.Path) -> None:
    attachment = tmp_path / "notes.txt"
    attachment.write_text("attached\n")
    saved = tmp_path / "session.txt"
    result = run(
        *send_args(smtp_lab, "--attach", str(attachment), "--save", str(saved)),
        env={"MW_TEST_PASSWORD": ALICE.password},
    )
    assert result.returncode == EXIT["ok"], result.stderr
    (message,) = smtp_lab.wait_for_messages(1)
    assert set(message.rcpt_tos) == {"bob@example.test", "carol@example.test"}
    assert b"from the command line" in message.content
    assert b"notes.txt" in message.content
    assert b"carol" not in message.content  # Bcc kept blind (S21)
    assert "C: STARTTLS" in result.stdout
    assert "C*: AUTH PLAIN <redacted" in result.stdout
    assert "# event: 250" in result.stdout  # the annotated view
    assert_no_secret(result)
    assert "C*: QUIT" in saved.read_text()


HELLO = ["EHLO", "STARTTLS", "EHLO", "AUTH"]


@pytest.mark.parametrize(
    ("stage", "verbs"),
    [
        ("EHLO", ["EHLO", "QUIT"]),  # stops before STARTTLS
        ("AUTH", [*HELLO, "QUIT"]),
        ("MAIL", [*HELLO, "MAIL", "QUIT"]),
        ("RCPT", [*HELLO, "MAIL", "RCPT", "RCPT", "QUIT"]),  # --to and --bcc
        ("DATA", [*HELLO, "MAIL", "RCPT", "RCPT", "DATA"]),  # closed after 354, no content
    ],
)
def test_quit_after(smtp_lab: SmtpLab, stage: str, verbs: list[str]) -> None:
    result = run(
        *send_args(smtp_lab, "--quit-after", stage), env={"MW_TEST_PASSWORD": ALICE.password}
    )
    assert result.returncode == EXIT["ok"], result.stderr
    assert [line.split()[0].decode().upper() for line in smtp_lab.commands] == verbs
    assert smtp_lab.messages == []  # nothing delivered
    assert_no_secret(result)


def test_wrong_password_exit_code(smtp_lab: SmtpLab) -> None:
    result = run(*send_args(smtp_lab), env={"MW_TEST_PASSWORD": "not-the-password"})
    assert result.returncode == EXIT["auth"]
    assert "auth failed" in result.stderr
    assert "not-the-password" not in result.stdout + result.stderr


def test_untrusted_certificate_exit_code(smtp_lab: SmtpLab) -> None:
    args = send_args(smtp_lab)
    args[args.index("--cafile") + 1] = str(smtp_lab.certs.untrusted_ca_file)
    result = run(*args, env={"MW_TEST_PASSWORD": ALICE.password})
    assert result.returncode == EXIT["tls"], result.stderr
    assert not any(line.upper().startswith(b"AUTH") for line in smtp_lab.commands)


def test_password_from_a_file_and_never_on_screen(
    smtp_lab: SmtpLab, tmp_path: pathlib.Path
) -> None:
    secret = tmp_path / "pw"
    secret.write_text(ALICE.password + "\n")
    args = send_args(smtp_lab)
    i = args.index("--password-env")
    args[i : i + 2] = ["--password-file", str(secret)]
    result = run(*args)
    assert result.returncode == EXIT["ok"], result.stderr
    assert_no_secret(result)


def test_missing_password_variable(smtp_lab: SmtpLab) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MW_TEST_PASSWORD"}
    result = subprocess.run(
        [sys.executable, "-m", "mailwire", *send_args(smtp_lab)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == EXIT["input"]
    assert smtp_lab.connections == 0  # refused before connecting


def test_connect_refused_exit_code() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        result = run(
            "send",
            "--server",
            "127.0.0.1",
            "--port",
            str(port),
            "--tls",
            "plain",
            "--from",
            "a@example.test",
            "--to",
            "b@example.test",
        )
    assert result.returncode == EXIT["connect"]
    assert "connect failed" in result.stderr


def test_replay_export_explain(smtp_lab: SmtpLab, tmp_path: pathlib.Path) -> None:
    saved = tmp_path / "session.txt"
    sent = run(*send_args(smtp_lab, "--save", str(saved)), env={"MW_TEST_PASSWORD": ALICE.password})
    assert sent.returncode == 0, sent.stderr

    replayed = run("replay", str(saved))
    assert replayed.returncode == 0
    assert "EHLO: INIT -> INIT (RFC 5321 §4.1.1.1)" in replayed.stdout
    assert "our writer would send" not in replayed.stdout

    stepped = run("replay", str(saved), "--step", stdin="\n\n")
    assert stepped.returncode == 0
    assert stepped.stdout.count("Enter for the next step") >= 2

    for form, marker in (
        ("html", "<!DOCTYPE html>"),
        ("mermaid", "sequenceDiagram"),
        ("jsonl", '"kind": "data"'),
        ("text", "C: EHLO"),
    ):
        out = run("export", str(saved), "--to", form)
        assert out.returncode == 0, out.stderr
        assert marker in out.stdout, form
        assert_no_secret(out)
    pcap = tmp_path / "s.pcapng"
    out = run("export", str(saved), "--to", "pcapng", "-o", str(pcap))
    assert out.returncode == 0, out.stderr
    assert pcap.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"  # pcapng section header block

    explained = run("explain", "5.1.1")
    assert explained.returncode == 0
    assert "bad destination mailbox address" in explained.stdout
    assert "SMTP reply" in run("explain", "550").stdout
    assert "CREATE it first" in run("explain", "TRYCREATE").stdout
    assert "locked" in run("explain", "in-use").stdout
    assert run("explain", "nonsense").returncode == EXIT["input"]
