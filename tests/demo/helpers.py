"""Running ``python -m mailwire demo`` as a learner would, and checking what it left."""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from tests.lab.rules import in_ci

# A password the test knows, so it can look for it in the output; the demo
# takes it from this variable instead of making a random one.
PASSWORD = "Demo-pässword-7Q"  # non-ASCII: UTF-8 must survive and stay hidden
ACCOUNTS = ("alice", "bob")
LAB_MODULES = ("aiosmtpd", "pymap", "twisted", "OpenSSL", "trustme")


def demo_env(tmp_path: Path) -> dict[str, str]:
    """The environment for a demo run: known password, private TMPDIR, no colour."""
    env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR"}}
    env.update(
        MAILWIRE_DEMO_PASSWORD=PASSWORD,
        TMPDIR=str(tmp_path),
        NO_COLOR="1",
        PYTHONIOENCODING="utf-8",
    )
    return env


def run_demo(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailwire", "demo", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env=demo_env(tmp_path),
        stdin=subprocess.DEVNULL,
        check=False,
    )


def secrets_in(text: str) -> list[str]:
    """Every form of the lab password found in ``text`` (should be none)."""
    forms = {"password": PASSWORD}
    raw = PASSWORD.encode()
    forms["base64(password)"] = base64.b64encode(raw).decode()
    for user in ACCOUNTS:
        for login in (user, f"{user}@example.test"):
            plain = b"\0" + login.encode() + b"\0" + raw
            forms[f"AUTH PLAIN for {login}"] = base64.b64encode(plain).decode()
    return [name for name, form in forms.items() if form in text]


def lab_ports(output: str) -> list[int]:
    """The ports the banner listed (``127.0.0.1:PORT``)."""
    return sorted({int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", output)})


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def demo_processes() -> list[str]:
    """Processes whose command line names a demo work directory (Dovecot, Postfix)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text("ascii", errors="replace")
        except OSError:
            continue
        if b"/mw-demo-" in cmdline and stat.rpartition(")")[2].split()[0] not in {"Z", "X"}:
            shown = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {shown}")
    return found


def lab_installed() -> str | None:
    """None when the lab extra is importable, else what is missing."""
    missing = [name for name in LAB_MODULES if importlib.util.find_spec(name) is None]
    return ", ".join(missing) or None


def imap_client_available() -> bool:
    import mailwire.imap

    try:
        return mailwire.imap.Client is not None
    except AttributeError:
        return False


def need_lab() -> None:
    """Skip (fail under CI=true) when the lab extra is not installed."""
    import pytest

    missing = lab_installed()
    if missing:
        message = f'the demo lab is not installed (missing {missing}): pip install "mailwire[lab]"'
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
