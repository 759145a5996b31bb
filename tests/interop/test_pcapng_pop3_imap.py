"""pcapng export checked by tshark: real POP3 and IMAP sessions with Dovecot, both modes.

Each session runs against the Dovecot lab, with STARTTLS (STLS for POP3) and
with implicit TLS, logging in each way a password can cross the wire: POP3
USER/PASS, AUTH PLAIN with an initial response and after a "+" challenge;
IMAP LOGIN and AUTHENTICATE PLAIN (SASL-IR, RFC 4959, and after a
challenge).

Default mode (safe to share) must be dissected by tshark as POP or IMAP on
the standard plaintext port, with every command of the session, and hold
the password in no form: as sent, in base64, inside a PLAIN payload. Reveal
mode (``reveal_secrets=True``) must carry the real TLS records plus the key
log in a Decryption Secrets Block, so that tshark decrypts the session by
itself, the login included.
"""

from __future__ import annotations

import base64
import dataclasses
import pathlib
import shutil
import struct
import subprocess
import uuid
from typing import Any

import pytest

from mailwire import AuthenticationError, TLSMode, Transcript, imap, pop3
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE
from tests.lab.rules import LabUnavailable, unavailable

PLAIN_AUTH = base64.b64encode(f"\0{ALICE.name}\0{ALICE.password}".encode())
SECRET_FORMS = (
    ALICE.password.encode(),
    base64.b64encode(ALICE.password.encode()),
    PLAIN_AUTH,
    PLAIN_AUTH.rstrip(b"="),
)
MESSAGE = b"From: seed@example.test\r\nTo: alice@example.test\r\nSubject: pcap\r\n"


def tshark(path: pathlib.Path, display: str, *fields: str, tls: bool = False) -> list[list[str]]:
    """Rows of ``fields`` for the packets ``display`` selects (one field list per packet)."""
    if shutil.which("tshark") is None:
        unavailable(LabUnavailable("tshark is not installed (apt-get install tshark)"))
    args = ["tshark", "-r", str(path), "-Y", display, "-T", "fields", "-E", "occurrence=a"]
    if tls:
        args += ["-o", "tls.desegment_ssl_application_data:TRUE"]
    for field in fields:
        args += ["-e", field]
    run = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    return [line.split("\t") for line in run.stdout.splitlines()]


def blocks(data: bytes) -> list[tuple[int, int]]:
    """(block type, first body word) of every pcapng block, little-endian."""
    out = []
    pos = 0
    while pos + 16 <= len(data):
        kind, length, word = struct.unpack_from("<III", data, pos)
        out.append((kind, word))
        pos += length
    return out


def values(rows: list[list[str]], column: int = 0) -> list[str]:
    """Every value of one column (a packet may carry several, comma-separated)."""
    out = []
    for row in rows:
        if len(row) > column and row[column]:
            out += row[column].split(",")
    return out


# ---------------------------------------------------------------- sessions


@dataclasses.dataclass(frozen=True)
class Session:
    protocol: str  # "pop3" or "imap"
    tls: TLSMode
    login: str  # how the password goes over

    @property
    def name(self) -> str:
        return f"{self.protocol}-{self.tls.name.lower()}-{self.login}"


SESSIONS = [
    Session("pop3", TLSMode.STARTTLS, "user-pass"),
    Session("pop3", TLSMode.STARTTLS, "plain-initial"),
    Session("pop3", TLSMode.IMPLICIT, "plain-challenge"),
    Session("pop3", TLSMode.IMPLICIT, "user-pass"),
    Session("imap", TLSMode.STARTTLS, "login"),
    Session("imap", TLSMode.STARTTLS, "plain-initial"),
    Session("imap", TLSMode.IMPLICIT, "plain-challenge"),
    Session("imap", TLSMode.IMPLICIT, "login"),
]


def seed(lab: DovecotLab) -> None:
    lab.purge(ALICE)
    message_id = f"<{uuid.uuid4().hex}@pcapng.test>"
    lab.seed(MESSAGE + f"Message-ID: {message_id}\r\n\r\nhello\r\n".encode(), ALICE)
    lab.wait_for_message(ALICE, message_id)


