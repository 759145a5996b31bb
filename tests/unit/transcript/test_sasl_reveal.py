"""SASL payloads decoded only when asked AND the peer is on loopback; a password never.

Sessions are built the way the drivers record them: the connect record names
the peer (``connected to HOST:PORT (ADDRESS:PORT)``), each AUTH payload is one
secret span, server challenges are plain server lines. The messages come from
mailwire's own mechanisms (``mailwire.sasl``), so they are the real wire forms
of RFC 4616 (PLAIN), RFC 5802 (SCRAM), RFC 2195 (CRAM-MD5) and RFC 7628.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Callable

import pytest

from mailwire import sasl
from mailwire._transcript_sasl import is_loopback
from mailwire.transcript import Kind, Transcript

from .helpers import PASSWORD

USER = "alice"
TOKEN = "ya29.bearer-token-XYZ"  # an OAuth 2.0 token is as secret as a password
LOOPBACK = ["127.0.0.1:25", "127.42.0.9:587", "::1:993", "[::1]:143"]
NOT_LOOPBACK = [
    "192.0.2.1:25",  # TEST-NET-1
    "10.0.0.1:587",
    "2001:db8::1:993",
    "::ffff:127.0.0.1:25",  # IPv4-mapped: refused, conservatively
    "0.0.0.0:25",
    "mail.example:25",  # a name, not an address
    "127.0.0.1",  # no port: not the connect-record form
]

# (challenge, response) rounds after an optional initial response.
Exchange = tuple[bytes | None, list[tuple[bytes, bytes]]]


def clock() -> Callable[[], float]:
    counter = itertools.count()
    return lambda: next(counter) / 100


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def exchange(mechanism: str) -> tuple[Exchange, list[bytes]]:
    """The wire exchange of ``mechanism`` from mailwire.sasl, and the secrets in it."""
    password = PASSWORD.encode()
    if mechanism == "PLAIN":
        mech: sasl.Mechanism = sasl.Plain(USER, PASSWORD)
        return (mech.initial_response(), []), [password]
    if mechanism == "LOGIN":
        mech = sasl.Login(USER, PASSWORD)
        rounds = [(b"Username:", mech.respond(b"Username:"))]
        rounds.append((b"Password:", mech.respond(b"Password:")))
        return (None, rounds), [password]
    if mechanism == "CRAM-MD5":
        mech = sasl.CramMD5(USER, PASSWORD)
        challenge = b"<1896.697170952@postoffice.example.net>"  # RFC 2195 §2
        response = mech.respond(challenge)
        return (None, [(challenge, response)]), [password, response.split(b" ")[1]]
    if mechanism == "SCRAM-SHA-256":
        mech = sasl.ScramSHA256(USER, PASSWORD, nonce="rOprNGfwEbeRWgbNEkqO")  # RFC 7677 §3
        first = mech.initial_response()
        server_first = (
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        )
        final = mech.respond(server_first)
        proof = final.rsplit(b",p=", 1)[1]
        server_final = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        return (first, [(server_first, final), (server_final, b"")]), [password, proof]
    if mechanism == "XOAUTH2":
        mech = sasl.XOAuth2(USER, TOKEN)
        return (mech.initial_response(), []), [TOKEN.encode()]
    if mechanism == "OAUTHBEARER":
        mech = sasl.OAuthBearer(USER, TOKEN, host="mail.example", port=993)
        return (mech.initial_response(), []), [TOKEN.encode()]
    if mechanism == "EXTERNAL":
        return (b"admin", []), []
    if mechanism == "DIGEST-MD5":  # not decoded: only its size is shown
        response = b'username="alice",realm="x",nonce="abc",response=0123456789abcdef'
        return (None, [(b'realm="x",nonce="abc",qop="auth"', response)]), [password, response]
    raise AssertionError(mechanism)


def record(protocol: str, mechanism: str, peer: str | None, *, reveal: bool = True) -> Transcript:
    """A session with one SASL exchange, recorded as a driver records it."""
    (first, rounds), _ = exchange(mechanism)
    t = Transcript(clock=clock(), reveal_sasl_on_loopback=reveal)
    t.protocol = protocol
    if peer is not None:
        t.add(Kind.CONNECT, note=f"connected to mail.example:25 ({peer})")
    greeting = {"smtp": b"220 ready\r\n", "pop3": b"+OK ready\r\n", "imap": b"* OK ready\r\n"}
    t.received(greeting[protocol])
    head = {"smtp": b"AUTH ", "pop3": b"AUTH ", "imap": b"A1 AUTHENTICATE "}[protocol]
    head += mechanism.encode()
    if first is None:
        t.sent(head + b"\r\n")
    else:
        payload = b64(first) or b"="
        start = len(head) + 1
        t.sent(head + b" " + payload + b"\r\n", ((start, start + len(payload)),))
    prompt = b"334 " if protocol == "smtp" else b"+ "
    for challenge, response in rounds:
        t.received(prompt + b64(challenge) + b"\r\n")
        payload = b64(response)
        t.sent(payload + b"\r\n", ((0, len(payload)),) if payload else ())
    done = {"smtp": b"235 2.7.0 ok\r\n", "pop3": b"+OK in\r\n", "imap": b"A1 OK done\r\n"}
    t.received(done[protocol])
    t.sent({"smtp": b"QUIT\r\n", "pop3": b"QUIT\r\n", "imap": b"A2 LOGOUT\r\n"}[protocol])
    return t


def outputs(t: Transcript) -> dict[str, str]:
    out = {style: t.render(style) for style in ("text", "annotated", "raw")}
    out["color"] = t.render("annotated", color=True)
    out["jsonl"] = t.to_jsonl()
    out["html"] = t.to_html()
    out["mermaid"] = t.to_mermaid()
    out["repr"] = repr(t) + "".join(repr(r) for r in t.records)
    return out


def forms_of(secret: bytes) -> list[str]:
    """A secret as it could leak: itself, base64, hex, Python repr."""
    return [secret.decode("latin-1"), b64(secret).decode(), secret.hex(), repr(secret)[2:-1]]


def assert_no_leak(t: Transcript, secrets: list[bytes]) -> None:
    for name, text in outputs(t).items():
        for secret in secrets:
            for form in forms_of(secret):
                assert form not in text, (name, form)


def notes(t: Transcript) -> list[str]:
    return [r.note or "" for r in t.records if r.kind is Kind.EVENT and "SASL" in (r.note or "")]


MECHANISMS = [
    "PLAIN",
    "LOGIN",
    "CRAM-MD5",
    "SCRAM-SHA-256",
    "XOAUTH2",
    "OAUTHBEARER",
    "EXTERNAL",
    "DIGEST-MD5",
]
PROTOCOLS = ["smtp", "pop3", "imap"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("peer", LOOPBACK)
def test_loopback_decodes_and_never_shows_a_secret(
    protocol: str, mechanism: str, peer: str
) -> None:
    t = record(protocol, mechanism, peer)
    assert t.peer == peer
    assert t.sasl_decoded
    assert notes(t), "decoded notes expected on loopback"
    _, secrets = exchange(mechanism)
    assert_no_leak(t, secrets)
    # The payload records themselves stay secret: marked, and not stored (S40).
    sensitive = [r for r in t.records if r.sensitive]
    assert sensitive
    assert all(r.data == b"" for r in sensitive)
    assert all(r.size > 0 for r in sensitive)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("peer", [*NOT_LOOPBACK, None])
def test_elsewhere_redacted_as_without_the_option(
    protocol: str, mechanism: str, peer: str | None
) -> None:
    asked = record(protocol, mechanism, peer, reveal=True)
    plain = record(protocol, mechanism, peer, reveal=False)
    assert not asked.sasl_decoded
    assert notes(asked) == []
    assert outputs(asked) == outputs(plain)  # exactly what is shown today
    _, secrets = exchange(mechanism)
    assert_no_leak(asked, secrets)


@pytest.mark.parametrize("peer", LOOPBACK)
def test_not_asked_on_loopback_shows_nothing_decoded(peer: str) -> None:
    t = record("smtp", "PLAIN", peer, reveal=False)
    assert not t.sasl_decoded
    assert notes(t) == []
    assert "authcid" not in t.render()


def test_plain_view() -> None:
    t = record("smtp", "PLAIN", "127.0.0.1:587")
    assert notes(t) == [
        'SASL PLAIN client (initial response): authzid "", authcid "alice", '
        f"password <redacted {len(PASSWORD)} bytes>"
    ]
    text = t.render()
    assert "C: AUTH PLAIN <redacted 28 bytes>\n# event: SASL PLAIN client" in text


def test_login_view() -> None:
    t = record("pop3", "LOGIN", "::1:110")
    assert notes(t) == [
        "SASL LOGIN server: Username:",
        'SASL LOGIN client: user name "alice"',
        "SASL LOGIN server: Password:",
        f"SASL LOGIN client: password <redacted {len(PASSWORD)} bytes>",
    ]


def test_login_asked_for_the_password_first_is_masked() -> None:
    t = Transcript(reveal_sasl_on_loopback=True)
    t.add(Kind.CONNECT, note="connected to localhost:25 (127.0.0.1:25)")
    t.sent(b"AUTH LOGIN\r\n")
    t.received(b"334 " + b64(b"Password:") + b"\r\n")
    payload = b64(PASSWORD.encode())
    t.sent(payload + b"\r\n", ((0, len(payload)),))
    assert notes(t)[-1] == f"SASL LOGIN client: password <redacted {len(PASSWORD)} bytes>"


def test_cram_md5_view() -> None:
    t = record("imap", "CRAM-MD5", "127.0.0.1:143")
    assert notes(t) == [
        "SASL CRAM-MD5 server: <1896.697170952@postoffice.example.net>",
        'SASL CRAM-MD5 client: user name "alice", digest <redacted 32 bytes>',
    ]


def test_scram_view() -> None:
    t = record("imap", "SCRAM-SHA-256", "127.0.0.1:143")
    assert notes(t) == [
        "SASL SCRAM-SHA-256 client (initial response): n,,n=alice,r=rOprNGfwEbeRWgbNEkqO",
        "SASL SCRAM-SHA-256 server: r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "SASL SCRAM-SHA-256 client: c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=<redacted 44 bytes>",  # SHA-256: a 32-byte proof, 44 in base64 (RFC 5802 §7)
        "SASL SCRAM-SHA-256 server: v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        "SASL SCRAM-SHA-256 client: (empty)",
    ]


def test_bearer_views_mask_the_token() -> None:
    xoauth2 = record("imap", "XOAUTH2", "127.0.0.1:993")
    (note,) = notes(xoauth2)
    assert note.startswith("SASL XOAUTH2 client (initial response): user=alice^Aauth=<redacted ")
    oauthbearer = record("smtp", "OAUTHBEARER", "127.0.0.1:587")
    (note,) = notes(oauthbearer)
    assert "n,a=alice,^Ahost=mail.example^Aport=993^Aauth=<redacted " in note
    assert "Bearer" not in note


def test_external_and_unknown_views() -> None:
    assert notes(record("smtp", "EXTERNAL", "127.0.0.1:25")) == [
        'SASL EXTERNAL client (initial response): authorization identity "admin"'
    ]
    digest = notes(record("smtp", "DIGEST-MD5", "127.0.0.1:25"))
    assert digest[1].startswith("SASL DIGEST-MD5 client: <redacted ")


def test_login_command_password_is_not_sasl() -> None:
    # IMAP LOGIN and POP3 PASS carry the password as is: never decoded, never shown.
    t = Transcript(reveal_sasl_on_loopback=True)
    t.add(Kind.CONNECT, note="connected to localhost:143 (127.0.0.1:143)")
    line = f"A1 LOGIN alice {PASSWORD}\r\n".encode()
    t.sent(line, ((15, 15 + len(PASSWORD)),))
    t.received(b"A1 OK\r\n")
    t.sent(f"PASS {PASSWORD}\r\n".encode(), ((5, 5 + len(PASSWORD)),))
    assert notes(t) == []
    assert_no_leak(t, [PASSWORD.encode()])


def test_hostile_challenge_cannot_drive_the_terminal() -> None:
    t = Transcript(reveal_sasl_on_loopback=True)
    t.add(Kind.CONNECT, note="connected to localhost:25 (127.0.0.1:25)")
    t.sent(b"AUTH LOGIN\r\n")
    hostile = "\x1b]0;owned\x07User\u202ename:".encode()
    t.received(b"334 " + b64(hostile) + b"\r\n")
    for text in outputs(t).values():
        assert "\x1b]" not in text
        assert "\u202e" not in text
    assert "\\x1b]0;owned\\x07User\\u202ename:" in t.render()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_cancelled_exchange(protocol: str) -> None:
    # "*" cancels (RFC 4954 §4, RFC 5034 §4, RFC 9051 §6.2.2); later lines are not answers.
    t = Transcript(reveal_sasl_on_loopback=True)
    t.add(Kind.CONNECT, note="connected to localhost:25 (127.0.0.1:25)")
    t.sent(b"A1 AUTHENTICATE LOGIN\r\n" if protocol == "imap" else b"AUTH LOGIN\r\n")
    t.received((b"334 " if protocol == "smtp" else b"+ ") + b64(b"Username:") + b"\r\n")
    t.sent(b"*\r\n")
    t.received(
        {"smtp": b"501 5.0.0 cancelled", "pop3": b"-ERR cancelled", "imap": b"A1 BAD no"}[protocol]
        + b"\r\n"
    )
    payload = b64(PASSWORD.encode())
    t.sent(payload + b"\r\n", ((0, len(payload)),))
    assert notes(t) == [
        "SASL LOGIN server: Username:",
        "SASL LOGIN: the client cancelled the exchange",
    ]


def test_an_exchange_ends_at_the_next_command() -> None:
    # After the reply, a base64-looking secret-free line is not an answer any more.
    t = record("smtp", "PLAIN", "127.0.0.1:25")
    count = len(notes(t))
    t.sent(b"MAIL FROM:<a@example.org>\r\n")
    t.received(b"334 " + b64(b"late") + b"\r\n")  # not inside an exchange: not decoded
    assert len(notes(t)) == count


def test_a_new_connection_to_elsewhere_stops_decoding() -> None:
    t = Transcript(reveal_sasl_on_loopback=True)
    t.add(Kind.CONNECT, note="connected to localhost:25 (127.0.0.1:25)")
    assert t.sasl_decoded
    t.add(Kind.CONNECT, note="connected to mail.example:25 (192.0.2.7:25)")
    assert not t.sasl_decoded
    payload = b64(f"\0alice\0{PASSWORD}".encode())
    t.sent(b"AUTH PLAIN " + payload + b"\r\n", ((11, 11 + len(payload)),))
    assert notes(t) == []


@pytest.mark.parametrize("peer", LOOPBACK)
def test_is_loopback(peer: str) -> None:
    assert is_loopback(peer)


@pytest.mark.parametrize("peer", NOT_LOOPBACK)
def test_is_not_loopback(peer: str) -> None:
    assert not is_loopback(peer)


def test_the_legend_and_notes_hold_no_escape_codes() -> None:
    text = record("imap", "SCRAM-SHA-256", "127.0.0.1:143").render("annotated")
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", text)
