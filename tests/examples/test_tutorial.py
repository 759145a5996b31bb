"""docs/tutorial.md: every Python block runs, in order, against Postfix and Dovecot.

The tutorial asks the reader to paste its blocks into one Python session,
with the MAILWIRE_* variables of examples/README.md set; this test does the
same (one namespace, the blocks in order, the variables pointing at the lab)
and checks what each block printed against what the servers did. Delivery
through Postfix takes a moment after its 250, which the reader does not
notice; before the next message is sent, and before a block that reads mail
back, the test waits until Dovecot has the message, so the output it checks
does not depend on timing.

The mapping table is checked too: every mailwire name in its right-hand
column must exist in the library.
"""

from __future__ import annotations

import email.parser
import email.policy
import inspect
import os
import re
from pathlib import Path
from typing import Any

import pytest

import mailwire
from mailwire import imap, mime, pop3, smtp
from mailwire.imap._client_base import ClientBase as ImapClientBase
from mailwire.imap._session import Capabilities as ImapCapabilities
from mailwire.imap._session import SelectedMailbox
from mailwire.mime._parts import Attachment
from mailwire.pop3._client_base import ClientBase as Pop3ClientBase
from mailwire.smtp._capabilities import Capabilities as SmtpCapabilities
from mailwire.smtp._client_base import ClientBase as SmtpClientBase
from mailwire.tls import create_context
from tests.examples.test_examples import SECRETS, lab_env
from tests.lab import PostfixLab
from tests.lab.accounts import ALICE, BOB

TUTORIAL = Path(__file__).parents[2] / "docs" / "tutorial.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", TUTORIAL.read_text("utf-8"), flags=re.DOTALL)


def test_the_tutorial_has_its_blocks() -> None:
    code = blocks()
    assert len(code) >= 10
    # The reader's path: MailAddress, MailMessage, SmtpClient, then MailKit's three clients.
    headings = re.findall(r"^## \d+\. (.*)$", TUTORIAL.read_text("utf-8"), re.MULTILINE)
    path = ["MailAddress", "MailMessage", "SmtpClient", "MailKit's SmtpClient", "MimeMessage"]
    path += ["MailKit's Pop3Client", "MailKit's ImapClient", "What crossed the wire"]
    assert len(headings) == len(path)
    for heading, topic in zip(headings, path, strict=True):
        assert topic in heading, headings


