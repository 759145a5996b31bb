"""02: send a message over SMTP with STARTTLS and AUTH, and read the transcript.

    python examples/02_send_smtp.py ["a subject of your own"]

The message goes from your account to itself (settings.ADDRESS), so examples
04 to 07 can read it back. The annotated transcript printed at the end is
every line that crossed the wire, with the seconds since the start:

- ``S: 220 ...`` the greeting, then ``C: EHLO``: the server lists its
  extensions (RFC 5321 §4.1.1.1); AUTH is not among them yet (a careful
  server offers it only inside TLS);
- ``C: STARTTLS`` then ``C*:``/``S*:`` lines: the star means "inside TLS";
  the client says EHLO again, because everything said before TLS is
  forgotten (RFC 3207 §4.2), and now AUTH is offered;
- ``C*: AUTH ... <redacted N bytes>``: mailwire never records your password;
- ``MAIL FROM`` and ``RCPT TO`` are the envelope, ``DATA`` the message, and
  the ``250`` after the lone ``.`` means the server took responsibility for
  it (RFC 5321 §4.1.1.4).
"""

from __future__ import annotations

import sys

import settings

from mailwire import mime, smtp

subject = sys.argv[1] if len(sys.argv) > 1 else "Hello from mailwire"
message = mime.Message(
    sender=settings.ADDRESS,
    to=settings.ADDRESS,
    subject=subject,
    text="Sent by examples/02_send_smtp.py over STARTTLS, after AUTH.\n",
)

client = smtp.Client(
    settings.HOST,
    settings.SMTP_PORT,
    tls=settings.SMTP_TLS,  # STARTTLS here: required, never silently skipped
    ssl_context=settings.ssl_context(),  # the certificate is verified
)
# Entering the block connects: greeting, EHLO, STARTTLS, EHLO again.
with client:
    offered = client.capabilities  # what the last EHLO listed, known once connected
    assert offered is not None
    print("the server offers:", ", ".join(sorted(offered.keywords)))
    client.login(settings.USER, settings.password())  # the best mechanism both know
    result = client.send_message(message)  # envelope from the From/To headers
# Leaving the block sent QUIT.

for recipient, reply in result.accepted.items():
    print(f"accepted for {recipient}: {reply.code} {reply.text}")
print()
print(client.transcript.render(style="annotated"))
