"""pcapng export checked by tshark: real SMTP sessions, plain and TLS, both modes.

Default mode must dissect as SMTP with every command, and hold neither the
password nor its base64; reveal mode must carry the real TLS records plus the
key log, so tshark decrypts the session by itself (AUTH included).
"""

from __future__ import annotations

import base64
import pathlib
import shutil
import subprocess
from typing import Any

import pytest

from mailwire import TLSMode, Transcript, smtp
from tests.lab import SmtpLab
from tests.lab.accounts import ALICE
from tests.lab.rules import LabUnavailable, unavailable

MESSAGE = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: pcap\r\n\r\nhello\r\n"
PLAIN_AUTH = base64.b64encode(f"\0{ALICE.name}\0{ALICE.password}".encode())


def tshark(path: pathlib.Path, *fields: str) -> list[list[str]]:
    if shutil.which("tshark") is None:
        unavailable(LabUnavailable("tshark is not installed (apt-get install tshark)"))
    args = ["tshark", "-r", str(path), "-Y", "smtp", "-T", "fields"]
    for field in fields:
        args += ["-e", field]
    run = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    return [line.split("\t") for line in run.stdout.splitlines()]


def record_session(lab: SmtpLab, tls: TLSMode, tmp_path: pathlib.Path) -> Transcript:
    port = lab.starttls_port if tls is TLSMode.STARTTLS else lab.tls_port
    transcript = Transcript(keep_secrets=True)
    with smtp.Client(
        lab.host,
        port,
        tls=tls,
        ssl_context=lab.client_context(),
        transcript=transcript,
        keylog_file=tmp_path / "keys.log",
    ) as client:
        client.login(ALICE.name, ALICE.password)
        client.send_message(MESSAGE)
    return transcript


def commands(rows: list[list[str]]) -> list[str]:
    return [row[0] for row in rows if row and row[0]]


@pytest.mark.parametrize("tls", [TLSMode.STARTTLS, TLSMode.IMPLICIT])
def test_default_export_is_safe_and_dissects(
    smtp_lab: SmtpLab, tls: TLSMode, tmp_path: pathlib.Path
) -> None:
    transcript = record_session(smtp_lab, tls, tmp_path)
    out = tmp_path / "safe.pcapng"
    assert transcript.export_pcapng(out) > 0
    raw = out.read_bytes()
    assert ALICE.password.encode() not in raw
    assert PLAIN_AUTH not in raw
    rows = tshark(out, "smtp.req.command", "smtp.req.parameter")
    seen = commands(rows)
    for verb in ("EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"):
        assert verb in seen, (verb, seen)
    auth = [row for row in rows if row[0] == "AUTH"]
    assert auth
    assert "PLAIN" in auth[0][1]
    assert PLAIN_AUTH.decode() not in auth[0][1]


@pytest.mark.parametrize("tls", [TLSMode.STARTTLS, TLSMode.IMPLICIT])
def test_revealed_export_decrypts_with_the_embedded_keys(
    smtp_lab: SmtpLab, tls: TLSMode, tmp_path: pathlib.Path
) -> None:
    transcript = record_session(smtp_lab, tls, tmp_path)
    out = tmp_path / "reveal.pcapng"
    transcript.export_pcapng(out, reveal_secrets=True)
    raw = out.read_bytes()
    # The application bytes after the handshake are only in the TLS records.
    assert b"MAIL FROM" not in raw
    rows = tshark(out, "smtp.req.command", "smtp.req.parameter")
    seen = commands(rows)
    assert "MAIL" in seen, seen  # decrypted by tshark
    assert "QUIT" in seen, seen
    auth = [row for row in rows if row[0] == "AUTH"]
    assert auth
    assert PLAIN_AUTH.decode() in auth[0][1]


def test_reveal_needs_kept_secrets(smtp_lab: SmtpLab, tmp_path: pathlib.Path) -> None:
    transcript = Transcript()  # secrets not kept (the default)
    with smtp.Client(
        smtp_lab.host,
        smtp_lab.tls_port,
        ssl_context=smtp_lab.client_context(),
        transcript=transcript,
    ) as client:
        client.login(ALICE.name, ALICE.password)
    with pytest.raises(ValueError, match="keep_secrets"):
        transcript.export_pcapng(tmp_path / "x.pcapng", reveal_secrets=True)
    safe: Any = transcript.export_pcapng(tmp_path / "safe.pcapng")
    assert safe > 0
