"""The demo transcripts shipped in examples/transcripts/: they load, replay, export, hide secrets.

They were saved by ``mailwire demo --save`` with the lab password fixed
through ``MAILWIRE_DEMO_PASSWORD`` (the README there says so), so that this
test can look for it in every form a client could have leaked it.
"""

from __future__ import annotations

import base64
import pathlib
import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from mailwire import Transcript, imap, pop3, smtp
from mailwire._transcript_protocol import guess_protocol

DIRECTORY = pathlib.Path(__file__).resolve().parents[3] / "examples" / "transcripts"
PASSWORD = "lab-only-Pw-4f9c2e"  # the throwaway demo-lab password, see README.md
USERS = ("alice", "bob")
REPLAY: dict[str, Callable[[Transcript], Iterator[object]]] = {
    "smtp": smtp.replay,
    "pop3": pop3.replay,
    "imap": imap.replay,
}
FILES = [DIRECTORY / f"{name}.{form}" for name in REPLAY for form in ("txt", "jsonl")]


def leaked_forms() -> list[str]:
    """The password as it could appear: plain, base64, in a PLAIN payload (RFC 4616)."""
    forms = {PASSWORD, base64.b64encode(PASSWORD.encode()).decode()}
    for user in USERS:
        for authzid in ("", user, f"{user}@example.test"):
            for authcid in (user, f"{user}@example.test"):
                payload = f"{authzid}\0{authcid}\0{PASSWORD}".encode()
                forms.add(base64.b64encode(payload).decode().rstrip("="))
    return sorted(forms)


def test_the_readme_names_the_password_this_test_looks_for() -> None:
    readme = (DIRECTORY / "README.md").read_text("utf-8")
    assert f"MAILWIRE_DEMO_PASSWORD={PASSWORD} mailwire demo --save examples/transcripts" in readme


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_secret_in_any_form(path: pathlib.Path) -> None:
    text = path.read_text("utf-8")
    for form in leaked_forms():
        assert form not in text
    # The decoded bytes of JSON Lines too (base64 of base64 hides nothing from this).
    loaded = Transcript.load(path)
    for record in loaded.records:
        for form in leaked_forms():
            assert form.encode() not in record.data
    # Where a secret crossed the wire, it is redacted in place.
    client = loaded.render()
    assert re.search(r"(AUTH PLAIN|LOGIN bob) <redacted \d+ bytes>", client)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_replays_through_its_core_without_difference(path: pathlib.Path) -> None:
    transcript = Transcript.load(path)
    protocol = path.stem
    assert guess_protocol(transcript) == protocol
    steps = list(REPLAY[protocol](transcript))
    assert len(steps) > 20
    for step in steps:
        explanation = step.explanation  # type: ignore[attr-defined]
        assert getattr(step, "mismatch", None) is None, str(step)
        assert "refuses this" not in explanation, str(step)
        assert "Error" not in explanation.split(":")[0], str(step)
        assert not explanation.startswith("not understood"), str(step)
    final = steps[-1].after.name  # type: ignore[attr-defined]
    # SMTP and POP3 end when QUIT is answered (RFC 5321 §4.1.1.10, RFC 1939 §6);
    # IMAP when LOGOUT's tagged OK arrives (RFC 9051 §6.1.3).
    assert final == {"smtp": "CLOSED", "pop3": "CLOSED", "imap": "LOGOUT"}[protocol]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_exports(path: pathlib.Path, tmp_path: pathlib.Path) -> None:
    transcript = Transcript.load(path)
    transcript.protocol = guess_protocol(transcript)
    out = tmp_path / "session.pcapng"
    assert transcript.export_pcapng(out) > 0
    data = out.read_bytes()
    assert data[:4] == b"\x0a\x0d\x0d\x0a"  # pcapng Section Header Block
    for form in leaked_forms():
        assert form.encode() not in data
    html = transcript.to_html()
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html, re.IGNORECASE)
    assert transcript.to_mermaid().startswith("sequenceDiagram")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_readme_commands_work(path: pathlib.Path, tmp_path: pathlib.Path) -> None:
    def mailwire(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mailwire", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    replayed = mailwire("replay", str(path))
    assert replayed.returncode == 0, replayed.stderr
    assert f"as {path.stem.upper()} through a fresh core" in replayed.stdout
    assert "our writer would send" not in replayed.stdout
    out = tmp_path / "session.pcapng"
    exported = mailwire("export", str(path), "--to", "pcapng", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    assert out.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"


def test_the_readme_python_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (DIRECTORY / "README.md").read_text("utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    monkeypatch.chdir(DIRECTORY.parents[1])
    exec(compile(code, "examples/transcripts/README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "greeting (RFC 1939 §4)" in printed
    assert "QUIT: TRANSACTION -> UPDATE" in printed
