"""S19-S21: header injection is impossible in the builder, address headers
round trip, and Bcc stays blind (security.md section (c))."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwire import mime
from mailwire.mime._rfc2047 import needs_encoding

SENDER = "a@example.org"


@pytest.mark.parametrize(
    "subject", ["hi\r\nBcc: evil@x", "hi\n", "hi\r", "hi\rBcc: evil@x", "nul\0byte"]
)
def test_s19_raw_line_breaks_in_a_value_raise(subject: str) -> None:
    with pytest.raises(ValueError):
        mime.Message(sender=SENDER, to="b@example.net", subject=subject)


@pytest.mark.parametrize("name", ["X-A: b", "X\r\nY", "X Y", "", "Bad:Name", "X\0"])
def test_s19_bad_field_names_raise(name: str) -> None:
    message = mime.Message(sender=SENDER)
    with pytest.raises(ValueError):
        message.add_header(name, "value")


@pytest.mark.parametrize(
    ("field", "value"),
    [("X-Ok", "a\nb"), ("X-Ok", "a\r\n Bcc: x@y")],
)
def test_s19_custom_values_with_line_breaks_raise(field: str, value: str) -> None:
    with pytest.raises(ValueError):
        mime.Message(sender=SENDER, headers={field: value})


def test_s19_line_breaks_in_names_addresses_and_files_raise() -> None:
    with pytest.raises(ValueError):
        mime.Message(sender=("Eve\r\nBcc: x@y", "e@example.org"))
    with pytest.raises(ValueError):
        mime.Message(sender="e@example.org\r\nBcc: x@y")
    message = mime.Message(sender=SENDER)
    with pytest.raises(ValueError):
        message.attach(b"x", filename="a\r\nContent-Type: text/html")
    with pytest.raises(ValueError):
        message.attach(b"x", content_type="text/plain\r\nBcc: x@y")


def test_s19_an_encoded_newline_stays_encoded() -> None:
    # A value copied from a parsed message that holds an encoded LF.
    source = mime.parse(b"Subject: =?UTF-8?Q?=0A?=Bcc: evil@x\r\n\r\n")
    raw_value = source.headers.raw("subject")
    assert raw_value is not None
    copied = raw_value.decode()
    message = mime.Message(sender=SENDER, to="b@example.net", subject=copied)
    data = bytes(message)
    parsed = mime.parse(data)
    # Exactly the fields that were set, and no Bcc.
    assert [name.lower() for name in parsed.headers.names()] == [
        "date", "from", "to", "subject", "message-id", "mime-version",
        "content-type", "content-transfer-encoding",
    ]  # fmt: skip
    assert parsed.subject == copied  # the text, encoded-word and all, not decoded
    assert b"\r\nBcc" not in data
    # The decoded form (with its newline) cannot be set at all.
    decoded = source.subject
    assert decoded is not None
    assert "\n" in decoded
    with pytest.raises(ValueError):
        mime.Message(sender=SENDER, subject=decoded)


names = st.one_of(
    st.sampled_from(["Evil, Inc.", 'a"b', "x <y@z>", "=?utf-8?q?a=40b?=", "a\\b", "(c)", ";:"]),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"),
        min_size=1,
        max_size=90,
    ).filter(lambda s: s == s.strip(" \t")),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(names, st.sampled_from(["a@b.example", "c@d.example"])), min_size=1, max_size=5
    )
)
def test_s20_address_headers_round_trip(pairs: list[tuple[str, str]]) -> None:
    message = mime.Message(sender=SENDER, to=pairs)
    data = bytes(message)
    header = data.split(b"\r\n\r\n", 1)[0]
    to_field = header.split(b"\r\nTo: ", 1)[1].split(b"\r\nSubject")[0].split(b"\r\nMessage-ID")[0]
    parsed = mime.parse(data)
    assert [(a.name, a.addr_spec) for a in parsed.addresses("to")] == pairs
    # Separators are never inside an encoded-word: the field has exactly one
    # comma per separator outside quoted-strings and encoded-words.
    assert to_field.count(b">,") + to_field.count(b"example,") == len(pairs) - 1
    # And email reads the same mailboxes from our bytes (display names too,
    # where no encoded-words were needed: between two adjacent encoded-words
    # email keeps the white space that RFC 2047 §6.2 says to drop; see
    # tests/differential/test_mime_built.py).
    theirs = mime.parse(data).to_email_message()
    found = [(a.display_name, a.addr_spec) for a in theirs["to"].addresses]
    assert [spec for _, spec in found] == [spec for _, spec in pairs]
    for (their_name, _), (name, _) in zip(found, pairs, strict=True):
        if not needs_encoding(name) and name.isprintable():
            assert their_name == name


def test_s21_bcc_is_not_written_but_is_a_recipient() -> None:
    message = mime.Message(sender=SENDER, to="b@example.net", bcc="secret@example.com", text="x")
    data = bytes(message)
    assert b"secret" not in data
    assert "bcc" not in mime.parse(data).headers
    assert "secret@example.com" in message.envelope_recipients
    assert b"".join(message.iter_bytes()) == data
