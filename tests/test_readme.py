"""Every Python example in README.md runs (offline ones directly, SMTP against aiosmtpd)."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest

from tests.lab import SmtpLab
from tests.lab.accounts import ALICE

README = pathlib.Path(__file__).parents[1] / "README.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_there_are_examples() -> None:
    assert len(blocks()) >= 2


def test_offline_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    ran = 0
    for code in blocks():
        if "def send_example" in code:
            continue
        exec(compile(code, str(README), "exec"), {})
        ran += 1
    out = capsys.readouterr().out
    assert "220 State.INIT" in out
    assert "b'EHLO client.example\\r\\n'" in out
    assert "True 10240000" in out
    assert ran >= 1


def test_smtp_example_against_the_lab(
    smtp_lab: SmtpLab, capsys: pytest.CaptureFixture[str]
) -> None:
    (code,) = [c for c in blocks() if "def send_example" in c]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(README), "exec"), namespace)
    namespace["send_example"](
        smtp_lab.host, smtp_lab.starttls_port, str(smtp_lab.ca_file), ALICE.name, ALICE.password
    )
    (message,) = smtp_lab.wait_for_messages(1)
    assert message.rcpt_tos == ("bob@example.test",)
    out = capsys.readouterr().out
    assert "bob@example.test" in out
    assert "<redacted" in out
    assert ALICE.password not in out
