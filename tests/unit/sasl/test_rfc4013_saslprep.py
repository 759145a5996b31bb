"""SASLprep (RFC 4013): the §3 table, then the mapping, prohibition and bidi rules."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwire.sasl import saslprep

# RFC 4013 §3, row by row: (input, output or None for "Error").
RFC4013_EXAMPLES = [
    ("I\u00adX", "IX"),  # 1 SOFT HYPHEN mapped to nothing
    ("user", "user"),  # 2 no transformation
    ("USER", "USER"),  # 3 case preserved, will not match #2
    ("\u00aa", "a"),  # 4 output is NFKC, input in ISO 8859-1
    ("\u2168", "IX"),  # 5 output is NFKC, will match #1
    ("\u0007", None),  # 6 Error - prohibited character
    ("\u0627\u0031", None),  # 7 Error - bidirectional check
]


@pytest.mark.parametrize(("text", "expected"), RFC4013_EXAMPLES)
def test_rfc4013_examples(text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="stringprep"):
            saslprep(text)
    else:
        assert saslprep(text) == expected


def test_example_3_does_not_match_example_2() -> None:
    assert saslprep("USER") != saslprep("user")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\u00a0b", "a b"),  # C.1.2 NO-BREAK SPACE -> SPACE
        ("a\u3000b", "a b"),  # C.1.2 IDEOGRAPHIC SPACE -> SPACE
        ("a\u200bb", "ab"),  # B.1 ZERO WIDTH SPACE -> nothing
        ("a\ufeffb", "ab"),  # B.1 ZERO WIDTH NO-BREAK SPACE -> nothing
        ("\ufb01", "fi"),  # NFKC of the fi ligature
        ("\u00bd", "1\u20442"),  # NFKC of VULGAR FRACTION ONE HALF (RFC 5802 §3 note)
        ("e\u0301", "\u00e9"),  # composed
        ("", ""),
        ("pass word", "pass word"),  # ASCII space is allowed
        ("\u05d0\u05d1", "\u05d0\u05d1"),  # right-to-left only
        ("\u0627 \u0628", "\u0627 \u0628"),  # RTL, neutral, RTL
    ],
)
def test_mapping_and_normalisation(text: str, expected: str) -> None:
    assert saslprep(text) == expected


@pytest.mark.parametrize(
    ("text", "table"),
    [
        ("a\x00b", "C.2.1"),
        ("\x7f", "C.2.1"),
        ("\u0085", "C.2.2"),
        ("\ue000", "C.3"),  # private use
        ("\ufdd0", "C.4"),  # non-character
        ("\ufffd", "C.6"),  # REPLACEMENT CHARACTER
        ("\u2ff0", "C.7"),  # ideographic description character
        ("\u200e", "C.8"),  # LEFT-TO-RIGHT MARK
        ("\U000e0001", "C.9"),  # LANGUAGE TAG
    ],
)
def test_prohibited_output(text: str, table: str) -> None:
    with pytest.raises(ValueError, match=rf"table {table}\)"):
        saslprep(text)


@pytest.mark.parametrize("text", ["\u0627a\u0628", "a\u0627", "\u05d01", "1\u05d0"])
def test_bidi_rules(text: str) -> None:
    with pytest.raises(ValueError, match="stringprep"):
        saslprep(text)


def test_unassigned_allowed_for_query_refused_for_stored() -> None:
    unassigned = "\u0221"  # assigned only in Unicode 4.0; RFC 3454 table A.1
    assert saslprep("x" + unassigned) == "x" + unassigned
    with pytest.raises(ValueError, match="unassigned"):
        saslprep("x" + unassigned, allow_unassigned=False)


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])))
def test_output_is_prepared_or_a_value_error(text: str) -> None:
    try:
        prepared = saslprep(text)
    except ValueError:
        return
    assert saslprep(prepared) == prepared  # idempotent
    assert unicodedata.ucd_3_2_0.normalize("NFKC", prepared) == prepared
