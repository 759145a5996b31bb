"""05: download a POP3 mailbox into a local Maildir, safely.

    python examples/05_pop3_to_maildir.py [DIRECTORY] [--delete]

DIRECTORY defaults to a new temporary directory (its name is printed).

Each message is written to DIRECTORY/tmp, flushed to disk (fsync), then
moved to DIRECTORY/new; only then, with --delete, is its DELE sent. And
DELE only marks: the server removes marked messages when QUIT succeeds
(RFC 1939 §6). So a crash or a cut connection at any point leaves each
message on the server, on your disk, or on both: never lost.

Without --delete the messages stay on the server (run it twice and you get
two copies: a real client would remember the unique ids, see example 04).
"""

from __future__ import annotations

import sys
import tempfile

import settings

from mailwire import pop3

arguments = [a for a in sys.argv[1:] if a != "--delete"]
directory = arguments[0] if arguments else tempfile.mkdtemp(prefix="mailwire-05-")
delete = "--delete" in sys.argv

with pop3.Client(
    settings.HOST, settings.POP3_PORT, tls=settings.POP3_TLS, ssl_context=settings.ssl_context()
) as client:
    client.login(settings.USER, settings.password())
    delivered = client.retrieve_to_maildir(directory, delete=delete)
# QUIT was sent when the block ended: only now are the DELE-marked messages gone.

for item in delivered:
    if item.path is None:
        print(f"message {item.number}: not retrieved ({item.error})")
    else:
        state = "deleted on the server" if item.deleted else "left on the server"
        print(f"message {item.number} (uid {item.uid}): {item.size} octets -> {item.path}; {state}")
print(f"{len(delivered)} messages in {directory}/new")
