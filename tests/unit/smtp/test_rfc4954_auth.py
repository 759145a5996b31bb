"""AUTH (RFC 4954; its predecessor RFC 2554 is the text in shared/rfc) in the core.

Wire bytes come from RFC 2554 §4's example, RFC 2195's CRAM-MD5 example and
MailKit's recorded Comcast sessions; the SASL mechanisms (mailwire.sasl) are
driven by hand next to the core, as the AUTH flow will.
"""

from __future__ import annotations

import base64

import pytest

from mailwire import AuthenticationError, Limits, LocalProtocolError, RemoteProtocolError, sasl
from mailwire._flow import Send
from mailwire.smtp import (
    Auth,
    AuthCancel,
    AuthResponse,
    Connection,
    Ehlo,
    MailFrom,
    Noop,
    Reply,
    Rset,
    State,
)

from .helpers import C, S, drain, exchange, in_transaction, play, ready, resource, rfc_text

# MailKit's corpus: AUTH PLAIN for username / password, then LOGIN's two answers.
PLAIN_LINE = b"AUTH PLAIN AHVzZXJuYW1lAHBhc3N3b3Jk\r\n"
LOGIN_USER = b"dXNlcm5hbWU=\r\n"
LOGIN_PASS = b"cGFzc3dvcmQ=\r\n"


def secret_bytes(send: Send) -> list[bytes]:
    return [send.data[a:b] for a, b in send.secrets]


def test_rfc_texts_say_so() -> None:
    text = " ".join(rfc_text("2554").split())
    assert 'a zero- length initial response is sent as a single equals sign ("=")' in text
    assert 'it issues a line with a single "*"' in text
    assert "MUST reject the AUTH command by sending a 501 reply" in text
    assert "The AUTH command is not permitted during a mail transaction" in text
    assert "C: ZnJlZCA5ZTk1YWVlMDljNDBhZjJiODRhMGMyYjNiYmFlNzg2ZQ==" in rfc_text("2554")


def test_rfc2554_example() -> None:
    """RFC 2554 §4: AUTH FOOBAR refused with 504, then CRAM-MD5 with one challenge."""
    conn = Connection()
    play(
        conn,
        [
            S(b"220 smtp.example.com ESMTP server ready\r\n", 220),
            C(Ehlo("jgm.example.com"), wire=b"EHLO jgm.example.com\r\n"),
            S(b"250-smtp.example.com\r\n250 AUTH CRAM-MD5 DIGEST-MD5\r\n", 250),
            C(Auth("FOOBAR"), wire=b"AUTH FOOBAR\r\n"),
            S(b"504 Unrecognized authentication type.\r\n", 504),
        ],
    )
    assert conn.state is State.READY
    assert conn.capabilities is not None
    assert conn.capabilities.auth == ("CRAM-MD5", "DIGEST-MD5")
    (challenge,) = play(
        conn,
        [
            C(Auth("CRAM-MD5"), wire=b"AUTH CRAM-MD5\r\n"),
            S(b"334 PENCeUxFREJoU0NnbmhNWitOMjNGNndAZWx3b29kLmlubm9zb2Z0LmNvbT4=\r\n", 334),
        ],
    )
    decoded = base64.b64decode(challenge.lines[0])
    assert decoded.startswith(b"<")
    assert decoded.endswith(b"@elwood.innosoft.com>")
    assert conn.state is State.AUTH
    answer = base64.b64decode("ZnJlZCA5ZTk1YWVlMDljNDBhZjJiODRhMGMyYjNiYmFlNzg2ZQ==")
    (done,) = play(
        conn,
        [
            C(
                AuthResponse(answer),
                wire=b"ZnJlZCA5ZTk1YWVlMDljNDBhZjJiODRhMGMyYjNiYmFlNzg2ZQ==\r\n",
            ),
            S(b"235 Authentication successful.\r\n", 235),
        ],
    )
    assert isinstance(done.command, AuthResponse)
    assert conn.state is State.READY
    assert conn.authenticated


