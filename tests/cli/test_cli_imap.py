"""``mailwire imap`` through a subprocess against Dovecot: output, exit codes, no secret shown.

Every test works in a fresh mailbox of ALICE's (created and deleted with the
library client), so tests do not see each other's messages. What the command
reports is checked against what Dovecot holds, read back with the library
client or from the Maildir.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from mailwire import IMAPStatusError
from mailwire.cli import EXIT
from mailwire.imap import Client
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


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_message(subject: str, sender: str = "seed@example.test") -> bytes:
    return (
        f"From: {sender}\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Date: Fri, 27 Nov 2026 12:00:00 +0000\r\nMessage-ID: <{uuid.uuid4().hex}@cli.test>\r\n"
        "\r\nHello from the imap command test.\r\n"
    ).encode()


@contextlib.contextmanager
def admin(lab: DovecotLab, user: LabUser = ALICE) -> Iterator[Client]:
    with Client(lab.host, lab.imaps_port, ssl_context=lab.client_context(), timeout=10) as client:
        client.login(user.name, user.password)
        yield client


@pytest.fixture
def mailbox(dovecot_lab: DovecotLab) -> Iterator[str]:
    """A fresh mailbox of ALICE's, deleted afterwards."""
    name = unique("clibox")
    with admin(dovecot_lab) as client:
        client.create(name)
    yield name
    with admin(dovecot_lab) as client, contextlib.suppress(IMAPStatusError):
        client.delete(name)


def append(lab: DovecotLab, mailbox: str, data: bytes) -> int:
    with admin(lab) as client:
        done = client.append(mailbox, data)
    (uid,) = done.uids
    return uid


def imap(
    lab: DovecotLab, *action: str, extra: tuple[str, ...] = (), env: dict[str, str] = ENV
) -> subprocess.CompletedProcess[str]:
    args = server_args(lab, lab.imaps_port, ALICE)
    return run("imap", *args, "--style", "text", *extra, *action, env=env)


def results(stdout: str) -> list[str]:
    """The lines printed after the exchange (the exchange ends with the close record)."""
    return stdout.split("# close C: client closed the connection\n", 1)[1].splitlines()


def test_list(dovecot_lab: DovecotLab, mailbox: str) -> None:
    result = imap(dovecot_lab, "list")
    assert result.returncode == EXIT["ok"], result.stderr
    names = [line.rsplit(" ", 1)[-1] for line in results(result.stdout)]
    assert "INBOX" in names
    assert mailbox in names
    assert 'A2 LIST "" "*"' in client_lines(result.stdout)
    only = imap(dovecot_lab, "list", mailbox[:8] + "*")
    assert only.returncode == EXIT["ok"], only.stderr
    assert "INBOX" not in [line.rsplit(" ", 1)[-1] for line in results(only.stdout)]


def test_select_reports_the_mailbox_state(dovecot_lab: DovecotLab, mailbox: str) -> None:
    append(dovecot_lab, mailbox, make_message("one"))
    append(dovecot_lab, mailbox, make_message("two"))
    with admin(dovecot_lab) as client:
        status = client.status(mailbox)
    result = imap(dovecot_lab, "select", mailbox)
    assert result.returncode == EXIT["ok"], result.stderr
    lines = results(result.stdout)
    assert "EXISTS 2" in lines
    assert f"UIDVALIDITY {status.uidvalidity}" in lines
    assert f"UIDNEXT {status.uidnext}" in lines
    assert any(line.startswith("FLAGS (") and "\\Seen" in line for line in lines)


def test_missing_mailbox_is_the_mailbox_phase(dovecot_lab: DovecotLab) -> None:
    result = imap(dovecot_lab, "select", unique("no-such-box"))
    assert result.returncode == EXIT["mailbox"]
    assert "mailbox failed" in result.stderr
    sent = client_lines(result.stdout)
    assert sent[-2:] == [sent[-2], "A3 LOGOUT"]  # a NO leaves the session usable: LOGOUT
    assert sent[-2].startswith("A2 SELECT no-such-box-")


