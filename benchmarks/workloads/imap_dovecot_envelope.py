"""IMAP FETCH of ENVELOPE and FLAGS for 10,000 messages from a real Dovecot (issue 6).

``setup`` starts a private Dovecot (the installed ``dovecot`` binary, run in
the foreground as a child of this process, everything it writes under one
temporary directory, nothing in /etc read) listening on 127.0.0.1 without
TLS, and seeds one mailbox by writing a Maildir directly: 10,000 small
messages with varied headers (several recipients, quoted display names, a
reply chain; every 10th subject raw UTF-8, which Dovecot sends as a literal)
and flags in the file names (``:2,S``, ``:2,FS``, ``:2,RS``). One untimed
``FETCH 1:* (ENVELOPE FLAGS)`` then lets Dovecot build its index and cache,
so every timed call reads the same warm cache. ``teardown`` stops Dovecot and
removes the directory. Without Dovecot the workload is skipped, saying so.

Each call logs in and selects beforehand; only the FETCH is timed:

- ``imaplib`` (baseline): ``uid("FETCH", "1:*", "(ENVELOPE FLAGS)")``, which
  gives raw lines and literals, nothing parsed;
- ``imapclient``: what ``IMAPClient.fetch("1:*", ["ENVELOPE", "FLAGS"])``
  does, parsed into its ``Envelope`` objects (its last step, mapping the
  requested ids back with ``int()``, fails on ``1:*`` and is left out; the
  row is unavailable without imapclient);
- ``mailwire``: ``Client.fetch("1:*", ["ENVELOPE", "FLAGS"])``, typed
  ``FetchData`` with a decoded ``Envelope``;
- ``mailwire pipelined``: ten ``UID FETCH`` of 1,000 UIDs each, all written
  before the first reply is read (``Client.pipeline``, RFC 9051 §5.5).

Checked (outside the timer): every row found each seeded message by UID with
its Message-ID and flags; the parsed rows also with its subject, decoded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import grp
import imaplib
import os
import pwd
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Measurement, Options, Unavailable, Workload

USER, PASSWORD = "bench", "bench-password"
_FLAG_SUFFIX = {0: ("", ()), 1: ("S", ("\\Seen",)), 2: ("FS", ("\\Flagged", "\\Seen"))}
_FLAG_SUFFIX[3] = ("RS", ("\\Answered", "\\Seen"))
_FIRST = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Ken", "Radia", "Tim"]
_LAST = ["Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Thompson", "Perlman"]
_WORDS = ["status", "report", "meeting", "budget", "release", "notes", "draft", "review"]

_CONFIG = """\
# Written by benchmarks/workloads/imap_dovecot_envelope.py; nothing in /etc is read.
instance_name = mailwire-bench-{name}
protocols = imap
listen = 127.0.0.1
base_dir = {work}/run
state_dir = {work}/state
log_path = {work}/log/dovecot.log
info_log_path = {work}/log/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {work}/etc/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={work}/mail/%n
}}
mail_location = maildir:~/Maildir
mail_fsync = never
service imap-login {{
  chroot = {chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"""


@dataclasses.dataclass(frozen=True)
class Seeded:
    """What one seeded message must come back as."""

    uid: int
    message_id: str
    flags: tuple[str, ...]
    subject: str


@dataclasses.dataclass
class Fixture:
    work: Path
    proc: subprocess.Popen[bytes]
    port: int
    expected: list[Seeded]

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


Row = tuple[int, str, tuple[str, ...], str | None]  # uid, Message-ID, flags, subject


def _dovecot() -> str:
    for name in ("dovecot",):
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
        if found:
            return found
    raise Unavailable("Dovecot is not installed (no dovecot binary); apt-get install dovecot-imapd")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _message(n: int, rng: random.Random) -> tuple[bytes, str]:
    def person() -> tuple[str, str]:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        return f"{first} {last}", f"{first.lower()}.{last.lower()}@example.org"

    name, addr = person()
    to = ", ".join('"{}" <{}>'.format(*person()) for _ in range(rng.randint(1, 4)))
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 7)))
    subject = f"[{n}] {words}" + (" \u00fcber caf\u00e9" if n % 10 == 0 else "")
    when = time.gmtime(1_700_000_000 + n * 97)
    lines = [
        f"From: {name} <{addr}>",
        f"To: {to}",
        *([f"Cc: {'{} <{}>'.format(*person())}"] if n % 3 == 0 else []),
        f"Subject: {subject}",
        time.strftime("Date: %a, %d %b %Y %H:%M:%S +0000", when),
        f"Message-ID: <{n}.seed@bench.example>",
        *([f"In-Reply-To: <{n - 1}.seed@bench.example>"] if n % 4 == 0 else []),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        f"Message {n}: {words}.",
        "",
    ]
    return "\n".join(lines).encode("utf-8"), subject


def _seed(maildir: Path, count: int) -> list[Seeded]:
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    rng = random.Random(20261127)
    expected = []
    base = 1_700_000_000
    for n in range(1, count + 1):
        data, subject = _message(n, rng)
        suffix, flags = _FLAG_SUFFIX[n % 4]
        # Maildir names sort by their time stamp: Dovecot gives UIDs in that order.
        path = maildir / "cur" / f"{base + n}.M{n}P1.bench,S={len(data)}:2,{suffix}"
        path.write_bytes(data)
        os.utime(path, (base + n, base + n))
        expected.append(Seeded(n, f"<{n}.seed@bench.example>", flags, subject))
    return expected


def _wait_for_greeting(proc: subprocess.Popen[bytes], port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited with status {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=2) as sock,
        ):
            if sock.recv(100).startswith(b"* OK"):
                return
        time.sleep(0.05)
    raise RuntimeError("dovecot did not greet in time")


def setup(options: Options) -> Fixture:
    program = _dovecot()
    count = 200 if options.quick else 10_000
    work = Path(tempfile.mkdtemp(prefix="mw-bench-dc-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        for sub in ("etc", "run", "state", "log", "mail"):
            (work / sub).mkdir()
        if os.geteuid() == 0:
            # As root Dovecot wants unprivileged users for its parts.
            login_user, internal_user, internal_group, chroot = (
                "dovenull",
                "dovecot",
                "dovecot",
                "login",
            )
            mail = pwd.getpwnam("mail")
            mail_uid, mail_gid = mail.pw_uid, mail.pw_gid
        else:
            me = pwd.getpwuid(os.getuid())
            login_user = internal_user = me.pw_name
            internal_group = grp.getgrgid(os.getgid()).gr_name
            chroot = ""
            mail_uid, mail_gid = os.getuid(), os.getgid()
        port = _free_port()
        config = work / "etc" / "dovecot.conf"
        config.write_text(
            _CONFIG.format(
                name=work.name,
                work=work,
                login_user=login_user,
                internal_user=internal_user,
                internal_group=internal_group,
                chroot=chroot,
                mail_uid=mail_uid,
                mail_gid=mail_gid,
                port=port,
            )
        )
        passwd = work / "etc" / "passwd"
        passwd.write_text(f"{USER}:{PASSWORD}\n")
        for path in (work, work / "run", work / "etc"):
            path.chmod(0o755)
        passwd.chmod(0o644)
        expected = _seed(work / "mail" / USER / "Maildir", count)
        if os.geteuid() == 0:
            for root, dirs, files in os.walk(work / "mail"):
                for name in [*dirs, *files]:
                    os.chown(os.path.join(root, name), mail_uid, mail_gid)
            os.chown(work / "mail", mail_uid, mail_gid)
        stderr = (work / "log" / "dovecot.stderr").open("wb")
        with stderr:
            proc = subprocess.Popen(
                [program, "-F", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        _wait_for_greeting(proc, port, 20)
        fixture = Fixture(work, proc, port, expected)
        # Index and cache built once, before anything is timed.
        with_imaplib(fixture)
        return fixture
    except BaseException:
        if proc is not None:
            _stop(proc)
        log = work / "log" / "dovecot.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(work, ignore_errors=True)
        if tail:
            print(tail)
        raise


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def teardown(fixture: Fixture) -> None:
    _stop(fixture.proc)
    shutil.rmtree(fixture.work, ignore_errors=True)


# ------------------------------------------------------------ implementations

_START = re.compile(rb"\d+ \(")
_UID = re.compile(rb"[( ]UID (\d+)")
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_MID = re.compile(rb'"(<\d+\.seed@bench\.example>)"')


def with_imaplib(fixture: Fixture) -> Measurement:
    conn = imaplib.IMAP4(*fixture.address)
    conn.login(USER, PASSWORD)
    conn.select("INBOX", readonly=True)
    start = time.perf_counter_ns()
    typ, data = conn.uid("FETCH", "1:*", "(ENVELOPE FLAGS)")
    ns = time.perf_counter_ns() - start
    conn.logout()
    assert typ == "OK", typ
    # imaplib's items: "1 (UID 1 ...)" for a response without literals; for
    # one with literals, (text, literal) tuples and then the rest as bytes.
    texts: list[bytes] = []
    for item in data:
        piece = b"".join(item) if isinstance(item, tuple) else item
        assert isinstance(piece, bytes)
        if _START.match(piece) or not texts:
            texts.append(piece)
        else:
            texts[-1] += piece
    rows: list[Row] = []
    for text in texts:
        uid, flags = _UID.search(text), _FLAGS.search(text)
        # In-Reply-To and Message-ID close the envelope: the last one is it.
        ids = _MID.findall(text)
        assert uid is not None, text[:200]
        assert flags is not None, text[:200]
        assert ids, text[:200]
        rows.append((int(uid[1]), ids[-1].decode(), _flags(flags[1].decode().split()), None))
    return Measurement(ns, _summary(rows))


def _flags(flags: Any) -> tuple[str, ...]:
    # \Recent depends on which session saw the message first: left out.
    names = (str(f.decode() if isinstance(f, bytes) else f) for f in flags)
    return tuple(sorted(name for name in names if name != "\\Recent"))


def _summary(rows: list[Row]) -> list[Row]:
    # A row that was not there in the first pass must not hide behind a
    # repeated one: duplicates stay.
    return sorted(rows)


def with_imapclient(fixture: Fixture) -> Measurement:
    try:
        from imapclient import IMAPClient
        from imapclient.response_parser import parse_fetch_response
    except ImportError as exc:
        raise Unavailable("imapclient is not installed") from exc
    client = IMAPClient(fixture.address[0], port=fixture.port, ssl=False)
    client.login(USER, PASSWORD)
    client.select_folder("INBOX", readonly=True)
    start = time.perf_counter_ns()
    # IMAPClient.fetch("1:*") fails (it maps each requested id back with
    # int()), so this is its fetch() body minus that last filter: the same
    # imaplib calls and the same parse_fetch_response.
    imap = client._imap
    tag = imap._command("UID", "FETCH", "1:*", "(ENVELOPE FLAGS)")
    typ, data = imap._command_complete("FETCH", tag)
    client._checkok("fetch", typ, data)
    typ, data = imap._untagged_response(typ, data, "FETCH")
    found = parse_fetch_response(data, client.normalise_times, True)
    ns = time.perf_counter_ns() - start
    client.logout()
    rows: list[Row] = []
    for uid, item in found.items():
        env = item[b"ENVELOPE"]
        subject = env.subject.decode("utf-8") if env.subject is not None else None
        rows.append((uid, env.message_id.decode(), _flags(item[b"FLAGS"]), subject))
    return Measurement(ns, _summary(rows))


def _mailwire(fixture: Fixture) -> Any:
    try:
        from mailwire import TLSMode
        from mailwire.imap.client import Client
    except ImportError as exc:
        raise Unavailable("mailwire.imap.client not importable") from exc
    client = Client(*fixture.address, tls=TLSMode.PLAIN, allow_plaintext_auth=True)
    client.connect()
    client.login(USER, PASSWORD)
    client.select("INBOX", readonly=True)
    return client


def _row(uid: int, data: Any) -> Row:
    env = data.envelope
    return (uid, env.message_id, _flags(data.flags), env.subject)


def with_mailwire(fixture: Fixture) -> Measurement:
    client = _mailwire(fixture)
    start = time.perf_counter_ns()
    result = client.fetch("1:*", ["ENVELOPE", "FLAGS"])
    ns = time.perf_counter_ns() - start
    client.logout()
    return Measurement(ns, _summary([_row(uid, data) for uid, data in result.items()]))


def with_mailwire_pipelined(fixture: Fixture) -> Measurement:
    from mailwire.imap.commands import Fetch
    from mailwire.imap.events import FetchData

    client = _mailwire(fixture)
    count = len(fixture.expected)
    step = max(1, count // 10)
    commands = [
        Fetch(f"{first}:{min(count, first + step - 1)}", ["ENVELOPE", "FLAGS"])
        for first in range(1, count + 1, step)
    ]
    start = time.perf_counter_ns()
    done = client.pipeline(commands)
    ns = time.perf_counter_ns() - start
    client.logout()
    rows = []
    for item in done:
        item.raise_for_status()
        rows += [_row(d.uid, d) for d in item.data if isinstance(d, FetchData)]
    return Measurement(ns, _summary(rows))


def check(fixture: Fixture, result: list[Row]) -> bool:
    want = fixture.expected
    if len(result) != len(want):
        return False
    for (uid, mid, flags, subject), seeded in zip(result, want, strict=True):
        if (uid, mid, flags) != (seeded.uid, seeded.message_id, seeded.flags):
            return False
        if subject is not None and subject != seeded.subject:
            return False
    return True


def describe(fixture: Fixture) -> str:
    return f"{len(fixture.expected):,} messages in a Maildir, Dovecot on 127.0.0.1:{fixture.port}"


WORKLOAD = Workload(
    name="imap_dovecot_envelope",
    description="IMAP FETCH (ENVELOPE FLAGS) of 10,000 messages from Dovecot (FETCH timed alone)",
    implementations={
        "imaplib (raw lines)": with_imaplib,
        "imapclient": with_imapclient,
        "mailwire": with_mailwire,
        "mailwire pipelined": with_mailwire_pipelined,
    },
    baseline="imaplib (raw lines)",
    check=check,
    setup=setup,
    teardown=teardown,
    describe=describe,
    rounds=5,
    memory=False,
)
