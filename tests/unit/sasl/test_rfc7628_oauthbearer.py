"""OAUTHBEARER (RFC 7628): the §4.1 and §4.3 examples, message format, error rule."""

from __future__ import annotations

import base64
import json

import pytest

from mailwire import AuthenticationError
from mailwire.sasl import OAuthBearer

TOKEN = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="

# RFC 7628 §4.1, the IMAP exchange: the base64 initial response, its wrapped
# lines joined, and the decoded form the RFC prints (^A is %x01).
IMAP_IR_B64 = (
    "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhv"
    "c3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyI"
    "HZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQ"
    "EB"
)
IMAP_IR_TEXT = (
    "n,a=user@example.com,^Ahost=server.example.com^Aport=143^A"
    "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==^A^A"
)
# §4.1, the same credential over SMTP (port 587).
SMTP_IR_B64 = (
    "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2Vy"
    "dmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmd"
    "DRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
)
# §4.3, the server's error challenge and the client's dummy response.
ERROR_B64 = (
    "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxl"
    "X3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4"
    "YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9u"
    "In0="
)
DUMMY_RESPONSE_B64 = "AQ=="


@pytest.mark.parametrize(("port", "expected_b64"), [(143, IMAP_IR_B64), (587, SMTP_IR_B64)])
def test_rfc7628_section_4_1(port: int, expected_b64: str) -> None:
    mech = OAuthBearer("user@example.com", TOKEN, host="server.example.com", port=port)
    response = mech.initial_response()
    assert response == base64.b64decode(expected_b64)
    mech.finish(None)
    assert mech.complete


def test_rfc7628_decoded_form() -> None:
    mech = OAuthBearer("user@example.com", TOKEN, host="server.example.com", port=143)
    assert mech.initial_response() == IMAP_IR_TEXT.replace("^A", "\x01").encode()


def test_rfc7628_section_4_3_error_gets_the_dummy_response() -> None:
    mech = OAuthBearer("user@example.com", TOKEN, host="server.example.com", port=143)
    mech.initial_response()
    response = mech.respond(base64.b64decode(ERROR_B64))
    assert base64.b64encode(response).decode() == DUMMY_RESPONSE_B64
    assert mech.server_error is not None
    assert json.loads(mech.server_error)["status"] == "invalid_token"
    with pytest.raises(AuthenticationError, match="unexpected challenge") as info:
        mech.respond(b"{}")
    assert TOKEN not in str(info.value)


def test_without_initial_response_the_first_challenge_gets_the_message() -> None:
    mech = OAuthBearer("user@example.com", TOKEN)
    expected = b"n,a=user@example.com,\x01auth=Bearer " + TOKEN.encode() + b"\x01\x01"
    assert mech.respond(b"") == expected


def test_no_user_and_escaped_user() -> None:
    assert OAuthBearer(None, "t").initial_response() == b"n,,\x01auth=Bearer t\x01\x01"
    escaped = b"n,a=a=3Db=2Cc,\x01auth=Bearer t\x01\x01"
    assert OAuthBearer("a=b,c", "t").initial_response() == escaped


@pytest.mark.parametrize(
    "kwargs",
    [{"token": "a\x01b"}, {"host": "h\x01"}, {"port": 0}, {"port": 65536}, {"token": "t\0"}],
)
def test_bad_fields(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"token": "tok"} | kwargs
    with pytest.raises(ValueError) as info:
        OAuthBearer("user", **arguments)  # type: ignore[arg-type]
    assert "a\x01b" not in str(info.value)


def test_facts_and_repr() -> None:
    assert OAuthBearer.name == "OAUTHBEARER"
    assert OAuthBearer.sends_password_in_clear is True  # TLS MUST be used (RFC 7628 §3)
    mech = OAuthBearer("user@example.com", TOKEN)
    mech.initial_response()
    assert TOKEN not in repr(mech)
    assert "user@example.com" in repr(mech)