def run_pop3(lab: DovecotLab, session: Session, transcript: Transcript, keys: pathlib.Path) -> None:
    port = lab.pop3_port if session.tls is TLSMode.STARTTLS else lab.pop3s_port
    with pop3.Client(
        lab.host,
        port,
        tls=session.tls,
        ssl_context=lab.client_context(),
        transcript=transcript,
        keylog_file=keys,
    ) as client:
        if session.login == "user-pass":
            client.login(ALICE.name, ALICE.password, mechanisms=["USER"])
        else:
            initial = session.login == "plain-initial"
            client.authenticate("PLAIN", ALICE.name, ALICE.password, initial_response=initial)
        client.list()
        client.uidl()
        client.retrieve(1)


def run_imap(lab: DovecotLab, session: Session, transcript: Transcript, keys: pathlib.Path) -> None:
    port = lab.imap_port if session.tls is TLSMode.STARTTLS else lab.imaps_port
    with imap.Client(
        lab.host,
        port,
        tls=session.tls,
        ssl_context=lab.client_context(),
        transcript=transcript,
        keylog_file=keys,
    ) as client:
        if session.login == "login":
            client.login(ALICE.name, ALICE.password)
        else:
            client.authenticate(
                "PLAIN",
                username=ALICE.name,
                password=ALICE.password,
                initial_response=session.login == "plain-initial",
            )
        client.select("INBOX")
        uids = client.search("ALL")
        client.fetch(uids, ["FLAGS", "RFC822.SIZE"])
        client.logout()


@pytest.fixture(scope="module", params=SESSIONS, ids=lambda s: s.name)
def recorded(
    request: pytest.FixtureRequest,
    dovecot_lab: DovecotLab,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Session, Transcript]:
    session: Session = request.param
    keys = tmp_path_factory.mktemp("keys") / "keys.log"
    transcript = Transcript(keep_secrets=True)
    seed(dovecot_lab)
    if session.protocol == "pop3":
        run_pop3(dovecot_lab, session, transcript, keys)
    else:
        run_imap(dovecot_lab, session, transcript, keys)
    assert keys.stat().st_size > 0  # the client wrote this session's TLS keys
    return session, transcript


def expected_commands(session: Session) -> list[str]:
    if session.protocol == "pop3":
        login = {"user-pass": ["USER", "PASS"]}.get(session.login, ["AUTH"])
        stls = ["STLS"] if session.tls is TLSMode.STARTTLS else []
        return ["CAPA", *stls, *login, "LIST", "UIDL", "RETR", "QUIT"]
    login = ["LOGIN"] if session.login == "login" else ["AUTHENTICATE"]
    # RFC 9051 §6.2.1: after STARTTLS the capabilities are asked again; with
    # implicit TLS, Dovecot's greeting carries them and none is asked.
    stls = ["STARTTLS", "CAPABILITY"] if session.tls is TLSMode.STARTTLS else []
    return [*stls, *login, "SELECT", "SEARCH", "FETCH", "LOGOUT"]


def dissect(path: pathlib.Path, session: Session) -> tuple[list[str], list[list[str]]]:
    """The request commands tshark sees, and the raw rows (command, parameter)."""
    if session.protocol == "pop3":
        rows = tshark(path, "pop.request", "pop.request.command", "pop.request.parameter")
    else:
        rows = tshark(path, "imap.request", "imap.request.command", "imap.request")
    return [v.upper() for v in values(rows)], rows


# ------------------------------------------------------------------- tests


