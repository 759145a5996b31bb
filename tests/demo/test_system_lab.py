"""``mailwire demo --servers system``: Dovecot and Postfix, or a clear refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailwire.demo import EXIT_LAB, _system, run
from mailwire.demo._accounts import make_accounts
from mailwire.demo._errors import LabUnavailable
from tests.demo.helpers import demo_processes, need_lab, run_demo, secrets_in
from tests.demo.test_demo import check_exchanges, check_nothing_left
from tests.lab.rules import in_ci

pytestmark = pytest.mark.lab


def _installed() -> bool:
    return all(_system._program(name) for name in ("dovecot", "postfix", "postconf"))


def test_not_root_is_refused_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_system, "_program", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabUnavailable) as caught:
        _system.SystemLab(tmp_path, make_accounts()).check()
    assert "root" in str(caught.value)
    assert "mailwire demo" in caught.value.hint  # the way out: the Python servers
    # Through the demo: exit 12, the reason on stderr, nothing started.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert run(servers="system") == EXIT_LAB
    err = capsys.readouterr().err
    assert "Postfix runs only as root" in err
    assert "sudo mailwire demo --servers system" in err


def test_not_installed_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_system, "_program", lambda name: None)
    with pytest.raises(LabUnavailable) as caught:
        _system.SystemLab(tmp_path, make_accounts()).check()
    assert "not installed" in str(caught.value)
    assert "apt-get install" in caught.value.hint


def test_system_demo_end_to_end(tmp_path: Path) -> None:
    need_lab()  # trustme makes the certificates here too
    if not _installed() or os.geteuid() != 0:
        reason = "Dovecot and Postfix installed, and root (Postfix needs it)"
        if in_ci():
            pytest.fail(f"needs {reason}; CI installs them with .ci/install-servers.sh")
        pytest.skip(f"needs {reason}")
    work = tmp_path / "tmp"
    work.mkdir()
    before = set(Path("/tmp").glob("mw-demo-*"))
    result = run_demo(work, "--servers", "system")
    check_exchanges(result.stdout, result.returncode)
    assert "Postfix " in result.stdout
    assert "Dovecot " in result.stdout
    assert secrets_in(result.stdout + result.stderr) == []
    # The work dir lives in /tmp (short, for unix sockets), not in TMPDIR.
    check_nothing_left(result.stdout, work)
    assert demo_processes() == []
    assert set(Path("/tmp").glob("mw-demo-*")) <= before
