"""Every numbered script in examples/ runs, as a learner would run it, against the real lab.

Each example is started with ``python examples/NN_name.py`` in a fresh working
directory, its settings in the environment variables examples/settings.py
reads (MAILWIRE_*), against Postfix (submission, STARTTLS then AUTH) and
Dovecot (IMAP with STARTTLS, POP3 over implicit TLS) from tests/lab. A test
checks the exit status, what the script printed, and what the servers hold
afterwards (the subject it sent shows up in the Maildir, the folder it made
is gone ...), never only that it printed something.

A new example cannot slip in untested: ``test_every_example_has_a_test``
wants a ``test_<stem>`` function here for every ``examples/[0-9]*.py``.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.lab import DovecotLab, PostfixLab
from tests.lab.accounts import ALICE, BOB, LabUser

EXAMPLES = Path(__file__).parents[2] / "examples"

#: Every form of ALICE's password that must never be printed.
SECRETS = {
    "password": ALICE.password,
    "base64(password)": base64.b64encode(ALICE.password_bytes).decode(),
    "AUTH PLAIN": base64.b64encode(b"\0alice\0" + ALICE.password_bytes).decode(),
}


def lab_env(dovecot: DovecotLab, postfix: PostfixLab | None = None) -> dict[str, str]:
    """The MAILWIRE_* settings for the lab, as examples/README.md has a learner set them."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MAILWIRE_") and k not in {"FORCE_COLOR"}
    }
    env.update(
        MAILWIRE_HOST=dovecot.host,
        MAILWIRE_IMAP_PORT=str(dovecot.imap_port),
        MAILWIRE_IMAP_TLS="starttls",
        MAILWIRE_POP3_PORT=str(dovecot.pop3s_port),
        MAILWIRE_POP3_TLS="implicit",
        MAILWIRE_CAFILE=str(dovecot.ca_file),
        MAILWIRE_USER=ALICE.name,
        MAILWIRE_PASSWORD=ALICE.password,
        PYTHONIOENCODING="utf-8",
        NO_COLOR="1",
    )
    if postfix is not None:
        env.update(MAILWIRE_SMTP_PORT=str(postfix.submission_port), MAILWIRE_SMTP_TLS="starttls")
    return env


