"""Header blocks and fields (RFC 5322 §2.2, §3.3, §3.6), and the Headers view."""

from __future__ import annotations

import datetime

import pytest

from mailwire import mime
from mailwire.mime._date import format_date, parse_date
from mailwire.mime._headers import header_block_end, unfold


def test_unfolding_removes_only_the_line_breaks() -> None:
    # §2.2.3: unfolding removes each CRLF that is followed by WSP.
    assert unfold(b"a\r\n b\r\n\tc") == b"a b\tc"
    assert unfold(b"a\n b") == b"a b"


def test_header_block_end_with_crlf_and_lf() -> None:
    data = b"A: 1\r\nB: 2\r\n  more\r\n\r\nbody"
    assert header_block_end(data, 0, len(data)) == (len(data) - 6, len(data) - 4, True)
    data = b"A: 1\nB: 2\n\nbody"
    assert header_block_end(data, 0, len(data)) == (10, 11, True)


def test_a_line_that_is_not_a_field_ends_the_block() -> None:
    message = mime.parse(b"Subject: x\r\nthis is not a field\r\n")
    assert message.body_bytes == b"this is not a field\r\n"
    assert "missing-header-separator" in [d.code for d in message.defects]


def test_obsolete_space_before_colon() -> None:
    # §4.5 obs-optional: WSP between the field name and the colon.
    message = mime.parse(b"Subject : hello\r\n\r\n")
    assert message.subject == "hello"


def test_headers_view() -> None:
    raw = (
        b"Received: a\r\nReceived: b\r\nX-Thing: =?utf-8?q?caf=C3=A9?=\r\n"
        b"Subject: folded\r\n line\r\n\r\n"
    )
    headers = mime.parse(raw).headers
    assert headers.get_all("received") == ["a", "b"]
    assert headers.get("RECEIVED") is not None  # not a once-only field
    assert headers.get("x-thing") == "café"
    assert headers.raw("subject") == b"folded\r\n line"
    assert headers.get("Subject") == "folded line"
    assert headers.get("missing", "default") == "default"
    assert "x-THING" in headers
    assert len(headers) == 4


def test_utf8_header_values() -> None:
    # RFC 6532 §3.2: field values may be UTF-8.
    message = mime.parse("Subject: Grüße\r\n\r\n".encode())
    assert message.subject == "Grüße"


def test_dates() -> None:
    # §3.3 and the §4.3 obsolete forms (A.6.2: "21 Nov 97 09:55:06 GMT").
    assert parse_date("Tue, 1 Jul 2003 10:52:37 +0200") == datetime.datetime(
        2003, 7, 1, 10, 52, 37, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    assert parse_date("21 Nov 97 09:55:06 GMT") == datetime.datetime(
        1997, 11, 21, 9, 55, 6, tzinfo=datetime.UTC
    )
    assert parse_date("Thu,\r\n 13\r\n Feb\r\n 1969\r\n 23:32\r\n -0330".replace("\r\n", "")) == (
        datetime.datetime(
            1969, 2, 13, 23, 32, tzinfo=datetime.timezone(-datetime.timedelta(hours=3, minutes=30))
        )
    )
    assert parse_date("not a date") is None
    moment = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)
    assert format_date(moment) == "Mon, 2 Mar 2026 10:00:00 +0000"
    assert parse_date(format_date(moment)) == moment


@pytest.mark.parametrize("name", ["from", "subject", "content-type", "message-id"])
def test_get_refuses_to_pick_a_duplicate_singleton(name: str) -> None:
    message = mime.parse(f"{name}: a@b.example\r\n{name}: c@d.example\r\n\r\n".encode())
    with pytest.raises(mime.DuplicateHeaderError):
        message.headers.get(name)
    assert len(message.headers.get_all(name)) == 2
