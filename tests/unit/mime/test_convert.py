"""Conversions to and from email.message.EmailMessage."""

from __future__ import annotations

import email.message
import email.policy

from mailwire import mime


def test_parsed_message_to_email_and_back() -> None:
    built = mime.Message(
        sender=("Zoë", "zoe@example.org"), to="b@example.net", subject="Grüße", text="hi",
        html="<p>hi</p>",
    )  # fmt: skip
    built.attach(b"\x00\x01", filename="a.bin")
    entity = mime.parse(bytes(built))
    theirs = entity.to_email_message()
    assert isinstance(theirs, email.message.EmailMessage)
    assert str(theirs["subject"]) == "Grüße"
    assert [p.get_content_type() for p in theirs.walk()] == [e.content_type for e in entity.walk()]
    again = mime.from_email_message(theirs)
    assert again.subject == "Grüße"
    assert [e.content_type for e in again.walk()] == [e.content_type for e in entity.walk()]
    assert again.parts[1].content() == b"\x00\x01"


def test_email_built_message_to_entity() -> None:
    theirs = email.message.EmailMessage(policy=email.policy.default)
    theirs["From"] = "Ann <ann@example.org>"
    theirs["Subject"] = "From email"
    theirs.set_content("body text\nFrom the start of a line\n")
    theirs.add_attachment(b"PDF", maintype="application", subtype="pdf", filename="r.pdf")
    entity = mime.from_email_message(theirs)
    assert entity.subject == "From email"
    assert entity.addresses("from") == [mime.Address("Ann", "ann@example.org")]
    text, pdf = entity.parts
    # No ">From" mangling, CRLF line ends.
    assert text.text() == "body text\r\nFrom the start of a line\r\n"
    assert (pdf.filename, pdf.content()) == ("r.pdf", b"PDF")


def test_message_to_email_keeps_bcc() -> None:
    built = mime.Message(sender="a@example.org", bcc="hidden@example.com", text="x")
    theirs = built.to_email_message()
    assert [a.addr_spec for a in theirs["bcc"].addresses] == ["hidden@example.com"]
    compat = built.to_email_message(email.policy.compat32)
    assert compat["Bcc"] == "hidden@example.com"