def run(
    name: str, cwd: Path, env: dict[str, str] | None = None, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run one example; fail with its output unless it exits 0 without leaking a secret."""
    script = EXAMPLES / name
    assert script.is_file(), f"no example {name}"
    result = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env=env if env is not None else lab_env_offline(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    shown = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, f"{name} exited {result.returncode}\n{shown}"
    leaked = [form for form, text in SECRETS.items() if text in result.stdout + result.stderr]
    assert leaked == [], f"{name} printed {leaked}"
    return result


def lab_env_offline() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MAILWIRE_")}


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:12]}"


def seed(dovecot: DovecotLab, subject: str, body: str = "Seeded for an example.") -> None:
    """Deliver a message with ``subject`` into ALICE's INBOX over LMTP (not through mailwire)."""
    message = (
        f"From: seed@example.test\r\nTo: {ALICE.address}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@examples.test>\r\n"
        f"Date: Fri, 27 Nov 2026 12:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()
    dovecot.seed(message, ALICE)
    dovecot.wait_for_message(ALICE, subject)


def normal(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


# ------------------------------------------------------------------ the rule


def test_every_example_has_a_test() -> None:
    numbered = sorted(path.stem for path in EXAMPLES.glob("[0-9]*.py"))
    assert len(numbered) >= 12
    missing = [stem for stem in numbered if f"test_{stem}" not in globals()]
    assert missing == [], f"examples without a test_<stem> here: {missing}"
    orphans = [
        name
        for name in globals()
        if re.match(r"test_\d\d_", name)
        and not any(name[5:] == stem or name[5:].startswith(stem + "_") for stem in numbered)
    ]
    assert orphans == [], f"tests here that name no example: {orphans}"


def test_examples_use_only_the_public_api() -> None:
    """No example imports a private module or name of mailwire (one starting with _)."""
    for path in [*EXAMPLES.glob("[0-9]*.py"), EXAMPLES / "settings.py"]:
        text = path.read_text("utf-8")
        private = re.findall(r"(?:from|import)\s+mailwire[\w.]*\._\w+|mailwire\.\w+\._\w+", text)
        private += re.findall(r"from mailwire[\w.]* import [^\n]*\b_\w+", text)
        assert private == [], f"{path.name}: {private}"
        assert text.startswith('"""'), f"{path.name} has no docstring saying what it shows"


def test_examples_readme_names_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text("utf-8")
    for path in EXAMPLES.glob("[0-9]*.py"):
        assert path.name in readme, f"examples/README.md does not mention {path.name}"
    for variable in re.findall(r"MAILWIRE_[A-Z0-9_]+", (EXAMPLES / "settings.py").read_text()):
        assert variable in readme, f"examples/README.md does not explain {variable}"


# ------------------------------------------------------------------ the examples


def test_01_build_message(tmp_path: Path) -> None:
    out = run("01_build_message.py", tmp_path).stdout
    # The printed message, read by the standard library's parser (not ours).
    text, _, rest = out.partition("-" * 60)
    parsed = email.parser.Parser(policy=email.policy.default).parsestr(text)
    assert parsed["Subject"] == "Figures for Q2 \N{EM DASH} draft"  # RFC 2047 decoded
    assert "=?utf-8?" in text.split("\n\n", 1)[0]  # encoded on the wire
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert body is not None
    assert "the figures are attached." in body.get_content()
    assert html is not None
    assert "<b>attached</b>" in html.get_content()
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "figures.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == b"quarter,total\nQ1,12\nQ2,17\n"
    assert "envelope recipients: ['bob@example.test']" in rest
    assert "text/csv filename=figures.csv" in rest


def test_02_send_smtp(tmp_path: Path, postfix_lab: PostfixLab) -> None:
    subject = unique("example 02")
    out = run("02_send_smtp.py", tmp_path, lab_env(postfix_lab.dovecot, postfix_lab), subject)
    assert f"accepted for {ALICE.address}: 250" in out.stdout
    transcript = out.stdout
    assert re.search(r"^\s+[\d.]+\s+C: STARTTLS$", transcript, re.MULTILINE)
    assert re.search(r"C\*: AUTH \S+ <redacted \d+ bytes>", transcript)
    assert re.search(r"C\*: MAIL FROM:<alice@example\.test>", transcript)
    assert "S*: 221" in transcript
    # What the docstring points out: AUTH offered only inside TLS, after a second EHLO.
    greeting = transcript.index("# mailwire annotated transcript")
    before_tls, after_tls = transcript[greeting:].split("C: STARTTLS", 1)
    assert "AUTH" not in before_tls
    assert re.search(r"C\*: EHLO .*\n(?:.*\n)*?.*S\*: 250[- ]AUTH ", after_tls)
    stored = postfix_lab.dovecot.wait_for_message(ALICE, subject)
    assert b"Sent by examples/02_send_smtp.py" in stored


def test_03_send_many_pipelined(tmp_path: Path, postfix_lab: PostfixLab) -> None:
    prefix = unique("example 03")
    env = lab_env(postfix_lab.dovecot, postfix_lab)
    out = run("03_send_many_pipelined.py", tmp_path, env, prefix).stdout
    assert "the server offers PIPELINING: True" in out  # Postfix does
    for number in (1, 2, 3):
        assert f"'{prefix} {number} of 3': accepted (250)" in out
        postfix_lab.dovecot.wait_for_message(ALICE, f"{prefix} {number} of 3")
    writes = [line for line in out.splitlines() if line.startswith("  one write:")]
    # RFC 2920: MAIL, RCPT and DATA in one write; the next MAIL rides with the end of data.
    assert any("MAIL FROM" in w and "RCPT TO" in w and "DATA" in w for w in writes), writes
    assert any(w.startswith("  one write: . | MAIL FROM") for w in writes), writes


def test_04_read_pop3(tmp_path: Path, dovecot_lab: DovecotLab) -> None:
    subject = unique("example 04")
    # The example shows the highest-numbered message, and POP3 numbers follow
    # Dovecot's UIDs, which need not follow delivery: a maildir save that finds
    # dovecot-uidlist locked gets its UID at a later sync. Once in CI a message
    # example 03 had delivered earlier came after this seed. An empty INBOX
    # first makes the seed the only message (doveadm's expunge syncs first).
    dovecot_lab.purge(ALICE)
    seed(dovecot_lab, subject, body="Read back over POP3 by example 04.")
    out = run("04_read_pop3.py", tmp_path, lab_env(dovecot_lab)).stdout
    stat = re.search(r"^(\d+) messages, \d+ octets$", out, re.MULTILINE)
    assert stat, out
    count = int(stat.group(1))
    assert count >= 1
    # The listing line of the newest message: number, size, UIDL, subject from TOP.
    assert re.search(rf"^\s+{count}\s+\d+\s+\S+\s+{subject}$", out, re.MULTILINE), out
    assert f"message {count}: From seed@example.test, Subject {subject}" in out
    assert "Read back over POP3 by example 04." in out


def test_05_pop3_to_maildir(tmp_path: Path, dovecot_lab: DovecotLab) -> None:
    subject = unique("example 05")
    seed(dovecot_lab, subject)
    target = tmp_path / "Maildir"
    out = run("05_pop3_to_maildir.py", tmp_path, lab_env(dovecot_lab), str(target), "--delete")
    assert "deleted on the server" in out.stdout
    files = list((target / "new").iterdir())
    assert any(subject.encode() in path.read_bytes() for path in files)
    assert list((target / "tmp").iterdir()) == []
    # QUIT committed the deletions: Dovecot no longer has the message.
    assert not any(subject.encode() in data for data in dovecot_lab.messages(ALICE))


def test_06_imap_list_select_search(tmp_path: Path, dovecot_lab: DovecotLab) -> None:
    subject = unique("example 06")
    seed(dovecot_lab, subject)
    out = run("06_imap_list_select_search.py", tmp_path, lab_env(dovecot_lab), subject).stdout
    folders = out.split("INBOX:", 1)[0]
    for name, attribute in (("Sent", "\\Sent"), ("Trash", "\\Trash"), ("Junk", "\\Junk")):
        assert re.search(rf"^  {name}\s+.*{re.escape(attribute)}", folders, re.MULTILINE), out
    assert re.search(r"^INBOX: \d+ messages, UIDVALIDITY \d+$", out, re.MULTILINE)
    uids = re.search(r"SEARCH SUBJECT .*: UIDs \[(\d+)\]", out)
    assert uids, out
    assert f"UID {uids.group(1)}: '{subject}' from seed@example.test" in out
    assert re.search(r"C\*: A\d+ UID SEARCH SUBJECT", out)


def test_07_imap_fetch_to_file(tmp_path: Path, dovecot_lab: DovecotLab) -> None:
    subject = unique("example 07")
    body = "x" * 50_000  # several chunks
    seed(dovecot_lab, subject, body=body)
    target = tmp_path / "fetched"
    out = run("07_imap_fetch_to_file.py", tmp_path, lab_env(dovecot_lab), str(target), subject)
    (file,) = target.iterdir()
    assert file.suffix == ".eml"
    data = file.read_bytes()
    stored = dovecot_lab.wait_for_message(ALICE, subject)
    assert normal(data) == normal(stored)  # byte for byte what Dovecot holds
    assert f"streamed {{'BODY[]': {len(data)}}}" in out.stdout
    assert f"{file.name}: Subject: {subject}" in out.stdout


def test_08_imap_append_move(tmp_path: Path, dovecot_lab: DovecotLab) -> None:
    subject = unique("example 08")
    out = run("08_imap_append_move.py", tmp_path, lab_env(dovecot_lab), subject).stdout
    appended = re.search(r"APPEND to INBOX: UIDVALIDITY \d+, UIDs \((\d+),\)", out)
    assert appended, out  # Dovecot has UIDPLUS
    moved = re.search(rf"MOVE to Examples: UIDs \[{appended.group(1)}\] became \[(\d+)\]", out)
    assert moved, out
    assert f"Examples UID {moved.group(1)}: '{subject}' \\Seen" in out
    assert "deleted the folder Examples" in out
    assert not (dovecot_lab.maildir(ALICE) / ".Examples").exists()
    assert not any(subject.encode() in data for data in dovecot_lab.messages(ALICE))


def test_09_imap_idle(tmp_path: Path, dovecot_lab: DovecotLab) -> None:
    out = run("09_imap_idle.py", tmp_path, lab_env(dovecot_lab), "60").stdout
    assert re.search(r"pushed by the server: Exists\(count=\d+", out), out
    assert re.search(r"message \d+ is new: Arrived during IDLE", out), out
    assert re.search(r"C\*: A\d+ IDLE\n\s+S\*: \+ ", out), out
    assert "C*: DONE" in out


def test_10_async_clients(tmp_path: Path, postfix_lab: PostfixLab) -> None:
    subject = unique("example 10")
    env = lab_env(postfix_lab.dovecot, postfix_lab)
    out = run("10_async_clients.py", tmp_path, env, subject).stdout
    assert f"read back over IMAP: {subject!r}" in out
    assert "SMTP: sent, the server answered 250" in out
    assert re.search(r"IMAP: UID \d+ has arrived", out)


def test_11_transcripts_and_replay(tmp_path: Path, postfix_lab: PostfixLab) -> None:
    target = tmp_path / "saved"
    env = lab_env(postfix_lab.dovecot, postfix_lab)
    out = run("11_transcripts_and_replay.py", tmp_path, env, str(target)).stdout
    names = {path.name for path in target.iterdir()}
    assert names == {
        "smtp.txt",
        "smtp.jsonl",
        "imap.txt",
        "imap.jsonl",
        "smtp.pcapng",
        "smtp.html",
        "smtp.mmd",
    }
    for path in target.iterdir():
        content = path.read_bytes()
        assert not any(s.encode() in content for s in SECRETS.values()), path.name
    smtp_text = (target / "smtp.txt").read_text("utf-8")
    assert re.search(r"C\*: AUTH \S+ <redacted \d+ bytes>", smtp_text)
    # The replay went through the whole session and our writer matched every command.
    assert re.search(r"replaying smtp\.txt: \d+ steps", out)
    assert "steps where our writer would have sent other bytes: 0" in out
    assert "(RFC 5321 §4.1.1.1)" in out
    assert "replaying imap.txt:" in out
    assert "ending in state LOGOUT" in out
    pcapng = (target / "smtp.pcapng").read_bytes()
    assert pcapng[:4] == b"\x0a\x0d\x0d\x0a"  # a pcapng Section Header Block
    html = (target / "smtp.html").read_text("utf-8")
    assert "EHLO" in html
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", html)
    assert (target / "smtp.mmd").read_text("utf-8").startswith("sequenceDiagram")
    assert f"mailwire replay {target}/smtp.txt --step" in out


def test_12_compare_with_stdlib(tmp_path: Path, postfix_lab: PostfixLab) -> None:
    env = lab_env(postfix_lab.dovecot, postfix_lab)
    out = run("12_compare_with_stdlib.py", tmp_path, env).stdout
    check_both_sent(out, postfix_lab.dovecot, ALICE)


def test_12_compare_with_stdlib_with_a_non_ascii_password(
    tmp_path: Path, postfix_lab: PostfixLab
) -> None:
    """BOB's password is not ASCII: smtplib cannot log in with it, mailwire can."""
    env = lab_env(postfix_lab.dovecot, postfix_lab)
    env.update(MAILWIRE_USER=BOB.name, MAILWIRE_PASSWORD=BOB.password)
    out = run("12_compare_with_stdlib.py", tmp_path, env).stdout
    assert re.search(
        r"^stdlib:   could not log in \(\w+\): smtplib and imaplib send passwords as ASCII only$",
        out,
        re.MULTILINE,
    ), out
    assert BOB.password not in out
    ours = re.search(r"^mailwire: mailwire (\w+)$", out, re.MULTILINE)
    assert ours, out
    postfix_lab.dovecot.wait_for_message(BOB, f"mailwire {ours.group(1)}")


def check_both_sent(out: str, dovecot: DovecotLab, user: LabUser) -> None:
    stdlib = re.search(r"^stdlib:   stdlib (\w+)$", out, re.MULTILINE)
    ours = re.search(r"^mailwire: mailwire (\w+)$", out, re.MULTILINE)
    assert stdlib, out
    assert ours, out
    assert stdlib.group(1) == ours.group(1)
    for subject in (f"stdlib {stdlib.group(1)}", f"mailwire {ours.group(1)}"):
        dovecot.wait_for_message(user, subject)


@pytest.mark.parametrize("name", ["02_send_smtp.py", "06_imap_list_select_search.py"])
def test_a_wrong_password_fails_without_showing_it(
    tmp_path: Path, postfix_lab: PostfixLab, name: str
) -> None:
    env = lab_env(postfix_lab.dovecot, postfix_lab)
    env["MAILWIRE_PASSWORD"] = "not-" + ALICE.password
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "AuthenticationError" in result.stderr
    assert env["MAILWIRE_PASSWORD"] not in result.stdout + result.stderr
