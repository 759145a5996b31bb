"""08: IMAP: put a message into a folder (APPEND) and move it (MOVE).

    python examples/08_imap_append_move.py ["a subject"]

APPEND stores a message you give it: no SMTP, no delivery. That is how a
mail program keeps a copy of what it sent in "Sent", or saves a draft. The
message goes as a literal: ``{N}``, the server's ``+`` go-ahead, then the N
octets (or at once, with LITERAL+, RFC 7888). With UIDPLUS (RFC 4315) the
server answers with the new message's UID: ``[APPENDUID validity uid]``.

MOVE (RFC 6851) moves messages between folders in one step; a server
without it gets COPY, STORE \\Deleted and UID EXPUNGE instead. Then the
example opens the destination, reads the subject back, and deletes the
folder again.
"""

from __future__ import annotations

import sys

import settings

from mailwire import imap, mime

subject = sys.argv[1] if len(sys.argv) > 1 else "Appended by mailwire"
folder = "Examples"
message = mime.Message(
    sender=settings.ADDRESS,
    to=settings.ADDRESS,
    subject=subject,
    text="Stored with IMAP APPEND by examples/08_imap_append_move.py.\n",
)

with imap.Client(
    settings.HOST, settings.IMAP_PORT, tls=settings.IMAP_TLS, ssl_context=settings.ssl_context()
) as client:
    client.login(settings.USER, settings.password())
    if not client.list("", folder):  # LIST "" Examples: empty when it does not exist
        client.create(folder)

    appended = client.append("INBOX", message, flags=["\\Seen"])
    print(f"APPEND to INBOX: UIDVALIDITY {appended.uidvalidity}, UIDs {appended.uids}")

    client.select("INBOX")
    uids = list(appended.uids) or client.search("SUBJECT", subject)
    moved = client.move(uids, folder)  # COPYUID: where each message went
    if moved is not None:
        print(f"MOVE to {folder}: UIDs {list(moved.source)} became {list(moved.destination)}")

    client.select(folder)
    for uid, data in client.fetch("1:*", ["ENVELOPE", "FLAGS"]).items():
        assert data.envelope is not None
        print(f"{folder} UID {uid}: {data.envelope.subject!r} {' '.join(data.flags or ())}")

    status = client.status("INBOX")
    print(f"INBOX now: {status.messages} messages, next UID {status.uidnext}")
    client.close()  # CLOSE: leave the folder (UNSELECT is not offered everywhere)
    client.delete(folder)
    print(f"deleted the folder {folder}")