def test_search(dovecot_lab: DovecotLab, mailbox: str) -> None:
    subject = unique("needle")
    wanted = append(dovecot_lab, mailbox, make_message(subject, sender="carol@example.test"))
    append(dovecot_lab, mailbox, make_message("other"))
    by_subject = imap(dovecot_lab, "search", mailbox, "SUBJECT", subject)
    assert by_subject.returncode == EXIT["ok"], by_subject.stderr
    assert results(by_subject.stdout) == [str(wanted)]
    assert f"A3 UID SEARCH SUBJECT {subject}" in client_lines(by_subject.stdout)
    assert any(line.endswith(f"EXAMINE {mailbox}") for line in client_lines(by_subject.stdout))

    both = imap(dovecot_lab, "search", mailbox, "SINCE", "2000-01-31", "FROM", "carol")
    assert both.returncode == EXIT["ok"], both.stderr
    assert results(both.stdout) == [str(wanted)]
    assert "A3 UID SEARCH SINCE 31-Jan-2000 FROM carol" in client_lines(both.stdout)

    everything = imap(dovecot_lab, "search", mailbox)
    assert everything.returncode == EXIT["ok"], everything.stderr
    assert len(results(everything.stdout)[0].split()) == 2
    none = imap(dovecot_lab, "search", mailbox, "SUBJECT", unique("absent"))
    assert results(none.stdout) == ["(no messages match)"]


def test_search_criteria_refused_before_sending(dovecot_lab: DovecotLab, mailbox: str) -> None:
    result = imap(dovecot_lab, "search", mailbox, "SINCE", "2026-02-31")
    assert result.returncode == EXIT["input"]
    assert result.stdout == ""  # nothing connected
    for words in (["NOSUCHKEY"], ["FROM"], ["SUBJECT", "a\r\nA9 DELETE INBOX"]):
        refused = imap(dovecot_lab, "search", mailbox, *words)
        assert refused.returncode == EXIT["input"], words
        assert refused.stdout == ""


def test_fetch(dovecot_lab: DovecotLab, mailbox: str, tmp_path: pathlib.Path) -> None:
    data = make_message(unique("fetched"))
    uid = append(dovecot_lab, mailbox, data)
    shown = imap(dovecot_lab, "fetch", mailbox, str(uid))
    assert shown.returncode == EXIT["ok"], shown.stderr
    lines = results(shown.stdout)
    assert lines[0] == f"UID {uid} (message 1)"
    assert f"  RFC822.SIZE {len(data)}" in lines
    assert f"  BODY[]: {len(data)} bytes" in lines
    assert "    Hello from the imap command test." in lines
    assert f"A3 UID FETCH {uid} (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])" in client_lines(
        shown.stdout
    )

    out = tmp_path / "message.eml"
    saved = imap(dovecot_lab, "fetch", mailbox, str(uid), "--items", "BODY.PEEK[]", "-o", str(out))
    assert saved.returncode == EXIT["ok"], saved.stderr
    assert out.read_bytes() == data  # APPEND stores the octets as given (RFC 9051 §6.3.12)

    with admin(dovecot_lab) as client:
        client.examine(mailbox)
        flags = client.fetch(uid, "FLAGS")[uid].flags
    assert flags is not None
    assert "\\Seen" not in flags  # BODY.PEEK


def test_fetch_missing_uid_is_the_message_phase(dovecot_lab: DovecotLab, mailbox: str) -> None:
    result = imap(dovecot_lab, "fetch", mailbox, "4242")
    assert result.returncode == EXIT["message"]
    assert "no message with UID 4242" in result.stderr


def test_append(dovecot_lab: DovecotLab, mailbox: str, tmp_path: pathlib.Path) -> None:
    data = make_message(unique("appended"))
    source = tmp_path / "new.eml"
    source.write_bytes(data)
    result = imap(dovecot_lab, "append", mailbox, str(source), "--flags", "\\Seen \\Flagged")
    assert result.returncode == EXIT["ok"], result.stderr
    (line,) = results(result.stdout)
    assert line.startswith(f"appended to {mailbox}: UIDVALIDITY ")
    uid = int(line.rsplit(" ", 1)[1])
    with admin(dovecot_lab) as client:
        client.examine(mailbox)
        fetched = client.fetch(uid, ["FLAGS", "BODY.PEEK[]"])[uid]
    assert fetched.sections["BODY[]"] == data
    assert set(fetched.flags or ()) >= {"\\Seen", "\\Flagged"}


