"""Shared by the pop3 and imap command-line tests: run ``python -m mailwire``, check secrets."""

from __future__ import annotations

import base64
import os
import pathlib
import socket
import subprocess
import sys
from collections.abc import Iterable

from tests.lab import DovecotLab
from tests.lab.accounts import LabUser

PASSWORD_VAR = "MW_TEST_PASSWORD"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m mailwire ARGS`` with the lab password in ``$MW_TEST_PASSWORD``."""
    return subprocess.run(
        [sys.executable, "-m", "mailwire", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def server_args(
    lab: DovecotLab, port: int, user: LabUser | None, *, tls: str = "implicit"
) -> list[str]:
    args = ["--server", lab.host, "--port", str(port), "--tls", tls, "--cafile", str(lab.ca_file)]
    if user is not None:
        args += ["--user", user.name, "--password-env", PASSWORD_VAR]
    return args


def secrets_of(user: LabUser) -> list[str]:
    """Every form in which the password could leak: as is, and in the base64 of PLAIN/LOGIN."""
    password = user.password_bytes
    return [
        user.password,
        base64.b64encode(b"\0" + user.name.encode() + b"\0" + password).decode(),
        base64.b64encode(password).decode(),
    ]


def assert_no_secret(user: LabUser, *texts: str) -> None:
    for text in texts:
        for secret in secrets_of(user):
            assert secret not in text


def closed_port(host: str) -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def client_lines(output: str) -> list[str]:
    """The client's lines of a printed text exchange (``C:`` or ``C*:``), markers removed."""
    out = []
    for line in output.splitlines():
        for marker in ("C: ", "C*: "):
            if line.startswith(marker):
                out.append(line[len(marker) :])
    return out


def read_texts(paths: Iterable[pathlib.Path]) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in paths]
