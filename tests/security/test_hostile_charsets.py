"""Charset names are the sender's choice: none may turn into an exception.

Python's codec registry answers to names that are not text encodings
(``zlib``, ``base64``, ``rot13``), to ``undefined`` (fails on any input), to
``idna`` (refuses ``errors="replace"``), and raises ``ValueError`` for a
name holding a NUL. A message naming one of them in an encoded-word, a
Content-Type charset or an RFC 2231 parameter is damaged or hostile; it must
read as an unknown charset (RFC 2047 §6.3: show what cannot be decoded;
RFC 2046 §4.1.2), never raise. On IMAP the same name inside an ENVELOPE
used to make the whole FETCH response a protocol error, so one message could
stop a client from listing its mailbox. Found by fuzzing MimeKit's messages.
"""

from __future__ import annotations

import datetime

import pytest

from mailwire import mime
from mailwire._charset import text_codec
from mailwire.imap import FetchData
from mailwire.imap._decode import decode_header
from mailwire.mime._date import parse_date
from mailwire.mime._rfc2047 import decode_words

from ..unit.imap.helpers import read_all

HOSTILE = ["zlib", "base64", "rot13", "hex", "undefined", "idna", "utf\x00-8", "no-such-charset"]


@pytest.mark.parametrize("name", HOSTILE)
def test_no_text_codec_for_hostile_names(name: str) -> None:
    assert text_codec(name) is None


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("utf-8", "utf-8"),
        ("UTF-8", "utf-8"),
        ("iso-8859-1", "iso8859-1"),
        ("iso-2022-jp", "iso2022_jp"),
    ],
)
def test_text_codecs_for_real_charsets(name: str, codec: str) -> None:
    assert text_codec(name) == codec


@pytest.mark.parametrize("name", HOSTILE)
def test_encoded_word_with_a_hostile_charset_is_kept_as_written(name: str) -> None:
    word = f"=?{name}?q?abc?="
    defects: list[mime.Defect] = []
    assert decode_words(f"Re: {word}", defects) == f"Re: {word}"
    assert [d.code for d in defects] == ["unknown-charset"]
    assert decode_header(f"Re: {word}") == f"Re: {word}"
    assert decode_header(word) == word


@pytest.mark.parametrize("name", HOSTILE)
def test_mime_fields_and_body_with_a_hostile_charset(name: str) -> None:
    raw = (
        f"Subject: =?{name}?b?YWJj?=\r\n"
        f"From: =?{name}?q?Eve?= <eve@example.org>\r\n"
        f'Content-Type: text/plain; charset="{name}"\r\n'
        f"Content-Disposition: attachment; filename*={name}''a%FFb.txt\r\n"
        "\r\n"
        "caf\xe9\r\n"
    ).encode("latin-1")
    message = mime.parse(raw)
    assert message.subject == f"=?{name}?b?YWJj?="
    (sender,) = message.addresses("From")
    assert sender.addr_spec == "eve@example.org"
    assert message.text() == "caf\ufffd\r\n"  # read as UTF-8, as for any unknown charset
    assert message.filename == "a\ufffdb.txt"
    codes = {d.code for d in message.defects}
    assert "unknown-charset" in codes


@pytest.mark.parametrize("name", ["undefined", "idna", "zlib"])
def test_imap_envelope_with_a_hostile_charset_still_parses(name: str) -> None:
    subject = f"=?{name}?q?abc?="
    line = (
        f'* 1 FETCH (UID 7 ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" "{subject}" '
        f'(("=?{name}?q?Eve?=" NIL "eve" "example.org")) NIL NIL NIL NIL NIL NIL "<m@x>"))\r\n'
    ).encode()
    # A backslash in the flags sends the same text down the general fast path.
    general = line.replace(b"(UID 7 ", b"(FLAGS (\\Seen) UID 7 ")
    for data in (line, general):
        (fetch,) = read_all([data])
        assert isinstance(fetch, FetchData)
        assert fetch.envelope is not None
        assert fetch.envelope.subject == subject
        assert fetch.envelope.from_[0].name == f"=?{name}?q?Eve?="
    # A NUL can only come in a literal.
    literal = b"=?utf\x00-8?q?abc?="
    data = b"* 2 FETCH (ENVELOPE (NIL {%d}\r\n%s NIL NIL NIL NIL NIL NIL NIL NIL))\r\n" % (
        len(literal),
        literal,
    )
    (fetch,) = read_all([data])
    assert isinstance(fetch, FetchData)
    assert fetch.envelope is not None
    assert fetch.envelope.subject == literal.decode()


@pytest.mark.parametrize("zone", ["+2400", "-9500", "+0160", "+9959"])
def test_date_zone_out_of_range_reads_as_unknown(zone: str) -> None:
    # RFC 5322 §3.3: the zone's minutes are 00-59; an offset of a day or more
    # has no datetime.timezone. Either way the offset is not known.
    assert parse_date(f"Tue, 12 Nov 2013 09:12:42 {zone}") == datetime.datetime(
        2013, 11, 12, 9, 12, 42
    )
    message = mime.parse(f"Date: Tue, 12 Nov 2013 09:12:42 {zone}\r\n\r\n".encode())
    assert message.date == datetime.datetime(2013, 11, 12, 9, 12, 42)
