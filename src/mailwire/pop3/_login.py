"""Choosing how to log in to a POP3 server, before anything is sent.

POP3 has three ways in: USER/PASS (RFC 1939 §7: the password in the clear,
inside TLS), APOP (RFC 1939 §7: an MD5 challenge-response, broken enough that
it is used only when asked for, security.md S39) and AUTH with SASL (RFC 5034).
:func:`choose_login` picks exactly one from what the server announced and what
the caller allows; the client never tries a second after a refusal, so an
attacker who breaks the first cannot steer it to a weaker one.

The order without ``mechanisms``: the best offered SASL mechanism
(:func:`mailwire.sasl.choose`: SCRAM first; OAuth with a token), then APOP if
enabled and the greeting has a timestamp, then USER/PASS if the server offers
USER (or did not answer CAPA: RFC 2449 §5, probe). With ``mechanisms`` the
caller's order is used; ``"USER"`` and ``"APOP"`` name the two non-SASL ways,
and naming APOP is the explicit choice it needs.

Credentials are checked here too, by building the commands: a CR, LF or NUL,
or non-ASCII without ``UTF8 USER`` (RFC 6856 §2.2), raises ``ValueError``
before the first command of the login is sent (S18).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from mailwire import sasl
from mailwire._core import Outbound
from mailwire.errors import AuthenticationError
from mailwire.limits import Limits
from mailwire.pop3._capabilities import Capabilities
from mailwire.pop3._writer import write_command
from mailwire.pop3.commands import Apop, Pass, User
from mailwire.pop3.events import Greeting

__all__ = ["APOP", "SASL", "USER", "Choice", "apop_command", "choose_login", "user_pass_commands"]

#: The login methods; ``USER`` and ``APOP`` also name them in ``mechanisms``.
USER, APOP, SASL = "USER", "APOP", "SASL"


@dataclasses.dataclass(frozen=True)
class Choice:
    """The one login method to use.

    Attributes:
        method: ``"SASL"``, ``"APOP"`` or ``"USER"``.
        mechanism: the fresh SASL mechanism for ``"SASL"``.
    """

    method: str
    mechanism: sasl.Mechanism | None = None


def choose_login(
    caps: Capabilities,
    greeting: Greeting | None,
    *,
    username: str | None,
    password: str | None,
    token: str | None,
    authzid: str | None,
    mechanisms: Iterable[str] | None,
    enable_apop: bool,
    enable_cram_md5: bool,
    limits: Limits,
    host: str | None = None,
    port: int | None = None,
) -> Choice:
    """Pick the login method (see the module docstring).

    Raises:
        AuthenticationError: nothing acceptable; the message says what the
            server offered and what was considered, never a credential.
        ValueError: a credential a chosen mechanism cannot carry.
    """
    names = [m.upper() for m in mechanisms] if mechanisms is not None else None
    texts = (username or "", password or "")
    has_password = bool(username and password) and token is None
    encodable = caps.utf8_user or all(t.isascii() for t in texts)
    timestamp = greeting.timestamp if greeting is not None else None

    def sasl_for(allowed: list[str] | None) -> sasl.Mechanism | None:
        # Without CAPA the SASL list is unknown: a named mechanism is tried.
        offered = caps.sasl if caps.supported else tuple(allowed or ())
        if not offered:
            return None
        try:
            return sasl.choose(
                offered,
                username=username,
                password=password,
                token=token,
                authzid=authzid,
                enable_cram_md5=enable_cram_md5,
                allowed=allowed,
                limits=limits,
                host=host,
                port=port,
            )
        except AuthenticationError:
            return None

    order = names if names is not None else [SASL, APOP, USER]
    for name in order:
        if name == USER:
            if (caps.user or not caps.supported) and has_password and encodable:
                return Choice(USER)
        elif name == APOP:
            if (names is not None or enable_apop) and timestamp and has_password and encodable:
                return Choice(APOP)
        else:
            mechanism = sasl_for(None if name == SASL else [name])
            if mechanism is not None:
                return Choice(SASL, mechanism)
    offered = " ".join(caps.sasl) or "no SASL"
    others = [n for n, ok in ((USER, caps.user), (APOP, bool(timestamp))) if ok]
    raise AuthenticationError(
        f"no acceptable login method: the server offers {offered}"
        f"{' and ' + ', '.join(others) if others else ''}; considered {', '.join(order)} "
        "with the given credentials and settings (APOP and CRAM-MD5 need enabling; "
        "non-ASCII USER/PASS needs UTF8 USER, RFC 6856 §2.2)"
    )


def user_pass_commands(username: str, password: str, *, utf8_user: bool) -> tuple[User, Pass]:
    """USER and PASS, built and test-written before either is sent (S18).

    Raises:
        ValueError: CR, LF or NUL, an overlong line, or non-ASCII without
            ``utf8_user``.
    """
    user, secret = User(username), Pass(password)
    for command in (user, secret):
        write_command(command, Outbound(), utf8_user=utf8_user)
    return user, secret


def apop_command(username: str, timestamp: str, password: str, *, utf8_user: bool) -> Apop:
    """The APOP command for the greeting's ``timestamp``, checked like USER/PASS."""
    apop = Apop.from_secret(username, timestamp, password)
    write_command(apop, Outbound(), utf8_user=utf8_user)
    return apop
