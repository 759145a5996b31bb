"""SCRAM-SHA-1 (RFC 5802): the §5 example byte for byte, a reference server, bad servers."""

from __future__ import annotations

import base64

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailwire import AuthenticationError, Limits
from mailwire.sasl import ScramSHA1, ScramSHA256
from tests.unit.sasl.scram_server import ScramServer

# RFC 5802 §5, copied from the RFC text (user "user", password "pencil").
CLIENT_NONCE = "fyko+d2lbbFgONRv9qkxdawL"
CLIENT_FIRST = b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
CLIENT_FINAL = b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

PASSWORD = "pencil"


def fresh(**kwargs: object) -> ScramSHA1:
    return ScramSHA1("user", PASSWORD, nonce=CLIENT_NONCE, **kwargs)  # type: ignore[arg-type]


def test_rfc5802_example_with_initial_response_and_final_challenge() -> None:
    # IMAP with SASL-IR: server-final-message arrives as a last "+" challenge.
    mech = fresh()
    assert mech.initial_response() == CLIENT_FIRST
    assert mech.respond(SERVER_FIRST) == CLIENT_FINAL
    assert mech.respond(SERVER_FINAL) == b""
    assert repr(mech).endswith(" open>")  # verified, but not complete before the success
    mech.finish(None)
    assert mech.complete
    assert mech.rounds == 2


def test_rfc5802_example_without_initial_response_and_success_data() -> None:
    # No SASL-IR: the first, empty challenge gets client-first-message; the
    # signature comes as additional data with the success (RFC 4422 §3.6).
    mech = fresh()
    assert mech.respond(b"") == CLIENT_FIRST
    assert mech.respond(SERVER_FIRST) == CLIENT_FINAL
    mech.finish(SERVER_FINAL)
    assert mech.complete


def test_mechanism_facts() -> None:
    assert ScramSHA1.name == "SCRAM-SHA-1"
    assert ScramSHA1.sends_password_in_clear is False


def test_random_nonce_is_printable_and_fresh() -> None:
    first_a = ScramSHA1("user", PASSWORD).initial_response()
    first_b = ScramSHA1("user", PASSWORD).initial_response()
    assert first_a is not None
    assert first_b is not None
    assert first_a != first_b
    nonce = first_a.decode().split(",r=")[1]
    assert len(nonce) >= 24
    assert all(0x21 <= ord(c) <= 0x7E and c != "," for c in nonce)


@pytest.mark.parametrize(
    ("username", "authzid", "expected"),
    [
        ("user", None, b"n,,n=user,r=N"),
        ("a=b,c", None, b"n,,n=a=3Db=2Cc,r=N"),
        ("==,,", None, b"n,,n==3D=3D=2C=2C,r=N"),
        ("user", "admin,x=y", b"n,a=admin=2Cx=3Dy,n=user,r=N"),
        # SASLprep (RFC 4013): soft hyphen dropped, U+2168 ROMAN NUMERAL NINE -> "IX".
        ("I\u00adX", None, b"n,,n=IX,r=N"),
        ("\u2168", None, b"n,,n=IX,r=N"),
    ],
)
def test_client_first_escapes_and_prepares_names(
    username: str, authzid: str | None, expected: bytes
) -> None:
    assert ScramSHA1(username, "pw", authzid=authzid, nonce="N").initial_response() == expected


def test_authzid_goes_into_the_channel_binding_attribute() -> None:
    server = ScramServer("sha1", "user", PASSWORD)
    mech = ScramSHA1("user", PASSWORD, authzid="boss")
    client_first = mech.initial_response()
    assert client_first is not None
    client_final = mech.respond(server.first(client_first))
    assert client_final.startswith(b"c=" + base64.b64encode(b"n,a=boss,") + b",")
    mech.finish(server.final(client_final))
    assert server.authzid == "boss"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("", "pw"),
        ("user", ""),
        ("\u00ad", "pw"),  # prepares to empty
        ("bell\u0007", "pw"),  # prohibited (C.2.1)
        ("user", "pass\u0007word"),
    ],
)
def test_bad_credentials_raise_value_error_before_anything_is_sent(
    username: str, password: str
) -> None:
    with pytest.raises(ValueError) as info:
        ScramSHA1(username, password)
    if password:
        assert password not in str(info.value)
    if password.startswith("pass"):  # refused by SASLprep: not even the code point leaks
        assert "U+0007" not in str(info.value)
        assert info.value.__context__ is None


