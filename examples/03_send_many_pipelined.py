"""03: send several messages over one connection, pipelined.

    python examples/03_send_many_pipelined.py ["subject prefix"]

Without pipelining each SMTP command waits for its reply: MAIL, RCPT, DATA,
the content, each a round trip. When the server offers PIPELINING (RFC 2920),
``send_messages`` writes MAIL FROM, RCPT TO and DATA together, and puts the
end of one message and the envelope of the next in the same write (RFC 2920
§3.1), so a batch costs about one round trip per message. A server without
PIPELINING gets the same messages one command at a time.

The output lists, for each write the client made, the commands in it: with
PIPELINING you see several commands per write.
"""

from __future__ import annotations

import sys

import settings

from mailwire import mime, smtp
from mailwire.transcript import Direction, Kind

prefix = sys.argv[1] if len(sys.argv) > 1 else "Batch message"
messages = [
    mime.Message(
        sender=settings.ADDRESS,
        to=settings.ADDRESS,
        subject=f"{prefix} {number} of 3",
        text=f"Message {number} of a batch sent by examples/03_send_many_pipelined.py.\n",
    )
    for number in (1, 2, 3)
]

with smtp.Client(
    settings.HOST, settings.SMTP_PORT, tls=settings.SMTP_TLS, ssl_context=settings.ssl_context()
) as client:
    client.login(settings.USER, settings.password())
    pipelining = client.capabilities is not None and "PIPELINING" in client.capabilities
    results = client.send_messages(messages)

print("the server offers PIPELINING:", pipelining)
for message, result in zip(messages, results, strict=True):
    verdict = "accepted" if result.accepted else "refused"
    print(f"{message.subject!r}: {verdict} ({result.reply.code if result.reply else '-'})")

# Each record the client sent is one write on the socket. Show the command
# lines of each write (the message content is left out: it is long).
print()
print("the client's writes after the login, command lines only:")
logged_in = False
for record in client.transcript:
    if record.kind is not Kind.DATA or record.direction is not Direction.CLIENT:
        continue
    lines = record.data.split(b"\r\n")
    if lines[0].startswith(b"AUTH"):
        logged_in = True
        continue
    commands = [
        line.decode("ascii", "replace")
        for line in lines
        if line[:4].upper() in {b"MAIL", b"RCPT", b"DATA", b"QUIT", b"RSET"} or line == b"."
    ]
    if logged_in and commands:
        print("  one write:", " | ".join(commands))