def test_cram_md5_from_rfc2195_through_the_core() -> None:
    """RFC 2195 §2: tim / tanstaaftanstaaf; the response line is the RFC's."""
    conn = ready()
    mechanism = sasl.CramMD5("tim", "tanstaaftanstaaf")
    assert mechanism.initial_response() is None
    (challenge,) = exchange(
        conn,
        Auth("CRAM-MD5"),
        b"334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
    )
    conn.send(AuthResponse(mechanism.respond(base64.b64decode(challenge.lines[0]))))
    sent = conn.outgoing()
    assert sent.data == b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"
    assert secret_bytes(sent) == [b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"]


# ---------------------------------------------------------- SASL-IR and "="


def test_plain_initial_response_matches_the_corpus() -> None:
    """MailKit's `AUTH PLAIN AHVzZXJuYW1lAHBhc3N3b3Jk`, built from sasl.Plain."""
    conn = ready()
    conn.send(Auth("PLAIN", sasl.Plain("username", "password").initial_response()))
    sent = conn.outgoing()
    assert sent.data == PLAIN_LINE
    # S40: exactly the base64 payload is secret; the verb and CRLF are not.
    assert sent.secrets == ((len(b"AUTH PLAIN "), len(PLAIN_LINE) - 2),)
    assert secret_bytes(sent) == [b"AHVzZXJuYW1lAHBhc3N3b3Jk"]
    (reply,) = exchange(conn, [], resource("comcast-auth-plain.txt"))
    assert reply.code == 235
    assert reply.enhanced == (2, 7, 0)
    assert conn.authenticated
    assert conn.state is State.READY


def test_empty_initial_response_is_an_equals_sign() -> None:
    """RFC 4954 §4 / RFC 2554 §4: a zero-length initial response is sent as "="."""
    conn = ready()
    conn.send(Auth("EXTERNAL", b""))
    sent = conn.outgoing()
    assert sent.data == b"AUTH EXTERNAL =\r\n"
    assert secret_bytes(sent) == [b"="]


def test_no_initial_response_waits_for_a_challenge() -> None:
    conn = ready()
    conn.send(Auth("LOGIN"))
    sent = conn.outgoing()
    assert sent.data == b"AUTH LOGIN\r\n"
    assert sent.secrets == ()


def test_secret_spans_are_relative_to_the_drained_bytes() -> None:
    """Offsets still point at the payload when other commands precede it in one write."""
    conn = ready()
    conn.send(Rset())
    conn.send(Auth("PLAIN", b"\0username\0password"))
    sent = conn.outgoing()
    assert sent.data == b"RSET\r\n" + PLAIN_LINE
    assert secret_bytes(sent) == [b"AHVzZXJuYW1lAHBhc3N3b3Jk"]
    assert "AHVz" not in repr(sent)  # a Send with secrets never shows them


def test_reprs_hide_credentials() -> None:
    """S40 at the core: commands carrying secrets do not show them."""
    assert "password" not in repr(Auth("PLAIN", b"\0user\0password"))
    assert "password" not in repr(AuthResponse(b"password"))


# ---------------------------------------------------------- 334 challenges


def test_login_challenges_match_the_corpus() -> None:
    """MailKit's AUTH LOGIN session (CreateBasicFunctionalityCommands), answers from sasl.Login."""
    conn = ready()
    mechanism = sasl.Login("username", "password")
    conn.send(Auth("LOGIN", mechanism.initial_response()))
    assert conn.data_to_send() == b"AUTH LOGIN\r\n"
    sent_lines = []
    for reply_file in ("comcast-auth-login-username.txt", "comcast-auth-login-password.txt"):
        (challenge,) = exchange(conn, [], resource(reply_file))
        assert challenge.code == 334
        assert isinstance(challenge.command, Auth | AuthResponse)
        assert conn.state is State.AUTH
        conn.send(AuthResponse(mechanism.respond(base64.b64decode(challenge.lines[0]))))
        sent = conn.outgoing()
        assert secret_bytes(sent) == [sent.data[:-2]]
        sent_lines.append(sent.data)
    assert sent_lines == [LOGIN_USER, LOGIN_PASS]
    (done,) = exchange(conn, [], resource("comcast-auth-login.txt"))
    assert done.code == 235
    assert conn.authenticated
    assert conn.state is State.READY


def test_empty_response_is_an_empty_line() -> None:
    """MailKit's DIGEST-MD5 session ends with an empty client line ("\\r\\n")."""
    conn = ready()
    exchange(conn, Auth("DIGEST-MD5"), resource("comcast-auth-digest-md5.txt"))
    exchange(conn, AuthResponse(b"x"), resource("comcast-auth-digest-md5-response.txt"))
    conn.send(AuthResponse(b""))
    sent = conn.outgoing()
    assert sent.data == b"\r\n"
    (reply,) = exchange(conn, [], resource("comcast-auth-digest-md5-reset.txt"))
    assert reply.code == 535
    assert conn.state is State.READY
    assert not conn.authenticated


def test_cancel() -> None:
    """RFC 4954 §4: "*" cancels; the server answers 501."""
    conn = ready()
    exchange(conn, Auth("LOGIN"), b"334 VXNlcm5hbWU6\r\n")
    conn.send(AuthCancel())
    sent = conn.outgoing()
    assert sent.data == b"*\r\n"
    assert sent.secrets == ()
    (reply,) = exchange(conn, [], b"501 5.7.0 authentication cancelled\r\n")
    assert isinstance(reply.command, AuthCancel)
    assert conn.state is State.READY
    assert not conn.authenticated


@pytest.mark.parametrize(
    "reply", [b"535 5.7.8 bad credentials\r\n", b"534 5.7.9 too weak\r\n", b"454 4.7.0 later\r\n"]
)
def test_refusal_returns_to_ready(reply: bytes) -> None:
    conn = ready()
    exchange(conn, Auth("PLAIN", b"\0u\0p"), reply)
    assert conn.state is State.READY
    assert not conn.authenticated
    conn.send(Auth("LOGIN"))  # RFC 2554 §4: "the client may try another ... mechanism"


def test_large_challenge() -> None:
    """RFC 2554 §4: clients "MUST be able to support challenges ... as long as are
    generated by the authentication mechanisms"; up to the reply line limit by default,
    more with a larger Limits.max_reply_line_length."""
    token = base64.b64encode(b"k" * 6000)
    conn = ready()
    (challenge,) = exchange(conn, Auth("GSSAPI", b""), b"334 " + token + b"\r\n")
    assert challenge.lines == [token.decode()]
    big = base64.b64encode(b"k" * 20_000)
    conn = Connection(limits=Limits(max_reply_line_length=64 * 1024))
    conn.receive_data(b"220 mx\r\n")
    drain(conn)
    exchange(conn, Ehlo("c.example"), b"250 mx\r\n")
    (challenge,) = exchange(conn, Auth("GSSAPI", b""), b"334 " + big + b"\r\n")
    assert challenge.lines == [big.decode()]


# ---------------------------------------------------------- S26: the rounds


def test_endless_challenges_end_with_a_cancel() -> None:
    """S26: the core does not count rounds; sasl.Mechanism does (Limits.max_sasl_rounds),
    and the flow then sends "*". Composed here by hand, the way the flow does it."""
    limits = Limits(max_sasl_rounds=5)
    conn = ready()
    mechanism = sasl.Plain("username", "password", limits=limits)
    conn.send(Auth("PLAIN"))  # no SASL-IR: the server asks first
    conn.data_to_send()
    answers = 0
    for _ in range(50):
        conn.receive_data(b"334 \r\n")
        (challenge,) = drain(conn)
        assert challenge.code == 334
        try:
            response = mechanism.respond(base64.b64decode(challenge.lines[0]))
        except AuthenticationError:
            conn.send(AuthCancel())
            break
        conn.send(AuthResponse(response))
        answers += 1
    else:
        pytest.fail("the exchange never ended")
    assert answers <= limits.max_sasl_rounds
    assert conn.data_to_send().endswith(b"*\r\n")
    (reply,) = exchange(conn, [], b"501 5.7.0 cancelled\r\n")
    assert isinstance(reply.command, AuthCancel)
    assert conn.state is State.READY


# ---------------------------------------------------------- where AUTH goes


def test_auth_not_during_a_mail_transaction() -> None:
    """RFC 2554 §4: "The AUTH command is not permitted during a mail transaction"."""
    conn = in_transaction()
    with pytest.raises(LocalProtocolError):
        conn.send(Auth("PLAIN", b"\0u\0p"))
    assert conn.data_to_send() == b""


def test_responses_only_inside_an_exchange() -> None:
    for command in (AuthResponse(b"x"), AuthCancel()):
        conn = ready()
        with pytest.raises(LocalProtocolError):
            conn.send(command)


def test_nothing_but_responses_inside_an_exchange() -> None:
    """Any line during AUTH is read by the server as a SASL response."""
    for command in (Noop(), MailFrom("a@example.org"), Rset()):
        probe = ready()
        exchange(probe, Auth("LOGIN"), b"334 VXNlcm5hbWU6\r\n")
        with pytest.raises(LocalProtocolError):
            probe.send(command)


def test_334_to_another_command_is_a_protocol_error() -> None:
    conn = ready()
    conn.send(Noop())
    conn.receive_data(b"334 VXNlcm5hbWU6\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


@pytest.mark.parametrize(
    "name", ["plain", "PLAIN ", "A" * 21, "", "PLAIN\r\nQUIT", "X.Y", "CRAM MD5"]
)
def test_mechanism_names(name: str) -> None:
    """RFC 4422 §3.1: sasl-mech = 1*20mech-char (upper-case letters, digits, - and _)."""
    with pytest.raises(ValueError, match="mechanism"):
        Auth(name)


@pytest.mark.parametrize("name", ["PLAIN", "SCRAM-SHA-256", "X_A", "A" * 20, "GS2-KRB5"])
def test_good_mechanism_names(name: str) -> None:
    conn = ready()
    conn.send(Auth(name))
    assert conn.data_to_send() == f"AUTH {name}\r\n".encode()


def test_binary_responses_are_one_base64_line() -> None:
    """A response with CR/LF inside is base64: it cannot break the line (S14)."""
    conn = ready()
    exchange(conn, Auth("LOGIN"), b"334 VXNlcm5hbWU6\r\n")
    conn.send(AuthResponse(b"user\r\nQUIT\r\n\x00"))
    sent = conn.data_to_send()
    assert sent.count(b"\r\n") == 1
    assert base64.b64decode(sent[:-2]) == b"user\r\nQUIT\r\n\x00"


# ---------------------------------------------------------- bugs


def test_no_response_before_the_challenge() -> None:
    """RFC 4954 §4: a response answers a 334 challenge; RFC 2920 §3.1: commands of
    other extensions "may only appear as the last command in a group"."""
    conn = ready()
    conn.send(Auth("LOGIN"))
    with pytest.raises(LocalProtocolError):
        conn.send(AuthResponse(b"username"))
    assert conn.data_to_send() == b"AUTH LOGIN\r\n"


def test_354_to_auth_is_a_protocol_error() -> None:
    """RFC 4954 §4: the server answers AUTH with 334 challenges or a final 2yz/4yz/5yz."""
    conn = ready()
    conn.send(Auth("LOGIN"))
    conn.receive_data(b"354 go ahead\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_challenge_after_cancel_is_a_protocol_error() -> None:
    """RFC 2554 §4 / RFC 4954 §4: after "*" the server "MUST reject the AUTH command
    by sending a 501 reply"."""
    conn = ready()
    exchange(conn, Auth("LOGIN"), b"334 VXNlcm5hbWU6\r\n")
    conn.send(AuthCancel())
    conn.receive_data(b"334 UGFzc3dvcmQ6\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_reply_values() -> None:
    conn = ready()
    (reply,) = exchange(conn, Auth("PLAIN", b"\0u\0p"), resource("auth-failed.txt"))
    assert reply == Reply(535, ["authentication failed"], None, "authentication failed")
