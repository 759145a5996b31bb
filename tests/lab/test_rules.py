"""The skip/fail rule of the lab, with the server binaries hidden.

No server is started here: the labs check their prerequisites first and
raise before writing anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab import procs
from tests.lab.certs import LabCertificates
from tests.lab.dovecot import DovecotLab
from tests.lab.postfix import PostfixLab
from tests.lab.rules import LabStartError, LabUnavailable, in_ci, start_lab

LOCAL = {"PATH": "/usr/bin"}
CI = {"PATH": "/usr/bin", "CI": "true"}


@pytest.fixture
def no_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is installed: every program lookup fails."""
    monkeypatch.setattr(procs, "find_program", lambda name: None)


@pytest.fixture
def certs(tmp_path: Path) -> LabCertificates:
    return LabCertificates(tmp_path)  # trustme is in the test group: no skip


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"CI": ""}, False),
        ({"CI": "false"}, False),
        ({"CI": "0"}, False),
        ({"CI": "true"}, True),
        ({"CI": "TRUE"}, True),
        ({"CI": "1"}, True),
    ],
)
def test_in_ci(environ: dict[str, str], expected: bool) -> None:
    assert in_ci(environ) is expected


def test_missing_dovecot_skips_outside_ci(no_programs: None, certs: LabCertificates) -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        start_lab(DovecotLab(certs).start, LOCAL)
    message = str(skipped.value)
    assert "Dovecot is not installed" in message
    assert "sudo bash .ci/install-servers.sh" in message


def test_missing_dovecot_fails_in_ci(no_programs: None, certs: LabCertificates) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        start_lab(DovecotLab(certs).start, CI)
    message = str(failed.value)
    assert "CI=true" in message
    assert "Dovecot is not installed" in message
    assert "sudo bash .ci/install-servers.sh" in message


def test_missing_postfix_skips_outside_ci_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, certs: LabCertificates
) -> None:
    real = procs.find_program
    monkeypatch.setattr(procs, "find_program", lambda name: None if "post" in name else real(name))
    lab = PostfixLab(DovecotLab(certs))
    with pytest.raises(pytest.skip.Exception, match="Postfix is not installed"):
        start_lab(lab.start, LOCAL)
    with pytest.raises(pytest.fail.Exception, match="Postfix is not installed"):
        start_lab(lab.start, CI)


def test_postfix_without_root_is_a_missing_prerequisite(
    monkeypatch: pytest.MonkeyPatch, certs: LabCertificates
) -> None:
    monkeypatch.setattr(procs, "find_program", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(procs, "is_root", lambda: False)
    lab = PostfixLab(DovecotLab(certs))
    with pytest.raises(pytest.skip.Exception, match="Postfix runs only as root"):
        start_lab(lab.start, LOCAL)
    with pytest.raises(pytest.fail.Exception, match="Postfix runs only as root"):
        start_lab(lab.start, CI)


@pytest.mark.parametrize("environ", [LOCAL, CI])
def test_start_failure_always_fails_with_the_log(environ: dict[str, str]) -> None:
    def broken() -> None:
        raise LabStartError("Dovecot did not come up\n--- dovecot.log ---\nFatal: bad config")

    with pytest.raises(pytest.fail.Exception) as failed:
        start_lab(broken, environ)
    assert "lab failed to start" in str(failed.value)
    assert "Fatal: bad config" in str(failed.value)


def test_unavailable_message_names_what_and_how() -> None:
    exc = LabUnavailable("dovecot-pop3d is not installed", "install them with: X")
    assert str(exc) == "dovecot-pop3d is not installed; install them with: X"


def test_start_lab_passes_the_lab_through() -> None:
    assert start_lab(lambda: 42, CI) == 42
