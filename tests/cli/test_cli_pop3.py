"""``mailwire pop3`` through a subprocess against Dovecot: output, exit codes, no secret shown.

Each test seeds ALICE's mailbox over LMTP and compares what the command
printed or wrote with the files Dovecot stored (LF on disk, CRLF on the wire,
RFC 1939 §3), and with the exit status of the phase that failed.
"""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Callable, Iterator

import pytest

from mailwire.cli import EXIT
from tests.cli.cli_support import (
    PASSWORD_VAR,
    assert_no_secret,
    client_lines,
    closed_port,
    run,
    server_args,
)
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE, BOB, LabUser

ENV = {PASSWORD_VAR: ALICE.password}


def make_message(subject: str) -> tuple[bytes, str]:
    message_id = f"<{uuid.uuid4().hex}@cli-pop3.test>"
    data = (
        f"From: seed@example.test\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Fri, 27 Nov 2026 12:00:00 +0000\r\n\r\n"
        "first body line\r\n.a dotted line\r\nlast line\r\n"
    ).encode()
    return data, message_id


@pytest.fixture
def seeded(dovecot_lab: DovecotLab) -> Iterator[Callable[[LabUser, int], list[bytes]]]:
    """``seed(user, count)``: empty the mailbox, deliver ``count`` messages; their bytes."""
    touched: list[LabUser] = []

    def seed(user: LabUser, count: int) -> list[bytes]:
        dovecot_lab.purge(user)
        touched.append(user)
        out = []
        for i in range(count):
            data, message_id = make_message(f"cli message {i}")
            dovecot_lab.seed(data, user)
            dovecot_lab.wait_for_message(user, message_id)
            out.append(data)
        return out

    yield seed
    for user in touched:
        dovecot_lab.purge(user)


