"""choose(): preference order, case, allowed list, CRAM-MD5 policy, no fallback (S39)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwire import AuthenticationError
from mailwire.sasl import (
    MECHANISMS,
    PASSWORD_PREFERENCE,
    TOKEN_PREFERENCE,
    CramMD5,
    External,
    Login,
    Mechanism,
    OAuthBearer,
    Plain,
    ScramSHA1,
    ScramSHA256,
    XOAuth2,
    choose,
)

PASSWORD: dict[str, Any] = {"username": "user", "password": "hunter2-secret"}
TOKEN: dict[str, Any] = {"username": "user@example.com", "token": "ya29.secret-token"}
EVERYTHING = [
    "PLAIN",
    "LOGIN",
    "CRAM-MD5",
    "SCRAM-SHA-1",
    "SCRAM-SHA-256",
    "XOAUTH2",
    "OAUTHBEARER",
]


def test_preference_constants() -> None:
    assert PASSWORD_PREFERENCE == ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN", "CRAM-MD5")
    assert TOKEN_PREFERENCE == ("OAUTHBEARER", "XOAUTH2")
    assert set(PASSWORD_PREFERENCE + TOKEN_PREFERENCE) <= set(MECHANISMS)


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        (EVERYTHING, ScramSHA256),
        (["PLAIN", "LOGIN", "SCRAM-SHA-1"], ScramSHA1),
        (["LOGIN", "PLAIN"], Plain),
        (["LOGIN"], Login),
        (["LOGIN", "CRAM-MD5"], Login),
        (["GSSAPI", "NTLM", "PLAIN"], Plain),
        (["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], ScramSHA256),
    ],
)
def test_password_preference(offered: list[str], expected: type[Mechanism]) -> None:
    assert type(choose(offered, **PASSWORD)) is expected


@pytest.mark.parametrize(
    "offered", [["plain"], ["Plain"], ["pLaIn", "login"], ["PLAIN", "plain", "PLAIN"]]
)
def test_offered_names_are_case_insensitive(offered: list[str]) -> None:
    assert isinstance(choose(offered, **PASSWORD), Plain)
    assert isinstance(choose(["scram-sha-256", "plain"], **PASSWORD), ScramSHA256)


def test_allowed_orders_and_restricts() -> None:
    offered = ["PLAIN", "SCRAM-SHA-256", "LOGIN"]
    assert isinstance(choose(offered, allowed=["plain", "SCRAM-SHA-256"], **PASSWORD), Plain)
    assert isinstance(choose(offered, allowed=["LOGIN"], **PASSWORD), Login)
    assert isinstance(choose(offered, allowed=["SCRAM-SHA-1", "LOGIN"], **PASSWORD), Login)
    with pytest.raises(AuthenticationError, match="no acceptable SASL mechanism"):
        choose(offered, allowed=["SCRAM-SHA-1"], **PASSWORD)
    with pytest.raises(AuthenticationError):
        choose(offered, allowed=[], **PASSWORD)


def test_allowed_may_name_external_and_anonymous() -> None:
    assert isinstance(choose(["EXTERNAL", "PLAIN"], allowed=["EXTERNAL"]), External)
    chosen = choose(["EXTERNAL"], allowed=["EXTERNAL"], authzid="admin")
    assert chosen.initial_response() == b"admin"
    assert choose(["ANONYMOUS"], allowed=["anonymous"]).name == "ANONYMOUS"
    # Without ``allowed`` they are never picked.
    with pytest.raises(AuthenticationError):
        choose(["EXTERNAL", "ANONYMOUS"], **PASSWORD)


def test_allowed_with_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown SASL mechanism"):
        choose(["PLAIN"], allowed=["PLAIN", "DIGEST-MD5"], **PASSWORD)


def test_cram_md5_only_when_enabled() -> None:
    # security.md S39: a server offering only CRAM-MD5.
    with pytest.raises(AuthenticationError, match="no acceptable SASL mechanism") as info:
        choose(["CRAM-MD5"], **PASSWORD)
    assert "CRAM-MD5" in str(info.value)  # names what was offered
    with pytest.raises(AuthenticationError):
        choose(["CRAM-MD5"], allowed=["CRAM-MD5"], **PASSWORD)  # listing it is not enough
    assert isinstance(choose(["CRAM-MD5"], enable_cram_md5=True, **PASSWORD), CramMD5)
    # Enabled, it still ranks below everything else.
    assert isinstance(choose(["CRAM-MD5", "LOGIN"], enable_cram_md5=True, **PASSWORD), Login)
    chosen = choose(["CRAM-MD5", "LOGIN"], enable_cram_md5=True, allowed=["CRAM-MD5"], **PASSWORD)
    assert isinstance(chosen, CramMD5)


def test_token_mechanisms() -> None:
    assert isinstance(choose(EVERYTHING, **TOKEN), OAuthBearer)
    assert isinstance(choose(["XOAUTH2", "PLAIN"], **TOKEN), XOAuth2)
    assert isinstance(choose(["oauthbearer"], token="t"), OAuthBearer)  # no user needed
    with pytest.raises(AuthenticationError):
        choose(["XOAUTH2"], token="t")  # XOAUTH2 needs the user
    with pytest.raises(AuthenticationError):
        choose(["PLAIN", "SCRAM-SHA-256"], **TOKEN)  # a token is not a password


def test_password_is_not_a_token() -> None:
    with pytest.raises(AuthenticationError):
        choose(["XOAUTH2", "OAUTHBEARER"], **PASSWORD)


def test_both_credentials_prefer_the_token() -> None:
    both: dict[str, Any] = {"username": "u", "password": "p", "token": "t"}
    assert isinstance(choose(EVERYTHING, **both), OAuthBearer)
    assert isinstance(choose(["PLAIN", "SCRAM-SHA-1"], **both), ScramSHA1)


def test_password_without_username_is_unusable() -> None:
    with pytest.raises(AuthenticationError):
        choose(["PLAIN"], password="p")


def test_nothing_acceptable_names_the_offer_but_not_credentials() -> None:
    with pytest.raises(AuthenticationError) as info:
        choose(["GSSAPI", "ntlm"], **PASSWORD)
    text = str(info.value)
    assert text.startswith("no acceptable SASL mechanism")
    assert "GSSAPI NTLM" in text
    assert "hunter2" not in text
    with pytest.raises(AuthenticationError, match="offered nothing"):
        choose([], **PASSWORD)
    with pytest.raises(AuthenticationError, match=r"usable .*: none"):
        choose(["PLAIN"])  # no credentials at all


def test_exactly_one_fresh_mechanism() -> None:
    first = choose(EVERYTHING, **PASSWORD)
    second = choose(EVERYTHING, **PASSWORD)
    assert isinstance(first, Mechanism)
    assert first is not second
    assert first.rounds == 0
    assert not first.complete


def test_hostile_server_names_are_escaped() -> None:
    with pytest.raises(AuthenticationError) as info:
        choose(["\x1b[2J", "X\u202e"], **PASSWORD)
    assert "\x1b" not in str(info.value)
    assert "\u202e" not in str(info.value)


@given(
    offered=st.lists(st.sampled_from([*EVERYTHING, "GSSAPI", "EXTERNAL"]), max_size=6),
    # NUL, CR and LF are refused by PLAIN and LOGIN (ValueError) and tested there.
    password=st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\0\r\n"), max_size=10
    ).map(lambda tail: "S3cr3t-" + tail),
)
def test_choice_is_the_first_offered_in_preference_order(offered: list[str], password: str) -> None:
    expected = next((m for m in PASSWORD_PREFERENCE[:-1] if m in offered), None)
    outcome: Mechanism | Exception
    try:
        outcome = choose([m.lower() for m in offered], username="user", password=password)
    except (AuthenticationError, ValueError) as error:
        outcome = error
    assert password not in str(outcome)
    assert password not in repr(outcome)
    if isinstance(outcome, AuthenticationError):
        assert expected is None
    elif isinstance(outcome, ValueError):  # SASLprep refused the password for SCRAM
        assert expected is not None
        assert expected.startswith("SCRAM")
    else:
        assert outcome.name == expected


def test_oauthbearer_names_the_server_it_was_chosen_for() -> None:
    """RFC 7628 §3.1: the client sends the host and port it connected to; the
    clients pass theirs to choose(), which hands them to OAUTHBEARER only."""
    bearer = choose(["OAUTHBEARER"], username="u", token="t0k", host="mail.example.org", port=587)
    assert (
        bearer.initial_response()
        == b"n,a=u,\x01host=mail.example.org\x01port=587\x01auth=Bearer t0k\x01\x01"
    )
    plain = choose(["PLAIN"], username="u", password="p", host="mail.example.org", port=587)
    assert plain.initial_response() == b"\0u\0p"
