"""RFC 2047 encoded-words: the §8 examples, and encoding that decodes back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwire import mime
from mailwire.mime._rfc2047 import decode_words, encode_words, needs_encoding

# RFC 2047 §8, "encoded form" -> "displayed as" (the comment examples).
SECTION_8 = [
    ("(=?ISO-8859-1?Q?a?=)", "(a)"),
    ("(=?ISO-8859-1?Q?a?= b)", "(a b)"),
    ("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
    ("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"),
    ("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"),
    ("(=?ISO-8859-1?Q?a_b?=)", "(a b)"),
    ("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"),
]


@pytest.mark.parametrize(("encoded", "shown"), SECTION_8)
def test_section_8_examples(encoded: str, shown: str) -> None:
    assert decode_words(encoded) == shown


def test_section_8_message_header() -> None:
    raw = (
        b"From: =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>\r\n"
        b"To: =?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>\r\n"
        b"CC: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n"
        b"Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
        b"    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=\r\n\r\n"
    )
    message = mime.parse(raw)
    assert message.subject == "If you can read this you understand the example."
    assert [(a.name, a.addr_spec) for a in message.addresses("from")] == [
        ("Keith Moore", "moore@cs.utk.edu")
    ]
    assert message.addresses("to")[0].name == "Keld Jørn Simonsen"
    assert message.addresses("cc")[0].name == "André Pirard"


def test_rfc2231_language_suffix_is_ignored() -> None:
    # RFC 2231 §5: =?charset*language?...?= carries a language tag.
    assert decode_words("=?US-ASCII*EN?Q?Keith_Moore?=") == "Keith Moore"


def test_multibyte_character_split_across_words_survives() -> None:
    # "é" is C3 A9 in UTF-8; a writer split it between two words.
    assert decode_words("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=") == "café"


def test_undecodable_word_is_kept_with_a_defect() -> None:
    defects: list[mime.Defect] = []
    assert decode_words("=?x-unknown?q?abc?=", defects) == "=?x-unknown?q?abc?="
    assert [d.code for d in defects] == ["unknown-charset"]


def test_missing_base64_padding_is_repaired() -> None:
    defects: list[mime.Defect] = []
    assert decode_words("=?utf-8?b?aGk?=", defects) == "hi"
    assert [d.code for d in defects] == ["encoded-word-padding"]


@pytest.mark.parametrize(
    ("payload", "decoded"),
    [
        ("Q====", ""),  # one data character: no whole byte (it used to raise)
        ("QUJD=RA", "ABCD"),  # padding in the middle (it used to raise)
        ("QUJDR", "ABC"),  # a lone last character: six bits, no byte
    ],
)
def test_broken_base64_word_keeps_what_decodes(payload: str, decoded: str) -> None:
    # Found by fuzzing real messages: a damaged B word made Subject raise.
    defects: list[mime.Defect] = []
    assert decode_words(f"=?us-ascii?b?{payload}?=", defects) == decoded
    assert "encoded-word-base64" in [d.code for d in defects]


@given(st.text(alphabet="AQgw+/=.-_ ", max_size=24))
def test_any_b_payload_decodes_without_raising(payload: str) -> None:
    decode_words(f"=?utf-8?b?{payload.replace(' ', '')}?=", [])


def test_encoded_newline_stays_a_character() -> None:
    # S19: decoding never makes a new field; it is text inside the value.
    assert decode_words("=?UTF-8?Q?=0A?=Bcc: evil@x") == "\nBcc: evil@x"


def test_words_are_at_most_75_characters_and_use_the_phrase_alphabet() -> None:
    words = encode_words('Grüße, "Welt" <x@y> ; (a) ' * 8)
    assert all(len(word) <= 75 for word in words)
    for word in words:
        body = word.split("?")[3]
        if word.startswith("=?utf-8?q?"):
            # §5 (3): only letters, digits, "!*+-/", "=" escapes and "_".
            assert set(body) <= set(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/=_"
            )


def test_needs_encoding() -> None:
    assert not needs_encoding("plain ascii")
    assert needs_encoding("naïve")
    assert needs_encoding("looks =?like?= a word")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_encode_then_decode_gives_the_text_back(text: str) -> None:
    assert decode_words(" ".join(encode_words(text))) == text
