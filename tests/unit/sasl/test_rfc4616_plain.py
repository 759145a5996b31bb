"""PLAIN (RFC 4616): the §4 examples, the message format, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwire import AuthenticationError
from mailwire.sasl import Plain

# RFC 4616 §4 writes the messages with "<NUL>" for U+0000:
#   first example:  <NUL>tim<NUL>tanstaaftanstaaf      (sent as a {21} literal)
#   second example: Ursel<NUL>Kurt<NUL>xipj3plmq       (sent as a {20+} literal)
EXAMPLE_1 = b"\x00tim\x00tanstaaftanstaaf"
EXAMPLE_2 = b"Ursel\x00Kurt\x00xipj3plmq"


def test_rfc4616_first_example_after_an_empty_challenge() -> None:
    # S: + ""   C: {21} <NUL>tim<NUL>tanstaaftanstaaf
    mech = Plain("tim", "tanstaaftanstaaf")
    response = mech.respond(b"")
    assert response == EXAMPLE_1
    assert len(response) == 21  # the literal's size in the RFC
    mech.finish(None)
    assert mech.complete


def test_rfc4616_second_example_authzid_as_initial_response() -> None:
    # C: a002 AUTHENTICATE "PLAIN" {20+}  C: Ursel<NUL>Kurt<NUL>xipj3plmq
    mech = Plain("Kurt", "xipj3plmq", authzid="Ursel")
    response = mech.initial_response()
    assert response == EXAMPLE_2
    assert len(response) == 20


def test_non_ascii_is_sent_as_utf8_unprepared() -> None:
    # Not an RFC example (RFC 4616 §4 has only the two above): §2 says the
    # strings travel in UTF-8, and preparing them (SASLprep) is the server's job.
    mech = Plain("J\u00fcrgen", "p\u00e4ss\u00adw\u00f6rd\u2168", authzid="\u00e9quipe")
    assert mech.initial_response() == (
        b"\xc3\xa9quipe\x00J\xc3\xbcrgen\x00p\xc3\xa4ss\xc2\xadw\xc3\xb6rd\xe2\x85\xa8"
    )


def test_facts() -> None:
    assert Plain.name == "PLAIN"
    assert Plain.sends_password_in_clear is True


@pytest.mark.parametrize(
    ("username", "password", "authzid"),
    [("", "pw", None), ("user", "", None), ("us\0er", "pw", None), ("user", "p\0w", None),
     ("user", "pw", "a\0z")],
)  # fmt: skip
def test_bad_fields_raise_value_error_without_the_password(
    username: str, password: str, authzid: str | None
) -> None:
    with pytest.raises(ValueError) as info:
        Plain(username, password, authzid=authzid)
    if password:
        assert password not in str(info.value)


def test_a_second_challenge_is_an_error() -> None:
    mech = Plain("tim", "tanstaaftanstaaf")
    mech.initial_response()
    with pytest.raises(AuthenticationError, match="unexpected challenge") as info:
        mech.respond(b"more?")
    assert "tanstaaf" not in str(info.value)


no_nul = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\0"), min_size=1)


@given(authzid=st.none() | no_nul, username=no_nul, password=no_nul)
def test_message_decodes_back(authzid: str | None, username: str, password: str) -> None:
    message = Plain(username, password, authzid=authzid).initial_response()
    assert message is not None
    fields = message.split(b"\0")
    assert len(fields) == 3
    assert [field.decode("utf-8") for field in fields] == [authzid or "", username, password]
