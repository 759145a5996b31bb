"""MIME build (research/performance.md W1): text + HTML + a 50 MiB attachment.

Each implementation builds a message with a plain-text body, an HTML
alternative and a 50 MiB random attachment read from a file, and writes it
to a file, in a fresh child process so that its peak RSS (``ru_maxrss``) is
its own (``VmHWM``). The child times build + serialise + write and reports both figures;
the harness records them as a self-timed :class:`Measurement` (the ``peak
RSS MiB`` column).

Implementations:

- ``EmailMessage+as_bytes`` (baseline): ``EmailMessage`` (policy.default),
  ``set_content`` / ``add_alternative`` / ``add_attachment`` with the file's
  bytes, then ``as_bytes()`` written to the file, as the W1 baseline;
- ``mailwire write_to``: ``mime.Message(...)``, ``attach(path)``,
  ``write_to(file)``: the attachment is read and encoded block by block.

Check: the written file is parsed back (mailwire's parser, outside the
timer) and the attachment must decode to the input bytes exactly, and the
text and HTML bodies must be there.

Goal (issue 3): >= 7x the baseline, peak RSS under 32 MiB.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

from benchmarks.harness import CheckFailed, Measurement, Options, Workload

MiB = 1024 * 1024
TEXT = "Hello,\n\nthe report is attached. Grüße!\n" * 40
HTML = "<html><body>" + "<p>The report is attached. Grüße!</p>\n" * 40 + "</body></html>"

# VmHWM (peak resident set size of this address space) starts afresh at
# exec, unlike ru_maxrss, which keeps the high-water mark of the forking
# parent on Linux and would report the harness's own size.
_PEAK = """
def peak_rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

_EMAIL = """
import sys, time, json
from email.message import EmailMessage
import email.policy
t = time.perf_counter_ns()
msg = EmailMessage(policy=email.policy.default)
msg["From"] = "Alice <alice@example.org>"
msg["To"] = "Bob <bob@example.net>"
msg["Subject"] = "W1 report"
msg.set_content(TEXT)
msg.add_alternative(HTML, subtype="html")
with open(SRC, "rb") as f:
    msg.add_attachment(f.read(), maintype="application", subtype="octet-stream",
                       filename="data.bin")
with open(OUT, "wb") as f:
    f.write(msg.as_bytes())
ns = time.perf_counter_ns() - t
print(json.dumps({"ns": ns, "rss": peak_rss_kib()}))
"""

_MAILWIRE = """
import sys, time, json
from mailwire import mime
import mailwire.mime.builder  # imported before the clock, as email.message is
t = time.perf_counter_ns()
msg = mime.Message(sender="Alice <alice@example.org>", to="Bob <bob@example.net>",
                   subject="W1 report", text=TEXT, html=HTML)
msg.attach(SRC, filename="data.bin", content_type="application/octet-stream")
with open(OUT, "wb") as f:
    msg.write_to(f)
ns = time.perf_counter_ns() - t
print(json.dumps({"ns": ns, "rss": peak_rss_kib()}))
"""


@dataclasses.dataclass
class Fixture:
    folder: Path
    source: Path
    crc: int
    size: int


def setup(options: Options) -> Fixture:
    folder = Path(tempfile.mkdtemp(prefix="mailwire-w1-"))
    size = 2 * MiB if options.quick else 50 * MiB
    data = random.Random(1).randbytes(size)
    source = folder / "attachment.bin"
    source.write_bytes(data)
    return Fixture(folder, source, zlib.crc32(data), size)


def teardown(fixture: Fixture) -> None:
    for path in fixture.folder.iterdir():
        path.unlink()
    fixture.folder.rmdir()


def _run(fixture: Fixture, script: str, out_name: str) -> Measurement:
    out = fixture.folder / out_name
    prelude = (
        f"TEXT = {TEXT!r}\nHTML = {HTML!r}\nSRC = {str(fixture.source)!r}\nOUT = {str(out)!r}\n"
    )
    src_dir = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src_dir + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", prelude + _PEAK + script],
        capture_output=True,
        check=True,
        env=env,
        timeout=300,
    )
    figures = json.loads(done.stdout)
    return Measurement(ns=figures["ns"], result=out, extra={"peak RSS MiB": figures["rss"] / 1024})


def email_as_bytes(fixture: Fixture) -> Measurement:
    return _run(fixture, _EMAIL, "email.eml")


def mailwire_write_to(fixture: Fixture) -> Measurement:
    return _run(fixture, _MAILWIRE, "mailwire.eml")


def check(fixture: Fixture, result: Any) -> None:
    from mailwire import mime

    message = mime.parse(Path(result).read_bytes())
    leaves = [entity for entity in message.walk() if not entity.parts]
    kinds = [entity.content_type for entity in leaves]
    if kinds != ["text/plain", "text/html", "application/octet-stream"]:
        raise CheckFailed(f"unexpected structure {kinds}")
    if "Grüße" not in leaves[0].text() or "Grüße" not in leaves[1].text():
        raise CheckFailed("a text body is missing")
    data = leaves[2].content()
    if len(data) != fixture.size or zlib.crc32(data) != fixture.crc:
        raise CheckFailed("the attachment does not decode to the input")


WORKLOAD = Workload(
    name="mime_build",
    description="W1: text + HTML + attachment from a file, written to a file (child process)",
    implementations={
        "EmailMessage+as_bytes": email_as_bytes,
        "mailwire write_to": mailwire_write_to,
    },
    baseline="EmailMessage+as_bytes",
    check=check,
    setup=setup,
    teardown=teardown,
    describe=lambda fixture: f"attachment {fixture.size / MiB:.0f} MiB of random bytes",
    work_bytes=lambda fixture: fixture.size,
    memory=False,
)
