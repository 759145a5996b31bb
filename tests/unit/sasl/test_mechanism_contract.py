"""What every mechanism promises: call order, round limit (S26), no secrets (S40)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwire import AuthenticationError, Limits
from mailwire.sasl import (
    MECHANISMS,
    Anonymous,
    CramMD5,
    External,
    Login,
    Mechanism,
    OAuthBearer,
    Plain,
    ScramSHA1,
    ScramSHA256,
    XOAuth2,
    by_name,
)

# One factory per mechanism: (user name, secret, limits) -> mechanism.
FACTORIES: dict[str, Callable[[str, str, Limits], Mechanism]] = {
    "PLAIN": lambda u, s, lim: Plain(u, s, authzid="boss", limits=lim),
    "LOGIN": lambda u, s, lim: Login(u, s, limits=lim),
    "CRAM-MD5": lambda u, s, lim: CramMD5(u, s, limits=lim),
    "SCRAM-SHA-1": lambda u, s, lim: ScramSHA1(u, s, limits=lim),
    "SCRAM-SHA-256": lambda u, s, lim: ScramSHA256(u, s, limits=lim),
    "XOAUTH2": lambda u, s, lim: XOAuth2(u, s, limits=lim),
    "OAUTHBEARER": lambda u, s, lim: OAuthBearer(u, s, host="h", port=993, limits=lim),
    "EXTERNAL": lambda u, s, lim: External(u, limits=lim),
    "ANONYMOUS": lambda u, s, lim: Anonymous(u, limits=lim),
}
SECRET_FREE = {"EXTERNAL", "ANONYMOUS"}


def test_every_mechanism_has_a_factory_and_a_registry_entry() -> None:
    assert set(FACTORIES) == set(MECHANISMS)
    for name, cls in MECHANISMS.items():
        assert cls.name == name
        assert issubclass(cls, Mechanism)


def test_mechanism_is_abstract() -> None:
    with pytest.raises(TypeError):
        Mechanism()  # type: ignore[abstract]


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_endless_empty_challenges_end_within_the_round_limit(name: str) -> None:
    # security.md S26: a server that answers every step with an empty "334 " / "+ ".
    mech = FACTORIES[name]("user", "secret-pw", Limits())
    with pytest.raises(AuthenticationError) as info:
        for _ in range(Limits().max_sasl_rounds + 1):
            mech.respond(b"")
    assert mech.rounds <= Limits().max_sasl_rounds + 1
    assert "secret-pw" not in str(info.value)
    with pytest.raises(AuthenticationError):  # and it stays failed
        mech.respond(b"")
    with pytest.raises(AuthenticationError):
        mech.finish(None)
    assert not mech.complete
    assert "failed" in repr(mech)


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("rounds", [1, 2])
def test_round_limit_is_enforced_before_the_mechanism_runs(name: str, rounds: int) -> None:
    # LOGIN would happily take two challenges; with a limit of one it may not.
    mech = FACTORIES[name]("user", "secret-pw", Limits(max_sasl_rounds=rounds))
    raised = None
    for _ in range(rounds + 1):
        try:
            mech.respond(b"Username:")
        except AuthenticationError as error:
            raised = error
            break
    assert raised is not None
    if mech.rounds == rounds + 1:
        assert "max_sasl_rounds" in str(raised)


def test_round_limit_message() -> None:
    mech = Login("user", "pw", limits=Limits(max_sasl_rounds=1))
    assert mech.respond(b"Username:") == b"user"
    with pytest.raises(AuthenticationError, match=r"more than 1 challenges \(Limits.max_sasl"):
        mech.respond(b"Password:")


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_initial_response_only_first_and_once(name: str) -> None:
    mech = FACTORIES[name]("user", "secret-pw", Limits())
    mech.initial_response()
    with pytest.raises(RuntimeError):
        mech.initial_response()
    other = FACTORIES[name]("user", "secret-pw", Limits())
    with contextlib.suppress(AuthenticationError):
        other.respond(b"<1.2@host>")
    with pytest.raises(RuntimeError):
        other.initial_response()


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_initial_response_equals_answer_to_the_empty_first_challenge(name: str) -> None:
    # A flow without SASL-IR answers the first empty challenge instead. (A fixed
    # nonce, since SCRAM draws a fresh one for each object.)
    credentials: dict[str, Any] = {
        "username": "user",
        "password": "pw",
        "token": "tok",
        "nonce": "abc",
    }
    first = by_name(name, **credentials).initial_response()
    if first is not None:
        assert by_name(name, **credentials).respond(b"") == first


@pytest.mark.parametrize(
    ("name", "clear"),
    [("PLAIN", True), ("LOGIN", True), ("XOAUTH2", True), ("OAUTHBEARER", True),
     ("CRAM-MD5", False), ("SCRAM-SHA-1", False), ("SCRAM-SHA-256", False),
     ("EXTERNAL", False), ("ANONYMOUS", False)],
)  # fmt: skip
def test_sends_password_in_clear(name: str, clear: bool) -> None:
    assert MECHANISMS[name].sends_password_in_clear is clear


# --- secrets never show up (security.md S40) ------------------------------------

secrets_ = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\0\r\n\x01"), max_size=20
).map(lambda tail: "S3cr3t-" + tail)
users = st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=10)


def secret_forms(secret: str) -> list[str]:
    encoded = secret.encode("utf-8")
    return [secret, base64.b64encode(encoded).decode(), repr(secret), ascii(secret)]


@settings(max_examples=30, deadline=None)
@given(user=users, secret=secrets_, challenges=st.lists(st.binary(max_size=40), max_size=7))
def test_repr_and_errors_never_hold_the_secret(
    user: str, secret: str, challenges: list[bytes]
) -> None:
    for name, factory in FACTORIES.items():
        if name in SECRET_FREE:
            continue
        for text in exercise(partial(factory, user, secret, Limits()), challenges):
            for form in secret_forms(secret):
                assert form not in text, (name, text)


def exercise(make: Callable[[], Mechanism], challenges: list[bytes]) -> list[str]:
    """Every repr and error text a mechanism produces on the given challenges."""
    try:
        mech = make()
    except ValueError as error:  # SASLprep refused a credential: it may say so, not show it
        return [str(error)]
    texts = [repr(mech)]
    for challenge in challenges:
        try:
            mech.respond(challenge)
        except AuthenticationError as error:
            texts.append(str(error))
        texts.append(repr(mech))
    try:
        mech.finish(b"v=AAAA")
    except AuthenticationError as error:
        texts.append(str(error))
    texts.append(repr(mech))
    return texts


@settings(max_examples=30, deadline=None)
@given(user=users, secret=secrets_)
def test_scram_errors_never_hold_the_secret_after_real_server_data(user: str, secret: str) -> None:
    for cls in (ScramSHA1, ScramSHA256):
        with contextlib.suppress(ValueError):  # SASLprep refuses some secrets
            mech = cls(user, secret, nonce="abc")
            mech.initial_response()
            mech.respond(b"r=abcdef,s=c2FsdA==,i=4096")
            with pytest.raises(AuthenticationError) as info:
                mech.finish(b"v=" + base64.b64encode(b"\0" * 32))
            assert secret not in str(info.value)
            assert secret not in repr(mech)


def test_by_name_covers_every_mechanism_case_insensitively() -> None:
    credentials: dict[str, Any] = {"username": "u", "password": "p", "token": "t"}
    for name, cls in MECHANISMS.items():
        assert type(by_name(name.lower(), **credentials)) is cls


@pytest.mark.parametrize(
    ("name", "credentials", "missing"),
    [
        ("PLAIN", {"username": "u"}, "password"),
        ("SCRAM-SHA-256", {"password": "p"}, "username"),
        ("XOAUTH2", {"token": "t"}, "username"),
        ("OAUTHBEARER", {"username": "u"}, "token"),
        ("LOGIN", {}, "username, password"),
    ],
)
def test_by_name_missing_credentials(name: str, credentials: dict[str, Any], missing: str) -> None:
    with pytest.raises(ValueError, match=f"needs: {missing}"):
        by_name(name, **credentials)


def test_by_name_passes_options_through() -> None:
    scram = by_name("scram-sha-1", username="user", password="pencil", nonce="fyko", authzid="a")
    assert scram.initial_response() == b"n,a=a,n=user,r=fyko"
    oauth = by_name("OAUTHBEARER", username="u", token="t", authzid="z", host="h", port=25)
    assert oauth.initial_response() == b"n,a=z,\x01host=h\x01port=25\x01auth=Bearer t\x01\x01"
    assert by_name("ANONYMOUS", trace="sirhc").initial_response() == b"sirhc"
    assert by_name("EXTERNAL", authzid="x").initial_response() == b"x"
    assert by_name("PLAIN", username="u", password="p", authzid="z").initial_response() == (
        b"z\0u\0p"
    )
    limits = Limits(max_sasl_rounds=1)
    login = by_name("LOGIN", username="u", password="p", limits=limits)
    login.respond(b"")
    with pytest.raises(AuthenticationError, match="max_sasl_rounds"):
        login.respond(b"")


def test_by_name_unknown() -> None:
    with pytest.raises(ValueError, match="unknown SASL mechanism 'GSSAPI'"):
        by_name("GSSAPI")