@pytest.mark.parametrize("nonce", ["", "with,comma", "sp ace", "\u00e9", "tab\t"])
def test_bad_nonce_is_refused(nonce: str) -> None:
    with pytest.raises(ValueError, match="nonce"):
        ScramSHA1("user", "pw", nonce=nonce)


# --- a reference server: every username (with '=' and ','), every password ----

names = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "S", "Zs"), include_characters="=,"),
    min_size=1,
    max_size=20,
)
# Passwords carry a fixed prefix so that "the password is not in this text" means something.
passwords = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30
).map(lambda tail: "pw-" + tail)


def run_exchange(mech: ScramSHA1 | ScramSHA256, server: ScramServer, tamper: bool) -> None:
    client_first = mech.initial_response()
    assert client_first is not None
    client_final = mech.respond(server.first(client_first))
    server_final = server.final(client_final)
    assert server_final.startswith(b"v="), "the reference server refused the proof"
    if tamper:
        signature = bytearray(base64.b64decode(server_final[2:]))
        signature[0] ^= 0x01
        server_final = b"v=" + base64.b64encode(bytes(signature))
    mech.finish(server_final)


def prepared_or_skip(username: str, password: str) -> None:
    try:
        ScramSHA1(username, password, nonce="x")
    except ValueError:
        assume(False)


@settings(max_examples=60, deadline=None)
@given(username=names, password=passwords, tamper=st.booleans())
def test_against_reference_server(username: str, password: str, tamper: bool) -> None:
    prepared_or_skip(username, password)
    mech = ScramSHA1(username, password)
    server = ScramServer("sha1", username, password)
    if tamper:
        with pytest.raises(AuthenticationError, match="signature does not verify") as info:
            run_exchange(mech, server, tamper=True)
        assert not mech.complete
        assert password not in str(info.value)
        with pytest.raises(AuthenticationError):
            mech.finish(None)  # stays failed
    else:
        run_exchange(mech, server, tamper=False)
        assert mech.complete
    assert password not in repr(mech)


@settings(max_examples=20, deadline=None)
@given(username=names, password=passwords)
def test_wrong_password_is_rejected_by_reference_server(username: str, password: str) -> None:
    prepared_or_skip(username, password)
    server = ScramServer("sha1", username, password + "x")
    mech = ScramSHA1(username, password)
    client_first = mech.initial_response()
    assert client_first is not None
    assert server.final(mech.respond(server.first(client_first))) == b"e=invalid-proof"
    with pytest.raises(AuthenticationError, match="invalid-proof"):
        mech.respond(b"e=invalid-proof")


# --- bad server data -----------------------------------------------------------

N = CLIENT_NONCE


@pytest.mark.parametrize(
    ("server_first", "message"),
    [
        (b"r=someoneelse3rfc,s=QSXCR+Q6sek8bf92,i=4096", "nonce does not extend"),
        (f"r={N},s=QSXCR+Q6sek8bf92,i=4096".encode(), "nonce does not extend"),
        (f"r={N[:-1]},s=QSXCR+Q6sek8bf92,i=4096".encode(), "nonce does not extend"),
        (f"r={N}x\x01y,s=QSXCR+Q6sek8bf92,i=4096".encode(), "not printable"),
        (f"r={N}xyz,s=QSXCR+Q6sek8bf92,i=0".encode(), "bad iteration count"),
        (f"r={N}xyz,s=QSXCR+Q6sek8bf92,i=-1".encode(), "bad iteration count"),
        (f"r={N}xyz,s=QSXCR+Q6sek8bf92,i=0100".encode(), "bad iteration count"),
        (f"r={N}xyz,s=QSXCR+Q6sek8bf92,i=abc".encode(), "bad iteration count"),
        (f"r={N}xyz,s=QSXCR+Q6sek8bf92,i=".encode(), "bad iteration count"),
        (f"r={N}xyz,s=QSXCR+Q6sek8bf92,i=\u0663".encode(), "bad iteration count"),
        (f"r={N}xyz,s=QSXCR+Q6sek8bf92,i=99999999999999999999".encode(), "over"),
        (f"r={N}xyz,s=QSXCR+Q6sek8bf92,i=10000001".encode(), "over"),
        (f"r={N}xyz,s=not base64!,i=4096".encode(), "bad salt"),
        (f"r={N}xyz,s=,i=4096".encode(), "bad salt"),
        (f"r={N}xyz,i=4096,s=QSXCR+Q6sek8bf92".encode(), "lacks r=, s=, i="),
        (f"r={N}xyz,s=QSXCR+Q6sek8bf92".encode(), "lacks r=, s=, i="),
        (b"", "malformed"),
        (b"garbage", "malformed"),
        (f"r={N}xyz,,s=QSXCR+Q6sek8bf92,i=4096".encode(), "malformed"),
        (b"\xff\xfe", "not UTF-8"),
        (b"e=unknown-user", "server error 'unknown-user'"),
        (f"m=ext,r={N}xyz,s=QSXCR+Q6sek8bf92,i=4096".encode(), "mandatory extension"),
    ],
)
def test_bad_server_first_message(server_first: bytes, message: str) -> None:
    mech = fresh()
    mech.initial_response()
    with pytest.raises(AuthenticationError, match=message) as info:
        mech.respond(server_first)
    assert PASSWORD not in str(info.value)
    with pytest.raises(AuthenticationError):
        mech.respond(SERVER_FIRST)  # a failed exchange stays failed