def run_blocks(
    postfix_lab: PostfixLab,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> tuple[list[str], dict[str, Any]]:
    """Run every block in one namespace; return what each printed, and the namespace."""
    for name in [k for k in os.environ if k.startswith("MAILWIRE_")]:
        monkeypatch.delenv(name)
    env = lab_env(postfix_lab.dovecot, postfix_lab)
    for name, value in env.items():
        if name.startswith("MAILWIRE_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__tutorial__"}
    outputs = []
    for number, code in enumerate(blocks()):
        if "Sent the MailKit way" in code and "smtp.Client" in code:
            # Section 3's message first, so that section 4's is the newest one.
            postfix_lab.dovecot.wait_for_message(ALICE, "Lab report")
        if "pop3.Client" in code:
            # The message of the MailKit section must be in the INBOX before POP3 reads it.
            postfix_lab.dovecot.wait_for_message(ALICE, "Sent the MailKit way")
        exec(compile(code, f"{TUTORIAL}:block{number}", "exec"), namespace)
        outputs.append(capsys.readouterr().out)
    return outputs, namespace


def test_every_block_runs_against_the_lab(
    postfix_lab: PostfixLab,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    out, namespace = run_blocks(postfix_lab, monkeypatch, capsys, tmp_path)
    everything = "".join(out)
    assert [form for form, text in SECRETS.items() if text in everything] == []
    dovecot = postfix_lab.dovecot
    settings, address, message, smtp_out, mailkit, mimekit, pop, imap_out, aio, replay = out

    assert settings == "settings read for alice\n"

    # 1. MailAddress
    assert "Alice Example | alice@example.test | alice | example.test" in address
    assert "Bob Example <bob@example.test>" in address
    assert "refused: ValueError" in address

    # 2. MailMessage: the header block, read by the standard library's parser.
    head = message.split("RCPT TO will name:")[0]
    parsed = email.parser.Parser(policy=email.policy.default).parsestr(head + "\n")
    assert parsed["Subject"] == "Lab report \N{EN DASH} week 3"
    assert "=?utf-8?" in head
    assert parsed["Bcc"] is None
    assert parsed["X-Course"] == "Networks 101"
    assert parsed.get_content_type() == "multipart/mixed"
    assert (
        "RCPT TO will name: ['alice@example.test', 'bob@example.test', 'carol@example.test']"
        in message
    )

    # 3. SmtpClient: Postfix refused carol (no such mailbox), delivered to alice and bob.
    assert "accepted: ['alice@example.test', 'bob@example.test']" in smtp_out
    assert re.search(r"refused: \{'carol@example\.test': 55\d\}", smtp_out)
    for line in (
        "C: STARTTLS",
        "C*: RCPT TO:<carol@example.test>",
        "C*: DATA",
        "C*: .",
        "C*: QUIT",
    ):
        assert f"\n{line}\n" in smtp_out
    assert re.search(r"\nC\*: AUTH \S+ <redacted \d+ bytes>\n", smtp_out)
    assert re.search(r"\nS\*: 354 ", smtp_out)
    assert "\n#" not in smtp_out  # the notes were left out, as the text says
    for user in (ALICE, BOB):
        stored = dovecot.wait_for_message(user, "Lab report")
        assert b"X-Course: Networks 101" in stored
        assert b"Bcc" not in stored

    # 4. MailKit's SmtpClient: the calls one by one.
    auth = re.search(r"AUTH mechanisms: (\(.*\))", mailkit)
    assert auth, mailkit
    assert "'PLAIN'" in auth.group(1)
    assert "size limit: 10240000 pipelining: True" in mailkit  # main.cf: message_size_limit
    assert mailkit.endswith("250\n221\n")

    # 5. MimeKit: multipart/alternative, the HTML and its image in multipart/related.
    assert mimekit.splitlines()[:5] == [
        "multipart/alternative  ",
        "  text/plain  ",
        "  multipart/related  ",
        "    text/html  ",
        "    image/png inline logo@example.test",
    ]

    # 6. POP3: the newest message is the one section 4 sent.
    assert re.search(r"^\d+ messages; the newest is \d+ octets, id \S+$", pop, re.MULTILINE)
    assert "its subject, from TOP: Sent the MailKit way" in pop
    assert "from RETR: Sent the MailKit way - text/plain" in pop

    # 7. IMAP: appended, found, moved.
    assert re.search(r"^INBOX: \d+ messages$", imap_out, re.MULTILINE)
    filed = re.search(r"^\d+ Filed with IMAP (.*)$", imap_out, re.MULTILINE)
    assert filed, imap_out
    assert "\\Seen" in filed.group(1).split()
    moved = re.search(r"^Course holds (\d+)$", imap_out, re.MULTILINE)
    assert moved, imap_out
    assert int(moved.group(1)) >= 1
    course = dovecot.maildir(ALICE) / ".Course"
    files = [*course.glob("cur/*"), *course.glob("new/*")]
    assert any(b"Subject: Filed with IMAP" in path.read_bytes() for path in files)

    # What section 7 says its transcript shows.
    session = namespace["mail"].transcript.render()
    for line in ("C: A1 STARTTLS", "C*: A2 CAPABILITY", 'C*: A4 LIST "" "*"', "S*: A4 OK"):
        assert f"\n{line}" in session, line
    assert re.search(r"\nC\*: A3 LOGIN alice <redacted \d+ bytes>\n", session)
    # The rendering writes a backslash as \\; Dovecot offers LITERAL+, hence {N+}.
    assert re.search(r"\nC\*: A\d+ APPEND INBOX \(\\\\Seen\) \{\d+\+\}\n", session), session
    for command in ("UID SEARCH SUBJECT", "UID FETCH", "(ENVELOPE FLAGS)", "UID MOVE"):
        assert re.search(rf"\nC\*: A\d+ .*{re.escape(command)}", session), command
    # What section 6 says crossed the wire.
    pop_session = namespace["box"].transcript.render()
    for command in ("STAT", "LIST", "UIDL", "TOP \\d+ 0", "RETR \\d+"):
        assert re.search(rf"\nC\*: {command}\n", pop_session), command

    # 7, asyncio.
    assert re.search(r"^INBOX holds \d+ messages$", aio, re.MULTILINE)

    # 8. Replay of section 4's session.
    assert "S: 220 " in replay
    assert "(RFC 5321 §4.1.1.1)" in replay  # EHLO
    assert re.search(r"\d+ steps; the session ended in state CLOSED", replay)


# ------------------------------------------------------------------ the table


def table_rows() -> list[tuple[str, str]]:
    text = TUTORIAL.read_text("utf-8").split("## The classes side by side", 1)[1]
    rows = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and not set(cells[0]) <= set("-") and cells[0] != cells[1]:
            rows.append((cells[0], cells[1]))
    return rows[1:]  # the header row


#: Where a bare method, attribute or keyword named in the table may live.
OWNERS: list[Any] = [
    SmtpClientBase,
    smtp.Client,
    smtp.AsyncClient,
    Pop3ClientBase,
    pop3.Client,
    ImapClientBase,
    imap.Client,
    imap.AsyncClient,
    mime.Message,
    mime.Entity,
    mime.Address,
    Attachment,
    SmtpCapabilities,
    ImapCapabilities,
    SelectedMailbox,
    imap.NotifyGroup,
    mailwire.Transcript,
]
#: Functions the table names without their module.
FUNCTIONS = [create_context]
MODULE_CHAIN = re.compile(r"\b(?:smtp|pop3|imap|mime|TLSMode)(?:\.\w+)+")


def resolve(dotted: str) -> object:
    value: object = mailwire
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def known_names() -> set[str]:
    """Every attribute, dataclass field and parameter name of the OWNERS."""
    names: set[str] = set()
    for owner in OWNERS:
        names.update(dir(owner))
        names.update(getattr(owner, "__dataclass_fields__", {}))
        for _, member in inspect.getmembers(owner, callable):
            try:
                names.update(inspect.signature(member).parameters)
            except (TypeError, ValueError):
                continue
    for function in FUNCTIONS:
        names.add(function.__name__)
        names.update(inspect.signature(function).parameters)
    return names


def test_the_table_names_only_what_mailwire_has() -> None:
    rows = table_rows()
    assert len(rows) >= 30
    known = known_names()
    checked = 0
    for dotnet, ours in rows:
        assert re.search(r"[A-Z]", dotnet), dotnet
        for span in re.findall(r"`([^`]+)`", ours):
            for chain in MODULE_CHAIN.findall(span):
                resolve(chain)  # AttributeError when mailwire has no such thing
                checked += 1
            rest = MODULE_CHAIN.sub("", span)
            called = re.findall(r"(?:^|(?<=[\s.(\[]))([a-z_][a-z_0-9]*)(?=\(|=)", rest)
            attributes = re.findall(r"\.([a-z_][a-z_0-9]*)", rest)
            for name in {*called, *attributes} - {"open"}:
                assert name in known, f"{name!r} (in {span!r}) is not in mailwire"
                checked += 1
    assert checked >= 80
