"""LOGIN (draft-murchison-sasl-login-00): the §2.3 example and tolerant prompts."""

from __future__ import annotations

import base64

import pytest

from mailwire import AuthenticationError
from mailwire.sasl import Login

# draft §2.3 (SMTP, base64 as on the wire):
#   S: 334 VXNlciBOYW1lAA==   C: dGlt
#   S: 334 UGFzc3dvcmQA       C: dGFuc3RhYWZ0YW5zdGFhZg==
EXCHANGE = [("VXNlciBOYW1lAA==", "dGlt"), ("UGFzc3dvcmQA", "dGFuc3RhYWZ0YW5zdGFhZg==")]


def test_draft_example() -> None:
    mech = Login("tim", "tanstaaftanstaaf")
    assert mech.initial_response() is None
    for challenge_b64, response_b64 in EXCHANGE:
        response = mech.respond(base64.b64decode(challenge_b64))
        assert base64.b64encode(response).decode() == response_b64
    mech.finish(None)
    assert mech.complete


def test_prompts_decode_as_the_draft_says() -> None:
    # The draft's prompts end in a NUL; mailwire ignores them anyway.
    assert [base64.b64decode(c) for c, _ in EXCHANGE] == [b"User Name\0", b"Password\0"]


@pytest.mark.parametrize(
    "prompts",
    [
        (b"Username:", b"Password:"),
        (b"User Name\0", b"Password\0"),
        (b"Password:", b"Username:"),  # misleading prompts: position wins
        (b"", b""),
        (b"\xff\xfe", b"anything at all"),
    ],
)
def test_answers_by_position_whatever_the_prompt(prompts: tuple[bytes, bytes]) -> None:
    mech = Login("us\u00e9r", "s\u00e9cret")
    assert mech.respond(prompts[0]) == "us\u00e9r".encode()
    assert mech.respond(prompts[1]) == "s\u00e9cret".encode()


def test_third_challenge_is_an_error() -> None:
    mech = Login("tim", "tanstaaftanstaaf")
    mech.respond(b"Username:")
    mech.respond(b"Password:")
    with pytest.raises(AuthenticationError, match="unexpected challenge") as info:
        mech.respond(b"Password:")
    assert "tanstaaf" not in str(info.value)


@pytest.mark.parametrize(("username", "password"), [("a\rb", "pw"), ("user", "p\nw"), ("u", "\0")])
def test_cr_lf_nul_refused(username: str, password: str) -> None:
    with pytest.raises(ValueError, match="must not contain"):
        Login(username, password)


def test_facts() -> None:
    assert Login.name == "LOGIN"
    assert Login.sends_password_in_clear is True