def test_append_to_missing_mailbox_and_missing_file(
    dovecot_lab: DovecotLab, tmp_path: pathlib.Path
) -> None:
    source = tmp_path / "new.eml"
    source.write_bytes(make_message("nowhere"))
    refused = imap(dovecot_lab, "append", unique("no-such-box"), str(source))
    assert refused.returncode == EXIT["mailbox"]  # NO [TRYCREATE] (RFC 9051 §6.3.12)
    assert "TRYCREATE" in refused.stdout
    absent = imap(dovecot_lab, "append", "INBOX", str(tmp_path / "absent.eml"))
    assert absent.returncode == EXIT["input"]
    assert absent.stdout == ""


def test_move(dovecot_lab: DovecotLab, mailbox: str) -> None:
    uid = append(dovecot_lab, mailbox, make_message(unique("moving")))
    destination = unique("clidest")
    with admin(dovecot_lab) as client:
        client.create(destination)
    try:
        result = imap(dovecot_lab, "move", mailbox, str(uid), destination)
        assert result.returncode == EXIT["ok"], result.stderr
        assert client_lines(result.stdout)[-3:] == [
            f"A3 UID SEARCH UID {uid}",
            f"A4 UID MOVE {uid} {destination}",
            "A5 LOGOUT",
        ]
        (line,) = results(result.stdout)
        assert line.startswith(f"moved to {destination}: UIDs {uid} are now ")
        with admin(dovecot_lab) as client:
            assert client.status(mailbox).messages == 0
            assert client.status(destination).messages == 1
        missing = imap(dovecot_lab, "move", destination, "1:*", unique("no-such-box"))
        assert missing.returncode == EXIT["mailbox"]  # NO [TRYCREATE] (RFC 6851 §3.3)
        absent = imap(dovecot_lab, "move", destination, "4242", mailbox)
        assert absent.returncode == EXIT["message"]
        assert "no message with UID 4242" in absent.stderr
    finally:
        with admin(dovecot_lab) as client:
            client.delete(destination)


