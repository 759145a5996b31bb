"""XOAUTH2 (Google and Microsoft's documented format) and its failure rule."""

from __future__ import annotations

import base64

import pytest

from mailwire import AuthenticationError
from mailwire.sasl import XOAuth2

# Google's XOAUTH2 protocol page gives this initial client response for
# user "someuser@example.com" and token "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg":
GOOGLE_B64 = (
    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRj"
    "Mk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
)


def test_message_format() -> None:
    mech = XOAuth2("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
    message = mech.initial_response()
    assert message == (
        b"user=someuser@example.com\x01auth=Bearer "
        b"ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
    )
    assert message == base64.b64decode(GOOGLE_B64)


def test_error_challenge_gets_an_empty_response() -> None:
    mech = XOAuth2("user@example.com", "tok")
    mech.initial_response()
    error = b'{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}'
    assert mech.respond(error) == b""
    assert mech.server_error == error.decode()
    with pytest.raises(AuthenticationError, match="unexpected challenge"):
        mech.respond(error)


def test_facts_and_bad_fields() -> None:
    assert XOAuth2.name == "XOAUTH2"
    assert XOAuth2.sends_password_in_clear is True
    with pytest.raises(ValueError, match="must not contain"):
        XOAuth2("u\x01", "tok")
    with pytest.raises(ValueError, match="must not contain") as info:
        XOAuth2("user", "secret\x01token")
    assert "secret" not in str(info.value)