def test_default_export_is_safe_and_dissects(
    recorded: tuple[Session, Transcript], tmp_path: pathlib.Path
) -> None:
    session, transcript = recorded
    out = tmp_path / "safe.pcapng"
    assert transcript.export_pcapng(out) > 0
    raw = out.read_bytes()
    for form in SECRET_FORMS:
        assert form not in raw, form
    port = {"pop3": "110", "imap": "143"}[session.protocol]
    ports = values(tshark(out, "tcp.flags.syn == 1 && tcp.flags.ack == 0", "tcp.dstport"))
    assert set(ports) == {port}
    seen, rows = dissect(out, session)
    for command in expected_commands(session):
        assert command in seen, (command, seen)
    text = "\n".join("\t".join(row) for row in rows)
    assert ALICE.password not in text
    assert PLAIN_AUTH.decode() not in text
    if session.protocol == "pop3" and session.login == "user-pass":
        password = next(row for row in rows if row[0].upper() == "PASS")
        assert set(password[1]) == {"*"}  # masked, the same length
        assert len(password[1]) == len(ALICE.password)
    if "plain" in session.login:
        assert "PLAIN" in text
    if session.protocol == "imap" and session.login == "login":
        assert f"LOGIN {ALICE.name} " in text


def test_revealed_export_decrypts_with_the_embedded_keys(
    recorded: tuple[Session, Transcript], tmp_path: pathlib.Path
) -> None:
    session, transcript = recorded
    out = tmp_path / "reveal.pcapng"
    transcript.export_pcapng(out, reveal_secrets=True)
    raw = out.read_bytes()
    # What followed the handshake is only inside the TLS records...
    assert b"RETR 1" not in raw
    assert b"SELECT INBOX" not in raw
    assert ALICE.password.encode() not in raw
    # ...and the keys to read it are in a Decryption Secrets Block (type 0x0A, TLS key log).
    assert (0x0000000A, 0x544C534B) in blocks(raw)
    seen, rows = dissect(out, session)
    for command in expected_commands(session):
        assert command in seen, (command, seen)  # decrypted by tshark
    text = "\n".join("\t".join(row) for row in rows)
    if session.login == "user-pass":
        assert ALICE.password in text
    elif "plain" in session.login:
        assert PLAIN_AUTH.decode().rstrip("=") in text
    else:
        assert ALICE.password in text  # LOGIN alice alice-password


def test_a_quoted_login_password_is_masked(dovecot_lab: DovecotLab, tmp_path: pathlib.Path) -> None:
    # No lab account has a password that needs quoting (RFC 9051 §4.3: a
    # space makes it a quoted string), so this one is refused, but it
    # crosses the wire all the same, quotes and all.
    wrong = 'not the "real" one'
    transcript = Transcript()
    with (
        imap.Client(
            dovecot_lab.host,
            dovecot_lab.imap_port,
            tls=TLSMode.STARTTLS,
            ssl_context=dovecot_lab.client_context(),
            transcript=transcript,
        ) as client,
        pytest.raises(AuthenticationError),
    ):
        client.login(ALICE.name, wrong)
    quoted = b'"not the \\"real\\" one"'
    out = tmp_path / "quoted.pcapng"
    transcript.export_pcapng(out)
    raw = out.read_bytes()
    assert wrong.encode() not in raw
    assert quoted not in raw
    assert b"real" not in raw
    rows = tshark(out, 'imap.request.command == "LOGIN"', "imap.request.username", "imap.request")
    assert len(rows) == 1
    username, request = rows[0]
    assert username == ALICE.name
    _tag, login, user, masked = request.split(" ", 3)
    assert (login.upper(), user) == ("LOGIN", ALICE.name)
    assert set(masked) == {"*"}
    assert len(masked) == len(quoted)  # the quotes and escapes were masked too


def test_reveal_needs_kept_secrets(dovecot_lab: DovecotLab, tmp_path: pathlib.Path) -> None:
    transcript = Transcript()  # secrets not kept (the default)
    with pop3.Client(
        dovecot_lab.host,
        dovecot_lab.pop3s_port,
        ssl_context=dovecot_lab.client_context(),
        transcript=transcript,
    ) as client:
        client.login(ALICE.name, ALICE.password)
    with pytest.raises(ValueError, match="keep_secrets"):
        transcript.export_pcapng(tmp_path / "x.pcapng", reveal_secrets=True)
    safe: Any = transcript.export_pcapng(tmp_path / "safe.pcapng")
    assert safe > 0
