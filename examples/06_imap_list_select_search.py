"""06: IMAP: list the folders, open INBOX, search it, read envelopes.

    python examples/06_imap_list_select_search.py ["words of a subject"]

Every IMAP command starts with a tag (A1, A2 ...) and ends when the server
answers with the same tag; the lines starting with ``*`` before that are
the data (RFC 9051 §2.2.2). The transcript at the end shows it all.

- LIST: the folders, with attributes such as \\Sent or \\Trash (RFC 6154);
- SELECT: opens a folder; the server says how many messages it holds
  (EXISTS) and its UIDVALIDITY: a UID means the same message for as long as
  UIDVALIDITY does not change;
- SEARCH: the UIDs of the messages that match (mailwire uses UIDs, never
  the sequence numbers that shift when a message is expunged);
- FETCH ENVELOPE: the main header fields, parsed by the server, without
  downloading the message.
"""

from __future__ import annotations

import sys

import settings

from mailwire import imap

words = sys.argv[1] if len(sys.argv) > 1 else None

with imap.Client(
    settings.HOST, settings.IMAP_PORT, tls=settings.IMAP_TLS, ssl_context=settings.ssl_context()
) as client:
    client.login(settings.USER, settings.password())

    print("folders:")
    for folder in client.list():
        print(f"  {folder.name:<20} {' '.join(folder.attributes)}")

    opened = client.select("INBOX", readonly=True)  # EXAMINE: nothing gets marked \Seen
    print(f"INBOX: {opened.exists} messages, UIDVALIDITY {opened.uidvalidity}")

    if words:
        uids = client.search("SUBJECT", words)  # the server matches substrings, any case
        print(f"SEARCH SUBJECT {words!r}: UIDs {uids}")
    else:
        uids = client.search("ALL")[-5:]
        print(f"the last {len(uids)} messages: UIDs {uids}")

    if uids:
        for uid, data in sorted(client.fetch(uids, ["ENVELOPE", "FLAGS"]).items()):
            envelope = data.envelope
            assert envelope is not None
            sender = envelope.from_[0].addr_spec if envelope.from_ else "?"
            flags = " ".join(data.flags or ()) or "(no flags)"
            print(f"  UID {uid}: {envelope.subject!r} from {sender}, {flags}")

print()
print(client.transcript.render())
