"""Multipart framing (RFC 2046 §5.1) and embedded messages (§5.2.1)."""

from __future__ import annotations

import pytest

from mailwire import Limits, mime

# RFC 2046 §5.1.1, the example message, with CRLF line ends.
RFC2046_EXAMPLE = (
    b"From: Nathaniel Borenstein <nsb@bellcore.com>\r\n"
    b"To: Ned Freed <ned@innosoft.com>\r\n"
    b"Date: Sun, 21 Mar 1993 23:56:48 -0800 (PST)\r\n"
    b"Subject: Sample message\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-type: multipart/mixed; boundary="simple boundary"\r\n'
    b"\r\n"
    b"This is the preamble.  It is to be ignored, though it\r\n"
    b"is a handy place for composition agents to include an\r\n"
    b"explanatory note to non-MIME conformant readers.\r\n"
    b"\r\n"
    b"--simple boundary\r\n"
    b"\r\n"
    b"This is implicitly typed plain US-ASCII text.\r\n"
    b"It does NOT end with a linebreak.\r\n"
    b"--simple boundary\r\n"
    b"Content-type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"This is explicitly typed plain US-ASCII text.\r\n"
    b"It DOES end with a linebreak.\r\n"
    b"\r\n"
    b"--simple boundary--\r\n"
    b"\r\n"
    b"This is the epilogue.  It is also to be ignored.\r\n"
)


def test_the_rfc2046_example() -> None:
    message = mime.parse(RFC2046_EXAMPLE)
    assert message.content_type == "multipart/mixed"
    assert message.params == {"boundary": "simple boundary"}
    first, second = message.parts
    # "It does NOT end with a linebreak": the CRLF before the delimiter
    # belongs to the delimiter.
    assert first.content() == (
        b"This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak."
    )
    assert first.content_type == "text/plain"  # §5.1.1 default
    assert first.charset == "us-ascii"
    assert second.content().endswith(b"It DOES end with a linebreak.\r\n")
    assert message.preamble.startswith(b"This is the preamble.")
    assert message.epilogue == b"\r\nThis is the epilogue.  It is also to be ignored.\r\n"
    assert message.all_defects() == []
    assert bytes(message) == RFC2046_EXAMPLE


def test_transport_padding_after_a_delimiter() -> None:
    # §5.1.1: linear white space may follow the boundary on its line.
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b  \r\n\r\nx\r\n--b--\t\r\n"
    assert [part.content() for part in mime.parse(raw).parts] == [b"x"]


def test_a_longer_line_is_not_a_delimiter() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=B1\r\n\r\n--B1\r\n\r\n--B10 is text\r\n--B1--\r\n"
    )
    message = mime.parse(raw)
    assert [part.content() for part in message.parts] == [b"--B10 is text"]
    assert "boundary-prefix" in [d.code for d in message.defects]


def test_digest_parts_default_to_message_rfc822() -> None:
    # §5.1.5: in multipart/digest the default type is message/rfc822.
    raw = (
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n"
        b"--d\r\n\r\nSubject: one\r\n\r\nbody one\r\n"
        b"--d--\r\n"
    )
    [part] = mime.parse(raw).parts
    assert part.content_type == "message/rfc822"
    [inner] = part.parts
    assert inner.subject == "one"
    assert inner.content() == b"body one"


def test_walk_is_depth_first_pre_order() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=o\r\n\r\n"
        b"--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
        b"--i\r\n\r\na\r\n--i\r\nContent-Type: text/html\r\n\r\nb\r\n--i--\r\n"
        b"--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: m\r\n\r\nc\r\n"
        b"--o--\r\n"
    )
    kinds = [entity.content_type for entity in mime.parse(raw).walk()]
    assert kinds == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "message/rfc822",
        "text/plain",
    ]


def test_missing_close_delimiter() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nlast part\r\n"
    message = mime.parse(raw)
    assert [part.content() for part in message.parts] == [b"last part\r\n"]
    assert "missing-close-delimiter" in [d.code for d in message.defects]
    with pytest.raises(mime.MIMEDefectError):
        mime.parse(raw, strict=True)


def test_part_limit_counts_the_whole_message() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\nx\r\n" * 20
    message = mime.parse(raw, limits=Limits(max_mime_parts=5))
    assert len(message.parts) == 4  # the message itself is the fifth entity
    assert "too-many-parts" in [d.code for d in message.defects]


def test_encoded_message_rfc822_is_decoded_then_parsed() -> None:
    # §5.2.1 forbids base64 on message/rfc822; writers do it anyway.
    raw = (
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"U3ViamVjdDogaW5uZXINCg0KYm9keQ==\r\n"
    )
    message = mime.parse(raw)
    [inner] = message.parts
    assert inner.subject == "inner"
    assert inner.content() == b"body"
    assert "encoded-message" in [d.code for d in message.defects]


def test_mbox_from_line_and_bom_are_skipped() -> None:
    message = mime.parse(b"\xef\xbb\xbfFrom someone Mon Jan  1 00:00:00 2001\nSubject: s\n\nb")
    assert message.subject == "s"
    assert [d.code for d in message.defects] == ["byte-order-mark", "mbox-from-line"]
    assert bytes(message).startswith(b"\xef\xbb\xbf")