def pop3(lab: DovecotLab, *action: str, user: LabUser | None = ALICE, extra: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return run(
        "pop3", *server_args(lab, lab.pop3s_port, user), "--style", "text", *extra, *action, env=ENV
    )


def test_list_uidl_stat(dovecot_lab: DovecotLab, seeded: Callable[..., list[bytes]]) -> None:
    seeded(ALICE, 2)
    # What Dovecot stored (LMTP added trace headers), with LF -> CRLF as POP3 serves it.
    sizes = sorted(len(m.replace(b"\n", b"\r\n")) for m in dovecot_lab.messages(ALICE))
    listed = pop3(dovecot_lab, "list")
    assert listed.returncode == EXIT["ok"], listed.stderr
    result_lines = [line for line in listed.stdout.splitlines() if line[:1].isdigit()]
    assert sorted(int(line.split()[1]) for line in result_lines) == sizes
    assert sorted(int(line.split()[0]) for line in result_lines) == [1, 2]
    assert client_lines(listed.stdout)[-2:] == ["LIST", "QUIT"]

    uidl = pop3(dovecot_lab, "uidl")
    assert uidl.returncode == EXIT["ok"], uidl.stderr
    uids = [line.split() for line in uidl.stdout.splitlines() if line[:1].isdigit()]
    assert [number for number, _ in uids] == ["1", "2"]
    assert len({uid for _, uid in uids}) == 2

    stat = pop3(dovecot_lab, "stat")
    assert stat.returncode == EXIT["ok"], stat.stderr
    assert f"2 messages, {sum(sizes)} octets" in stat.stdout
    for result in (listed, uidl, stat):
        assert_no_secret(ALICE, result.stdout, result.stderr)


def test_retr_to_a_file_is_byte_exact(
    dovecot_lab: DovecotLab, seeded: Callable[..., list[bytes]], tmp_path: pathlib.Path
) -> None:
    (message,) = seeded(ALICE, 1)
    out = tmp_path / "1.eml"
    result = pop3(dovecot_lab, "retr", "1", "--output", str(out))
    assert result.returncode == EXIT["ok"], result.stderr
    # RETR gives the message dot-unstuffed, as stored: Dovecot's file with LF -> CRLF.
    (stored,) = dovecot_lab.messages(ALICE)
    assert out.read_bytes() == stored.replace(b"\n", b"\r\n")
    assert message.split(b"\r\n\r\n", 1)[1] in out.read_bytes()
    assert "RETR 1" in client_lines(result.stdout)
    assert "S*: ..a dotted line" in result.stdout  # the wire form, stuffed (RFC 1939 §3)


def test_retr_and_top_print_the_message(
    dovecot_lab: DovecotLab, seeded: Callable[..., list[bytes]]
) -> None:
    seeded(ALICE, 1)
    retr = pop3(dovecot_lab, "retr", "1", extra=("--style", "none"))
    assert retr.returncode == EXIT["ok"], retr.stderr
    assert "Subject: cli message 0" in retr.stdout
    assert ".a dotted line" in retr.stdout.splitlines()  # unstuffed in the result
    assert "C*:" not in retr.stdout  # --style none: no exchange

    top = pop3(dovecot_lab, "top", "1", "0")
    assert top.returncode == EXIT["ok"], top.stderr
    assert "TOP 1 0" in client_lines(top.stdout)
    result = top.stdout.split("C*: QUIT", 1)[1]
    assert "Subject: cli message 0" in result
    assert "first body line" not in result  # 0 body lines (RFC 1939 §7)


def test_dele_removes_the_message_at_quit(
    dovecot_lab: DovecotLab, seeded: Callable[..., list[bytes]]
) -> None:
    seeded(ALICE, 2)
    result = pop3(dovecot_lab, "dele", "1")
    assert result.returncode == EXIT["ok"], result.stderr
    assert client_lines(result.stdout)[-2:] == ["DELE 1", "QUIT"]
    remaining = dovecot_lab.messages(ALICE)
    assert len(remaining) == 1
    assert b"Subject: cli message 1" in remaining[0]


def test_missing_message_is_the_message_phase(
    dovecot_lab: DovecotLab, seeded: Callable[..., list[bytes]]
) -> None:
    seeded(ALICE, 1)
    result = pop3(dovecot_lab, "retr", "99")
    assert result.returncode == EXIT["message"]
    assert "message failed" in result.stderr
    assert "S*: -ERR" in result.stdout  # the exchange is printed all the same


def test_starttls(dovecot_lab: DovecotLab, seeded: Callable[..., list[bytes]]) -> None:
    seeded(ALICE, 1)
    args = server_args(dovecot_lab, dovecot_lab.pop3_port, ALICE, tls="starttls")
    result = run("pop3", *args, "--style", "text", "stat", env=ENV)
    assert result.returncode == EXIT["ok"], result.stderr
    assert "C: STLS" in result.stdout
    assert "C*: STAT" in result.stdout
    assert "1 messages" in result.stdout


def test_wrong_port_is_the_connect_phase(dovecot_lab: DovecotLab) -> None:
    args = server_args(dovecot_lab, closed_port(dovecot_lab.host), ALICE)
    result = run("pop3", *args, "list", env=ENV)
    assert result.returncode == EXIT["connect"]
    assert "connect failed" in result.stderr


def test_wrong_password_is_the_auth_phase(dovecot_lab: DovecotLab) -> None:
    result = run(
        "pop3",
        *server_args(dovecot_lab, dovecot_lab.pop3s_port, ALICE),
        "--mechanism",
        "PLAIN",
        "list",
        env={PASSWORD_VAR: "not-the-password"},
    )
    assert result.returncode == EXIT["auth"]
    assert "auth failed" in result.stderr
    assert "not-the-password" not in result.stdout + result.stderr
    assert "AUTH PLAIN <redacted" in result.stdout
    assert "LIST" not in client_lines(result.stdout)


def test_untrusted_ca_is_the_tls_phase(dovecot_lab: DovecotLab) -> None:
    args = server_args(dovecot_lab, dovecot_lab.pop3s_port, ALICE)
    args[args.index("--cafile") + 1] = str(dovecot_lab.certs.untrusted_ca_file)
    result = run("pop3", *args, "list", env=ENV)
    assert result.returncode == EXIT["tls"], result.stderr
    assert client_lines(result.stdout) == []  # nothing sent, not even in TLS


def test_no_plaintext_auth_without_the_flag(dovecot_lab: DovecotLab) -> None:
    args = server_args(dovecot_lab, dovecot_lab.pop3_port, ALICE, tls="plain")
    result = run("pop3", *args, "--style", "text", "list", env=ENV)
    assert result.returncode == EXIT["auth"]
    assert not any(
        line.startswith(("AUTH", "USER", "PASS")) for line in client_lines(result.stdout)
    )


def test_missing_password_variable_is_input(dovecot_lab: DovecotLab) -> None:
    args = server_args(dovecot_lab, dovecot_lab.pop3s_port, ALICE)
    args[args.index("--password-env") + 1] = "MW_NOT_SET_ANYWHERE"
    result = run("pop3", *args, "list")
    assert result.returncode == EXIT["input"]
    assert result.stdout == ""  # refused before connecting


# BOB's password is not ASCII: USER/PASS cannot carry it without UTF8 (RFC 6856 §2.2).
@pytest.mark.parametrize(
    ("user", "mechanism"),
    [(ALICE, "PLAIN"), (ALICE, "USER"), (BOB, "PLAIN"), (BOB, "SCRAM-SHA-256")],
    ids=["alice-plain", "alice-user-pass", "bob-plain", "bob-scram"],
)
def test_password_never_printed_nor_saved(
    dovecot_lab: DovecotLab,
    seeded: Callable[..., list[bytes]],
    tmp_path: pathlib.Path,
    user: LabUser,
    mechanism: str,
) -> None:
    seeded(user, 1)
    saved = tmp_path / "session.txt"
    password_file = tmp_path / "pw"
    password_file.write_text(user.password + "\n", encoding="utf-8")
    args = server_args(dovecot_lab, dovecot_lab.pop3s_port, user)
    i = args.index("--password-env")
    args[i : i + 2] = ["--password-file", str(password_file)]
    result = run(
        "pop3", *args, "--mechanism", mechanism, "--save", str(saved), "--style", "raw", "stat"
    )
    assert result.returncode == EXIT["ok"], result.stderr
    assert "1 messages" in result.stdout
    assert_no_secret(user, result.stdout, result.stderr, saved.read_text(encoding="utf-8"))
    assert "<redacted" in saved.read_text(encoding="utf-8")


def test_show_sasl_on_loopback(dovecot_lab: DovecotLab, seeded: Callable[..., list[bytes]]) -> None:
    seeded(ALICE, 1)
    args = server_args(dovecot_lab, dovecot_lab.pop3s_port, ALICE)
    plain = run(
        "pop3", *args, "--mechanism", "PLAIN", "--show-sasl", "--style", "text", "stat", env=ENV
    )
    assert plain.returncode == EXIT["ok"], plain.stderr
    assert (
        '# event: SASL PLAIN client (initial response): authzid "", authcid "alice", '
        f"password <redacted {len(ALICE.password_bytes)} bytes>"
    ) in plain.stdout
    scram = run("pop3", *args, "--mechanism", "SCRAM-SHA-256", "--show-sasl", "stat", env=ENV)
    assert scram.returncode == EXIT["ok"], scram.stderr
    assert "SASL SCRAM-SHA-256 client (initial response): n,,n=alice,r=" in scram.stdout
    assert ",p=<redacted" in scram.stdout  # the proof masked
    assert ",i=" in scram.stdout  # the server-first message decoded (RFC 5802 §5.1)
    for result in (plain, scram):
        assert_no_secret(ALICE, result.stdout, result.stderr)
    hidden = run("pop3", *args, "--mechanism", "PLAIN", "stat", env=ENV)
    assert hidden.returncode == EXIT["ok"], hidden.stderr
    assert "# event: SASL" not in hidden.stdout  # only when asked


def test_user_is_required(dovecot_lab: DovecotLab) -> None:
    result = run("pop3", *server_args(dovecot_lab, dovecot_lab.pop3s_port, None), "list")
    assert result.returncode == EXIT["usage"]
    assert "--user" in result.stderr
    assert result.stdout == ""