def test_idle_prints_events_and_ends_cleanly(dovecot_lab: DovecotLab, mailbox: str) -> None:
    args = [*server_args(dovecot_lab, dovecot_lab.imaps_port, ALICE), "--style", "text"]
    process = subprocess.Popen(
        [sys.executable, "-m", "mailwire", "imap", *args, "idle", mailbox, "--seconds", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **ENV},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("# idling for 30 s"), first + (
            process.stderr.read() if process.stderr else ""
        )
        append(dovecot_lab, mailbox, make_message("during idle"))
        events = [process.stdout.readline()]
        while events[-1] not in ("* 1 EXISTS\n", "") and len(events) < 5:
            events.append(process.stdout.readline())  # "* 1 RECENT" may come first
        assert events[-1] == "* 1 EXISTS\n", events
        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == EXIT["ok"], errors
    before, interrupted, after = rest.partition("# interrupted: DONE and LOGOUT\n")
    assert interrupted
    assert all(line.startswith("* ") for line in before.splitlines())  # e.g. "* 1 RECENT"
    sent = client_lines(after)
    assert sent[-3:] == ["A3 IDLE", "DONE", "A4 LOGOUT"]
    assert "S*: * 1 EXISTS" in after


def test_idle_ends_after_the_seconds(dovecot_lab: DovecotLab, mailbox: str) -> None:
    result = imap(dovecot_lab, "idle", mailbox, "--seconds", "1")
    assert result.returncode == EXIT["ok"], result.stderr
    assert client_lines(result.stdout)[-3:] == ["A3 IDLE", "DONE", "A4 LOGOUT"]
    assert "interrupted" not in result.stdout


def test_wrong_port_is_the_connect_phase(dovecot_lab: DovecotLab) -> None:
    args = server_args(dovecot_lab, closed_port(dovecot_lab.host), ALICE)
    result = run("imap", *args, "list", env=ENV)
    assert result.returncode == EXIT["connect"]
    assert "connect failed" in result.stderr


def test_wrong_password_is_the_auth_phase(dovecot_lab: DovecotLab) -> None:
    # One refusal only: Dovecot delays every later login from this address after each.
    result = imap(dovecot_lab, "list", env={PASSWORD_VAR: "not-the-password"})
    assert result.returncode == EXIT["auth"]
    assert "auth failed" in result.stderr
    assert "not-the-password" not in result.stdout + result.stderr
    assert not any("LIST" in line for line in client_lines(result.stdout))


def test_untrusted_ca_is_the_tls_phase(dovecot_lab: DovecotLab) -> None:
    args = server_args(dovecot_lab, dovecot_lab.imap_port, ALICE, tls="starttls")
    args[args.index("--cafile") + 1] = str(dovecot_lab.certs.untrusted_ca_file)
    result = run("imap", *args, "--style", "text", "list", env=ENV)
    assert result.returncode == EXIT["tls"], result.stderr
    assert client_lines(result.stdout)[-1].endswith("STARTTLS")  # nothing after the upgrade


def test_starttls_and_login_command(dovecot_lab: DovecotLab) -> None:
    args = server_args(dovecot_lab, dovecot_lab.imap_port, ALICE, tls="starttls")
    result = run("imap", *args, "--style", "text", "--login-command", "list", env=ENV)
    assert result.returncode == EXIT["ok"], result.stderr
    assert "C: A1 STARTTLS" in result.stdout
    assert "C*: A3 LOGIN alice <redacted" in result.stdout
    assert_no_secret(ALICE, result.stdout, result.stderr)


@pytest.mark.parametrize(
    ("user", "extra"),
    [(ALICE, ("--login-command",)), (BOB, ("--mechanism", "PLAIN")), (BOB, ())],
    ids=["alice-login", "bob-plain", "bob-scram"],
)
def test_password_never_printed_nor_saved(
    dovecot_lab: DovecotLab, tmp_path: pathlib.Path, user: LabUser, extra: tuple[str, ...]
) -> None:
    saved = tmp_path / "session.txt"
    args = server_args(dovecot_lab, dovecot_lab.imaps_port, user)
    result = run(
        "imap",
        *args,
        *extra,
        "--show-sasl",
        "--save",
        str(saved),
        "--style",
        "raw",
        "list",
        env={PASSWORD_VAR: user.password},
    )
    assert result.returncode == EXIT["ok"], result.stderr
    assert_no_secret(user, result.stdout, result.stderr, saved.read_text(encoding="utf-8"))


def test_show_sasl(dovecot_lab: DovecotLab) -> None:
    plain = imap(dovecot_lab, "list", extra=("--mechanism", "PLAIN", "--show-sasl"))
    assert plain.returncode == EXIT["ok"], plain.stderr
    assert (
        '# event: SASL PLAIN client (initial response): authzid "", authcid "alice", '
        f"password <redacted {len(ALICE.password_bytes)} bytes>"
    ) in plain.stdout
    scram = imap(dovecot_lab, "list", extra=("--show-sasl",))  # SCRAM-SHA-256: the strongest
    assert scram.returncode == EXIT["ok"], scram.stderr
    assert "# event: SASL SCRAM-SHA-256 client (initial response): n,,n=alice,r=" in scram.stdout
    assert ",p=<redacted 44 bytes>" in scram.stdout  # 32-byte proof in base64
    assert "# event: SASL SCRAM-SHA-256 server: v=" in scram.stdout
    for result in (plain, scram):
        assert_no_secret(ALICE, result.stdout, result.stderr)


def test_colour_on_request(dovecot_lab: DovecotLab) -> None:
    coloured = imap(dovecot_lab, "list", extra=("--color", "always"))
    assert coloured.returncode == EXIT["ok"], coloured.stderr
    assert "\x1b[32mS*: A3 OK" in coloured.stdout  # tagged OK: green
    assert "\x1b[34mC*: A2 LIST" in coloured.stdout  # the client's line
    forced = imap(dovecot_lab, "list", env={**ENV, "FORCE_COLOR": "1", "NO_COLOR": ""})
    assert "\x1b[" in forced.stdout
    plain = imap(dovecot_lab, "list", env={**ENV, "FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b" not in plain.stdout
    piped = imap(dovecot_lab, "list", env={**ENV, "FORCE_COLOR": ""})  # not a terminal
    assert "\x1b" not in piped.stdout
