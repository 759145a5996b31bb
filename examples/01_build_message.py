"""01: build a message with text, HTML and an attachment, and look at its bytes.

No server needed. What you see printed is exactly what goes after DATA in an
SMTP session (example 02) or inside an IMAP APPEND (example 08).

    python examples/01_build_message.py

Things to notice in the output:
- the Subject has a non-ASCII character, so it travels as an RFC 2047
  encoded-word (=?utf-8?...?=): headers are 7-bit ASCII on the wire;
- multipart/mixed holds the body and the attachment; inside it,
  multipart/alternative holds the same text twice, plain and HTML, and the
  reader's program shows the last one it understands (RFC 2046 §5.1.4);
- the attachment is in base64 (RFC 2045 §6.8), lines of 76 characters.
"""

from __future__ import annotations

import sys

from mailwire import mime

message = mime.Message(
    sender="Alice Example <alice@example.test>",
    to="Bob Example <bob@example.test>",
    subject="Figures for Q2 \N{EM DASH} draft",
    text="Hi Bob,\n\nthe figures are attached.\n\nAlice\n",
    html="<p>Hi Bob,</p><p>the figures are <b>attached</b>.</p><p>Alice</p>",
)
# An attachment from bytes (a path or an open binary file works too).
message.attach(b"quarter,total\nQ1,12\nQ2,17\n", filename="figures.csv", content_type="text/csv")

data = message.as_bytes()  # CRLF line ends, 7-bit: safe for any SMTP server
sys.stdout.write(data.decode("ascii").replace("\r\n", "\n"))

# The envelope (what SMTP's MAIL FROM and RCPT TO will carry) comes from the headers.
print("-" * 60)
print("envelope sender:    ", message.envelope_sender)
print("envelope recipients:", message.envelope_recipients)

# Parse the bytes back: the tree of MIME parts, as a mail reader sees it.
print("MIME structure:")
for part in mime.parse(data).walk():
    name = f" filename={part.filename}" if part.filename else ""
    print(f"  {'  ' * part.depth}{part.content_type}{name}")
