"""SCRAM-SHA-256 (RFC 7677): the §3 example byte for byte and the reference server."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwire import AuthenticationError
from mailwire.sasl import ScramSHA256
from tests.unit.sasl.scram_server import ScramServer
from tests.unit.sasl.test_rfc5802_scram import names, passwords, prepared_or_skip, run_exchange

# RFC 7677 §3, copied from the RFC text (user "user", password "pencil").
CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_rfc7677_example() -> None:
    mech = ScramSHA256("user", "pencil", nonce=CLIENT_NONCE)
    assert mech.name == "SCRAM-SHA-256"
    assert mech.initial_response() == CLIENT_FIRST
    assert mech.respond(SERVER_FIRST) == CLIENT_FINAL
    assert mech.respond(SERVER_FINAL) == b""
    mech.finish(None)
    assert mech.complete


def test_rfc7677_example_signature_in_success_data() -> None:
    mech = ScramSHA256("user", "pencil", nonce=CLIENT_NONCE)
    assert mech.respond(b"") == CLIENT_FIRST
    assert mech.respond(SERVER_FIRST) == CLIENT_FINAL
    mech.finish(SERVER_FINAL)
    assert mech.complete


def test_sha1_signature_does_not_verify_for_sha256() -> None:
    mech = ScramSHA256("user", "pencil", nonce=CLIENT_NONCE)
    mech.initial_response()
    mech.respond(SERVER_FIRST)
    with pytest.raises(AuthenticationError, match="does not verify"):
        mech.finish(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")  # RFC 5802's SHA-1 signature


@settings(max_examples=60, deadline=None)
@given(username=names, password=passwords, tamper=st.booleans())
def test_against_reference_server(username: str, password: str, tamper: bool) -> None:
    prepared_or_skip(username, password)
    mech = ScramSHA256(username, password)
    server = ScramServer("sha256", username, password, iterations=4096)
    if tamper:
        with pytest.raises(AuthenticationError, match="does not verify") as info:
            run_exchange(mech, server, tamper=True)
        assert password not in str(info.value)
    else:
        run_exchange(mech, server, tamper=False)
        assert mech.complete
    assert password not in repr(mech)


def test_non_ascii_password_per_rfc5802_informative_note() -> None:
    # RFC 5802 §3 suggests testing code points whose NFC and NFKC differ, such
    # as U+00BD and U+00B4: the client hashes the NFKC form.
    password = "\u00bd\u00b4"
    server = ScramServer("sha256", "user", "1\u20442 \u0301")  # NFKC of the password
    mech = ScramSHA256("user", password)
    run_exchange(mech, server, tamper=False)
    assert mech.complete
    assert base64.b64encode(password.encode()).decode() not in repr(mech)
