"""CRAM-MD5 (RFC 2195 §2): the "tim" / "tanstaaftanstaaf" example."""

from __future__ import annotations

import base64

import pytest

from mailwire import AuthenticationError
from mailwire.sasl import CramMD5

# RFC 2195 §2, the IMAP example (base64 as it appears on the wire there):
#   S: + PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
#   C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
CHALLENGE_B64 = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
RESPONSE_B64 = "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"


def test_rfc2195_example() -> None:
    challenge = base64.b64decode(CHALLENGE_B64)
    assert challenge == b"<1896.697170952@postoffice.reston.mci.net>"  # as the RFC says
    mech = CramMD5("tim", "tanstaaftanstaaf")
    assert mech.initial_response() is None  # the server speaks first
    response = mech.respond(challenge)
    assert response == b"tim b913a602c7eda7a495b4e6e7334d3890"  # the RFC's digest
    assert base64.b64encode(response).decode() == RESPONSE_B64
    mech.finish(None)
    assert mech.complete


def test_facts() -> None:
    assert CramMD5.name == "CRAM-MD5"
    assert CramMD5.sends_password_in_clear is False


def test_empty_challenge_and_second_challenge_are_errors() -> None:
    with pytest.raises(AuthenticationError, match="empty challenge"):
        CramMD5("tim", "tanstaaftanstaaf").respond(b"")
    mech = CramMD5("tim", "tanstaaftanstaaf")
    mech.respond(b"<1@x>")
    with pytest.raises(AuthenticationError, match="unexpected challenge"):
        mech.respond(b"<2@x>")
    assert "tanstaaf" not in repr(mech)
