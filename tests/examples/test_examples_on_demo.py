"""examples/README.md, followed to the letter: ``mailwire demo --keep``, then every example.

The README tells a learner to start the demo lab, copy the ports, the CA file
and the password file it prints into MAILWIRE_* variables, and run the
scripts, every other setting being right by default; docs/tutorial.md asks
the same before its blocks. This test does exactly that with the demo's own
servers (aiosmtpd, Twisted POP3, pymap), and runs the tutorial too, so the
defaults in examples/settings.py and the README's instructions are checked
against the lab they are written for; tests/examples/test_examples.py checks
the scripts' results in detail against Dovecot and Postfix.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from tests.demo.helpers import demo_env, need_lab, secrets_in

EXAMPLES = Path(__file__).parents[2] / "examples"
TUTORIAL = Path(__file__).parents[2] / "docs" / "tutorial.md"
BANNER = re.compile(r"^\s+(SMTP|POP3|IMAP)\s+.+?\s127\.0\.0\.1:(\d+)\s+(.*)$")


def read_banner(proc: subprocess.Popen[str]) -> str:
    """The demo's output up to the end of its "Try it yourself" block."""
    assert proc.stdout is not None
    seen = []
    while True:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError("the demo ended before keeping the lab up:\n" + "".join(seen))
        seen.append(line)
        if "--subject" in line:
            return "".join(seen)


def settings_from(banner: str) -> dict[str, str]:
    """What examples/README.md has the learner export, read off the banner."""
    found: dict[str, str] = {}
    for line in banner.splitlines():
        match = BANNER.match(line)
        if match is None:
            continue
        protocol, port, security = match.groups()
        if protocol == "POP3" and not security.startswith("implicit TLS"):
            continue  # the README: "the POP3 port is the one with implicit TLS"
        found[f"MAILWIRE_{protocol}_PORT"] = port
    cafile = re.search(r"--cafile (\S+)", banner)
    password_file = re.search(r"alice's password is in (\S+)", banner)
    assert cafile, banner
    assert password_file, banner
    found["MAILWIRE_CAFILE"] = cafile.group(1)
    found["MAILWIRE_PASSWORD_FILE"] = password_file.group(1)
    assert set(found) >= {"MAILWIRE_SMTP_PORT", "MAILWIRE_POP3_PORT", "MAILWIRE_IMAP_PORT"}
    return found


def settings_from_env_file(banner: str) -> dict[str, str]:
    """The ``export`` lines of the file the demo names, read as a shell would."""
    named = re.search(r"the settings for examples/ are in (\S+)", banner)
    assert named, banner
    settings: dict[str, str] = {}
    for line in Path(named.group(1)).read_text("utf-8").splitlines():
        words = shlex.split(line)
        assert len(words) == 2, line
        assert words[0] == "export", line
        name, _, value = words[1].partition("=")
        settings[name] = value
    assert "MAILWIRE_PASSWORD" not in settings  # only the path of the 0600 file
    return settings


def test_every_example_runs_against_the_demo_lab(tmp_path: Path) -> None:
    need_lab()
    env = demo_env(tmp_path)
    env = {k: v for k, v in env.items() if not k.startswith("MAILWIRE_") or "DEMO" in k}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailwire", "demo", "--keep"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        env=env,
    )
    failures = []
    try:
        learner = {k: v for k, v in os.environ.items() if not k.startswith("MAILWIRE_")}
        banner = read_banner(proc)
        from_banner = settings_from(banner)
        exported = settings_from_env_file(banner)
        # The file the demo writes agrees with what its banner shows the learner.
        assert {k: exported[k] for k in from_banner} == from_banner
        learner.update(exported, PYTHONIOENCODING="utf-8")
        work = tmp_path / "learner"
        work.mkdir()
        for script in sorted(EXAMPLES.glob("[0-9]*.py")):
            args = ["10"] if script.name == "09_imap_idle.py" else []
            result = subprocess.run(
                [sys.executable, str(script), *args],
                cwd=work,
                env=learner,
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=120,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            output = result.stdout + result.stderr
            if result.returncode != 0:
                failures.append(f"{script.name} exited {result.returncode}:\n{output[-3000:]}")
            elif secrets_in(output):
                failures.append(f"{script.name} printed {secrets_in(output)}")
        # The examples wrote nowhere but temporary directories of their own.
        assert list(work.iterdir()) == []
        # docs/tutorial.md, its blocks pasted one after another into one Python.
        blocks = re.findall(r"```python\n(.*?)```", TUTORIAL.read_text("utf-8"), re.DOTALL)
        result = subprocess.run(
            [sys.executable, "-"],
            input="\n".join(blocks),
            cwd=work,
            env=learner,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0 or "Course holds" not in result.stdout:
            failures.append(f"the tutorial exited {result.returncode}:\n{output[-3000:]}")
        elif secrets_in(output):
            failures.append(f"the tutorial printed {secrets_in(output)}")
    finally:
        # --keep runs until Ctrl-C; SIGTERM ends it the same way, and unlike SIGINT
        # it is not ignored when the tests themselves run as a background job.
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert failures == [], "\n\n".join(failures)
