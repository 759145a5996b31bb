"""Differential: messages built by mailwire, read by ``email`` (policy.default).

Fields, structure, text bodies and attachments must be what was put in.
One difference is expected and pinned: between two adjacent encoded-words
of a display name, RFC 2047 §6.2 says white space is not displayed, and
``email``'s phrase parser keeps it.
"""

from __future__ import annotations

import email
import email.message
import email.policy

from hypothesis import given, settings
from hypothesis import strategies as st

from mailwire import mime
from mailwire.mime._parts import normalize_newlines
from mailwire.mime._rfc2047 import needs_encoding

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"),
    max_size=100,
).filter(lambda s: s == s.strip() and s.isprintable())
body = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\r"))


def _email(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


@settings(max_examples=100, deadline=None)
@given(
    subject=text,
    name=text,
    plain=body,
    html=st.one_of(st.none(), body),
    files=st.lists(st.tuples(st.binary(max_size=500), text.filter(bool)), max_size=3),
    transport=st.sampled_from([{}, {"eight_bit": True}, {"binary": True}]),
)
def test_email_reads_what_mailwire_wrote(
    subject: str,
    name: str,
    plain: str,
    html: str | None,
    files: list[tuple[bytes, str]],
    transport: dict[str, bool],
) -> None:
    built = mime.Message(
        sender=(name, "a@example.org"), to="b@example.net", subject=subject, text=plain, html=html
    )
    for data, filename in files:
        built.attach(data, filename=filename)
    theirs = _email(built.as_bytes(**transport))
    assert str(theirs["subject"]) == subject
    [author] = theirs["from"].addresses
    assert author.addr_spec == "a@example.org"
    if not needs_encoding(name):
        assert author.display_name == name
    texts = [p for p in theirs.walk() if p.get_content_maintype() == "text"]
    assert texts[0].get_content() == normalize_newlines(plain)
    if html is not None:
        assert texts[1].get_content() == normalize_newlines(html)
    attached = [p for p in theirs.walk() if p.get_content_disposition() == "attachment"]
    assert [(p.get_payload(decode=True), p.get_filename()) for p in attached] == files
    assert not [d for p in theirs.walk() for d in p.defects]


def test_email_keeps_space_between_encoded_words_of_a_name() -> None:
    raw = b"From: =?utf-8?q?J=C3=B6rg?= =?utf-8?q?_M=C3=BCller?= <j@example.org>\r\n\r\n"
    assert mime.parse(raw).addresses("from")[0].name == "Jörg Müller"  # RFC 2047 §6.2
    assert _email(raw)["from"].addresses[0].display_name == "Jörg  Müller"
