"""07: IMAP: download whole messages straight into files, never into memory.

    python examples/07_imap_fetch_to_file.py [DIRECTORY] ["words of a subject"]

A message body arrives as an IMAP literal: ``{12345}`` then exactly that
many bytes (RFC 9051 §4.3). Given a ``sink``, mailwire writes each literal
to a file chunk by chunk as it arrives, so a 200 MB message costs one chunk
of memory. ``imap.file_sinks(DIRECTORY)`` writes UID.eml for each message:
to UID.eml.part while it arrives, renamed when complete, removed if the
connection fails half-way.

BODY.PEEK[] fetches the whole message without marking it \\Seen (BODY[]
would mark it, RFC 9051 §6.4.5).
"""

from __future__ import annotations

import os
import sys
import tempfile

import settings

from mailwire import imap

directory = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="mailwire-07-")
words = sys.argv[2] if len(sys.argv) > 2 else None
os.makedirs(directory, exist_ok=True)


def progress(uid: int, section: str, done: int, total: int) -> None:
    if done == total:  # called after every chunk; print only the last
        print(f"  UID {uid}: {section} {done} of {total} octets")


with imap.Client(
    settings.HOST, settings.IMAP_PORT, tls=settings.IMAP_TLS, ssl_context=settings.ssl_context()
) as client:
    client.login(settings.USER, settings.password())
    client.select("INBOX", readonly=True)
    uids = client.search("SUBJECT", words) if words else client.search("ALL")[-3:]
    print(f"fetching UIDs {uids} into {directory}/")
    if uids:
        result = client.fetch(
            uids, ["BODY.PEEK[]"], sink=imap.file_sinks(directory), progress=progress
        )
        for uid, data in sorted(result.items()):
            # The bodies went to the files: the result only says how big they were.
            print(f"  UID {uid}: streamed {dict(data.streamed)}")

for name in sorted(os.listdir(directory)):
    with open(os.path.join(directory, name), "rb") as file:
        subject = next(
            (line for line in file if line.lower().startswith(b"subject:")), b"(no subject)"
        )
    print(f"{name}: {subject.decode('ascii', 'replace').strip()}")
