"""04: read a mailbox over POP3: STAT, LIST, UIDL, TOP and RETR.

    python examples/04_read_pop3.py

POP3 (RFC 1939) sees one mailbox, numbered from 1 for this session only.
UIDL gives each message an id that stays the same across sessions, which is
how a client remembers what it already has. TOP n 0 sends only the header,
so the listing below costs a few hundred bytes per message; RETR sends the
whole message. Nothing is deleted here (that is example 05).

Over implicit TLS (port 995) even the greeting is encrypted; with
MAILWIRE_POP3_TLS=starttls the client sends STLS first (RFC 2595).
"""

from __future__ import annotations

import settings

from mailwire import mime, pop3

with pop3.Client(
    settings.HOST, settings.POP3_PORT, tls=settings.POP3_TLS, ssl_context=settings.ssl_context()
) as client:
    client.login(settings.USER, settings.password())  # SASL when offered, else USER/PASS
    count, octets = client.stat()  # STAT
    print(f"{count} messages, {octets} octets")
    sizes = client.list()  # LIST: {number: size}
    uids = client.uidl()  # UIDL: {number: unique id}

    newest = sorted(sizes)[-10:]  # the last ten at most
    headers = client.top_many(newest, 0)  # TOP n 0 for each, pipelined when offered
    print(f"{'no':>4} {'octets':>7}  {'unique id':<30} subject")
    for number in newest:
        subject = mime.parse(headers[number]).subject
        print(f"{number:>4} {sizes[number]:>7}  {uids.get(number, '-'):<30} {subject}")

    if count:
        whole = mime.parse(client.retrieve(count))  # RETR: the newest message
        print()
        print(f"message {count}: From {whole.headers.get('From')}, Subject {whole.subject}")
        for part in whole.walk():
            if part.content_type == "text/plain":
                print(part.text().strip())
                break
# Leaving the block sent QUIT.
