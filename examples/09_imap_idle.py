"""09: IMAP IDLE: wait for new mail without asking again and again.

    python examples/09_imap_idle.py [SECONDS]

After ``IDLE`` (RFC 2177) the server pushes changes as they happen, such as
``* 5 EXISTS`` when a fifth message arrives, until the client sends ``DONE``.
To have something to see, this example starts a second connection in a
thread that APPENDs a message to INBOX a moment after IDLE began. Without
it you would wait for real mail (send some with example 02 meanwhile).

The iteration ends after SECONDS (default 30) without any event; leaving
the ``with`` block sends DONE and waits for the server's OK.
"""

from __future__ import annotations

import sys
import threading
import time

import settings

from mailwire import imap, mime

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0


def open_client() -> imap.Client:
    client = imap.Client(
        settings.HOST, settings.IMAP_PORT, tls=settings.IMAP_TLS, ssl_context=settings.ssl_context()
    )
    client.connect()
    client.login(settings.USER, settings.password())
    return client


def deliver_soon() -> None:
    """The other side: a second session that stores a message into INBOX."""
    time.sleep(0.5)
    client = open_client()
    note = mime.Message(
        sender=settings.ADDRESS,
        to=settings.ADDRESS,
        subject="Arrived during IDLE",
        text="Appended by the second connection of examples/09_imap_idle.py.\n",
    )
    client.append("INBOX", note)
    client.logout()


watcher = open_client()
opened = watcher.select("INBOX")
print(f"INBOX holds {opened.exists} messages; waiting up to {seconds:g} s for a change")

other = threading.Thread(target=deliver_soon)
arrived = None
with watcher.idle(timeout=seconds) as events:
    other.start()
    for event in events:  # Exists, Recent, ExpungeData, FetchData (flag changes) ...
        print("pushed by the server:", event)
        if isinstance(event, imap.Exists):
            arrived = event.count
            break
other.join()

if arrived is not None:
    # The newest message is the one that arrived: fetch its subject by sequence number.
    (data,) = watcher.fetch(arrived, ["ENVELOPE"], uid=False).values()
    print(f"message {arrived} is new: {data.envelope.subject if data.envelope else '?'}")
watcher.logout()

print()
print("the IMAP lines of the waiting connection:")
for line in watcher.transcript.render().splitlines():
    if line.startswith(("C", "S")):
        print(" ", line)
sys.exit(0 if arrived is not None else 1)
