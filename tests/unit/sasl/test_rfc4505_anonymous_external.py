"""ANONYMOUS (RFC 4505) and EXTERNAL (RFC 4422 appendix A)."""

from __future__ import annotations

import base64

import pytest

from mailwire import AuthenticationError
from mailwire.sasl import Anonymous, External


def test_rfc4505_section_4_example() -> None:
    # C: A002 AUTHENTICATE ANONYMOUS   S: +   C: c2lyaGM=
    mech = Anonymous("sirhc")
    assert base64.b64encode(mech.respond(b"")).decode() == "c2lyaGM="
    mech.finish(None)
    assert mech.complete


def test_anonymous_initial_response_and_limits() -> None:
    assert Anonymous().initial_response() == b""
    assert Anonymous("j\u00f6rg@example.com").initial_response() == "j\u00f6rg@example.com".encode()
    with pytest.raises(ValueError, match="255"):
        Anonymous("x" * 256)
    with pytest.raises(ValueError, match="prohibited"):
        Anonymous("bell\u0007")  # trace profile prohibits C.2.1
    assert Anonymous("\u00a0").initial_response() == "\u00a0".encode()  # no mapping in trace


def test_external() -> None:
    assert External().initial_response() == b""  # derive the authzid (appendix A)
    assert External("admin").initial_response() == b"admin"
    mech = External()
    assert mech.respond(b"") == b""
    with pytest.raises(AuthenticationError, match="unexpected challenge"):
        mech.respond(b"")
    with pytest.raises(ValueError):
        External("a\0b")


def test_facts() -> None:
    assert (Anonymous.name, External.name) == ("ANONYMOUS", "EXTERNAL")
    assert not Anonymous.sends_password_in_clear
    assert not External.sends_password_in_clear