def test_unknown_optional_extensions_are_ignored() -> None:
    # §5.1: unknown optional extensions MUST be ignored. The extension is part
    # of AuthMessage, so the proof differs from the RFC's; the reference server
    # checks it instead.
    server = ScramServer("sha1", "user", PASSWORD)
    mech = fresh()
    client_first = mech.initial_response()
    assert client_first is not None
    server.server_first = server.first(client_first).decode() + ",x=whatever"
    client_final = mech.respond(server.server_first.encode())
    server_final = server.final(client_final)
    mech.finish(server_final + b",y=ignored")
    assert mech.complete


def test_iteration_cap_can_be_raised_or_lowered() -> None:
    mech = ScramSHA1("user", PASSWORD, nonce=CLIENT_NONCE, max_iterations=4095)
    mech.initial_response()
    with pytest.raises(AuthenticationError, match="over 4095"):
        mech.respond(SERVER_FIRST)


@pytest.mark.parametrize(
    ("server_final", "message"),
    [
        (b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ", "does not verify"),  # bad base64
        (b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "does not verify"),
        (b"v=", "does not verify"),
        (b"x=rmF9pqV8S7suAoZWja4dJRkFsKQ=", "no signature"),
        (b"e=invalid-proof", "server error 'invalid-proof'"),
        (b"e=other-error\x1b[2J", r"server error 'other-error\\x1b\[2J'"),
        # Empty: a malformed challenge, or success data that is no data at all.
        (b"", "malformed|without the server signature"),
    ],
)
def test_bad_server_final_message(server_final: bytes, message: str) -> None:
    for deliver_as_challenge in (True, False):
        mech = fresh()
        mech.initial_response()
        mech.respond(SERVER_FIRST)
        with pytest.raises(AuthenticationError, match=message) as info:
            if deliver_as_challenge:
                mech.respond(server_final)
            else:
                mech.finish(server_final)
        assert PASSWORD not in str(info.value)
        assert not mech.complete


def test_success_without_signature_is_refused() -> None:
    mech = fresh()
    mech.initial_response()
    mech.respond(SERVER_FIRST)
    with pytest.raises(AuthenticationError, match=r"without the server signature \(v=\)"):
        mech.finish(None)


def test_success_before_the_exchange_ended_is_refused() -> None:
    mech = fresh()
    mech.initial_response()
    with pytest.raises(AuthenticationError, match="before the exchange ended"):
        mech.finish(SERVER_FINAL)


def test_challenge_after_verification_is_refused() -> None:
    mech = fresh()
    mech.initial_response()
    mech.respond(SERVER_FIRST)
    mech.respond(SERVER_FINAL)
    with pytest.raises(AuthenticationError, match="unexpected challenge"):
        mech.respond(SERVER_FINAL)


def test_repr_never_shows_password_or_keys() -> None:
    mech = fresh()
    texts = [repr(mech)]
    mech.initial_response()
    mech.respond(SERVER_FIRST)
    texts.append(repr(mech))
    mech.respond(SERVER_FINAL)
    mech.finish(None)
    texts.append(repr(mech))
    server_signature = base64.b64decode(SERVER_FINAL[2:])
    for text in texts:
        assert PASSWORD not in text
        assert "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=" not in text  # the proof
        assert str(server_signature) not in text
        assert "user" in text


def test_round_limit() -> None:
    mech = ScramSHA1("user", PASSWORD, nonce=CLIENT_NONCE, limits=Limits(max_sasl_rounds=1))
    assert mech.respond(b"") == CLIENT_FIRST
    with pytest.raises(AuthenticationError, match="max_sasl_rounds"):
        mech.respond(SERVER_FIRST)
