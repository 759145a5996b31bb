"""11: keep a session's transcript, replay it step by step, export it.

    python examples/11_transcripts_and_replay.py [DIRECTORY]

Every client records what crossed the wire in ``client.transcript``. This
example sends one message and runs a short IMAP session, then:

- saves both transcripts as text (the C:/S: lines; passwords appear as
  ``<redacted N bytes>``, nowhere in any form) and as JSON Lines;
- loads the SMTP one back and replays it through a fresh protocol core
  (``smtp.replay``): each step shows the bytes, what the core made of them,
  the state before and after, and the RFC section. ``mailwire replay
  DIRECTORY/smtp.txt --step`` does the same on the command line, pausing
  at each step;
- exports it for Wireshark (pcapng: open it and you see the SMTP dissector
  at work, secrets replaced), as a sequence diagram in a self-contained HTML
  page, and as Mermaid text.
"""

from __future__ import annotations

import os
import sys
import tempfile

import settings

from mailwire import imap, mime, smtp
from mailwire.transcript import Transcript

directory = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="mailwire-11-")
os.makedirs(directory, exist_ok=True)

# 1. Two short sessions.
with smtp.Client(
    settings.HOST, settings.SMTP_PORT, tls=settings.SMTP_TLS, ssl_context=settings.ssl_context()
) as client:
    client.login(settings.USER, settings.password())
    client.send_message(
        mime.Message(
            sender=settings.ADDRESS,
            to=settings.ADDRESS,
            subject="Recorded by example 11",
            text="This session was saved, replayed and exported.\n",
        )
    )
smtp_session = client.transcript

with imap.Client(
    settings.HOST, settings.IMAP_PORT, tls=settings.IMAP_TLS, ssl_context=settings.ssl_context()
) as reader:
    reader.login(settings.USER, settings.password())
    reader.select("INBOX", readonly=True)
imap_session = reader.transcript

# 2. Save them: text for people (and for `mailwire replay`), JSON Lines for programs.
for name, transcript in (("smtp", smtp_session), ("imap", imap_session)):
    with open(os.path.join(directory, f"{name}.txt"), "w", encoding="utf-8") as file:
        file.write(transcript.render())
    with open(os.path.join(directory, f"{name}.jsonl"), "w", encoding="utf-8") as file:
        file.write(transcript.to_jsonl())
    print(f"saved {directory}/{name}.txt and {name}.jsonl ({len(transcript)} records)")

# 3. Load the SMTP session back and replay it, one step per event.
loaded = Transcript.load(os.path.join(directory, "smtp.txt"))
steps = list(smtp.replay(loaded))
print(f"\nreplaying smtp.txt: {len(steps)} steps; the first twelve:")
for step in steps[:12]:
    print(step)
mismatches = [step for step in steps if step.mismatch is not None]
print(f"steps where our writer would have sent other bytes: {len(mismatches)}")

imap_steps = list(imap.replay(Transcript.load(os.path.join(directory, "imap.txt"))))
print(f"replaying imap.txt: {len(imap_steps)} steps, ending in state {imap_steps[-1].after.name}")

# 4. Export: Wireshark, a web page, a Mermaid diagram. Secrets stay redacted in all three.
frames = smtp_session.export_pcapng(os.path.join(directory, "smtp.pcapng"))
with open(os.path.join(directory, "smtp.html"), "w", encoding="utf-8") as file:
    file.write(smtp_session.to_html(title="SMTP session of example 11"))
with open(os.path.join(directory, "smtp.mmd"), "w", encoding="utf-8") as file:
    file.write(smtp_session.to_mermaid())
print(f"\nwrote {directory}/smtp.pcapng ({frames} frames), smtp.html and smtp.mmd")
print(f"next: mailwire replay {directory}/smtp.txt --step")
