"""Transfer encodings (RFC 2045 §6): vectors, the MimeKit encoder files, choice rules."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwire import mime
from mailwire.mime._defects import Defect
from mailwire.mime._encodings import (
    choose_text_encoding,
    decode_body,
    encode_base64,
    encode_qp,
    iter_base64,
)
from tests.unit.mime.corpus import MIMEKIT

ENCODERS = MIMEKIT / "encoders"


def _decode(body: bytes, cte: str) -> tuple[bytes, list[str]]:
    defects: list[Defect] = []
    return decode_body(body, cte, defects, check=True), [d.code for d in defects]


def test_corpus_is_there() -> None:
    # shared/ sits beside the checkout (CI lays it there): a missing corpus is
    # a failure, never a silent skip.
    assert ENCODERS.is_dir(), ENCODERS


def test_mimekit_photo_base64() -> None:
    photo = (ENCODERS / "photo.jpg").read_bytes()
    assert _decode((ENCODERS / "photo.b64").read_bytes(), "base64") == (photo, [])
    # Our encoder gives 76-column lines that decode to the photo.
    encoded = b"".join(iter_base64([photo[:1000], photo[1000:]]))
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    assert binascii.a2b_base64(encoded) == photo
    assert encoded == encode_base64(photo)


def test_mimekit_wikipedia_quoted_printable() -> None:
    text = (ENCODERS / "wikipedia.txt").read_bytes()
    decoded, defects = _decode((ENCODERS / "wikipedia.qp").read_bytes(), "quoted-printable")
    assert decoded == text
    assert defects == []


def test_quoted_printable_rules() -> None:
    # §6.7: soft line breaks, =XX, and trailing white space deleted (rule 3).
    assert _decode(b"a=3Db=\r\nc  \r\nd\t\r\n", "quoted-printable")[0] == b"a=bc\r\nd\r\n"
    # Note 1: an "=" not followed by hex digits is left as it is.
    assert _decode(b"100% =ZZ", "quoted-printable")[0] == b"100% =ZZ"


def test_base64_junk_and_padding() -> None:
    assert _decode(b"aGVs bG8=\r\n", "base64") == (b"hello", [])
    assert _decode(b"aGVs*bG8=", "base64") == (b"hello", ["base64-junk"])
    assert _decode(b"aGVsbG8", "base64") == (b"hello", ["base64-padding"])


def test_identity_and_unknown_encodings_keep_the_bytes() -> None:
    for cte in ("7bit", "8bit", "binary", "x-foo"):
        assert _decode(b"\xff raw", cte)[0] == b"\xff raw"


def test_unknown_encoding_makes_the_part_opaque() -> None:
    # RFC 2049 §2: unknown encoding -> treat as application/octet-stream.
    message = mime.parse(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-foo\r\n\r\nx")
    assert message.content_type == "application/octet-stream"
    assert "unknown-encoding" in [d.code for d in message.defects]


@pytest.mark.parametrize(
    ("data", "eight_bit", "binary", "expected"),
    [
        (b"plain ascii\r\n", False, False, "7bit"),
        (b"x" * 999, False, False, "quoted-printable"),  # RFC 5322 §2.1.1: 998
        ("déjà vu, then a long run of plain ascii text".encode(), False, False, "quoted-printable"),
        ("日本語のテキスト".encode(), False, False, "base64"),
        ("déjà vu".encode(), True, False, "8bit"),
        (b"x" * 999, True, False, "quoted-printable"),
        (b"x" * 999, False, True, "binary"),
        (b"nul\0byte", False, False, "quoted-printable"),
    ],
)
def test_text_encoding_choice(data: bytes, eight_bit: bool, binary: bool, expected: str) -> None:
    assert choose_text_encoding(data, eight_bit=eight_bit, binary=binary) == expected


@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=700))
def test_streamed_base64_equals_whole_base64(data: bytes, cut: int) -> None:
    chunks = [data[i : i + cut] for i in range(0, len(data), cut)]
    assert b"".join(iter_base64(chunks)) == encode_base64(data)
    assert binascii.a2b_base64(encode_base64(data)) == data


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=500))
def test_qp_round_trip_of_crlf_text(text: str) -> None:
    data = text.replace("\r", "").replace("\n", "\r\n").encode()
    encoded = encode_qp(data)
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    assert b"=_" not in encoded  # cannot meet a builder boundary
    assert _decode(encoded, "quoted-printable")[0] == data
