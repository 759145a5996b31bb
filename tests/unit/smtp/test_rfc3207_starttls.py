"""STARTTLS (RFC 3207) in the core: the go-ahead, injection (S1), forgetting (S3).

The core never sees TLS: after the 220 go-ahead the driver runs the handshake
and calls ``tls_established()``. What the core must guarantee: nothing read in
plaintext after the go-ahead is ever taken as if it came over TLS (S1), and
everything learnt before TLS is forgotten, so EHLO is needed again (S3).
"""

from __future__ import annotations

import pytest

from mailwire import LocalProtocolError, ProtocolError, SecurityError
from mailwire.smtp import (
    Auth,
    Connection,
    Ehlo,
    MailFrom,
    Noop,
    Quit,
    StartTLS,
    State,
)

from .helpers import C, S, drain, exchange, feed, greeted, play, ready, rfc_text

# RFC 3207 §5, the usage example, server lines as printed.
EHLO_BEFORE = (
    b"250-mail.imc.org offers a warm hug of welcome\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 DSN\r\n"
)
EHLO_AFTER = (
    b"250-mail.imc.org touches your hand gently for a moment\r\n250-8BITMIME\r\n250 DSN\r\n"
)


def test_example_is_quoted_from_the_rfc() -> None:
    text = " ".join(rfc_text("3207").split())
    for line in [
        "S: 220 mail.imc.org SMTP service ready",
        "C: EHLO mail.example.com",
        "S: 250-mail.imc.org offers a warm hug of welcome",
        "S: 220 Go ahead",
        "S: 250-mail.imc.org touches your hand gently for a moment",
        "the STARTTLS command must be the last command in a group",
        "A client MUST NOT attempt to start a TLS session if a TLS",
    ]:
        assert line in text, line


def at_go_ahead() -> Connection:
    """RFC 3207 §5 up to and including the 220 Go ahead."""
    conn = Connection()
    play(
        conn,
        [
            S(b"220 mail.imc.org SMTP service ready\r\n", 220),
            C(Ehlo("mail.example.com"), wire=b"EHLO mail.example.com\r\n"),
            S(EHLO_BEFORE, 250),
            C(StartTLS(), wire=b"STARTTLS\r\n"),
            S(b"220 Go ahead\r\n", 220),
        ],
    )
    return conn


def test_rfc3207_usage_example() -> None:
    """§5 byte for byte; §4.2: after the handshake, EHLO again and a new extension list."""
    conn = at_go_ahead()
    assert conn.state is State.TLS_HANDSHAKE
    assert conn.capabilities is None  # §4.2: "MUST discard any knowledge obtained"
    assert not conn.tls_active
    assert conn.data_to_send() == b""
    conn.tls_established()
    assert conn.tls_active
    assert conn.state is State.INIT
    play(
        conn,
        [
            C(Ehlo("mail.example.com"), wire=b"EHLO mail.example.com\r\n"),
            S(EHLO_AFTER, 250),
        ],
    )
    assert conn.state is State.READY
    assert conn.capabilities is not None
    assert set(conn.capabilities.keywords) == {"8BITMIME", "DSN"}
    assert not conn.capabilities.starttls


def test_go_ahead_split_anywhere() -> None:
    for i in range(1, len(b"220 Go ahead\r\n")):
        conn = ready()
        conn.send(StartTLS())
        feed(conn, [b"220 Go ahead\r\n"[:i], b"220 Go ahead\r\n"[i:]])
        assert conn.state is State.TLS_HANDSHAKE


def test_multiline_go_ahead() -> None:
    conn = ready()
    (reply,) = exchange(conn, StartTLS(), b"220-2.0.0 Ready\r\n220 2.0.0 start TLS\r\n")
    assert reply.lines == ["2.0.0 Ready", "2.0.0 start TLS"]
    assert conn.state is State.TLS_HANDSHAKE


def test_nothing_may_be_sent_during_the_handshake() -> None:
    """§4: "the client MUST start the TLS negotiation before giving any other SMTP commands"."""
    conn = at_go_ahead()
    with pytest.raises(LocalProtocolError):
        conn.send(Noop())


# ------------------------------------------------------------- S1 injection

INJECTIONS = [
    b"250-x\r\n250 AUTH PLAIN\r\n",  # security.md S1, the SMTP bytes
    b"250 AUTH PLAIN\r\n",
    b"2",
    b"\r\n",
    b"421 bye\r\n",
    b"220 mail.imc.org ESMTP\r\n",
]


@pytest.mark.parametrize("injected", INJECTIONS)
def test_injection_in_the_same_segment(injected: bytes) -> None:
    """S1: bytes after the go-ahead in the same read are a SecurityError, before the handshake."""
    conn = ready()
    conn.send(StartTLS())
    conn.data_to_send()
    conn.receive_data(b"220 go ahead\r\n" + injected)
    with pytest.raises(SecurityError, match="STARTTLS"):
        conn.next_event()
    assert conn.state is State.ERROR
    assert conn.data_to_send() == b""
    # Nothing more is sent and no handshake may be completed.
    with pytest.raises(SecurityError):
        conn.send(Ehlo("client.example"))
    with pytest.raises(SecurityError):
        conn.send(Auth("PLAIN", b"\0user\0secret"))
    with pytest.raises(ProtocolError):
        conn.tls_established()
    assert not conn.tls_active


@pytest.mark.parametrize("injected", INJECTIONS)
def test_injection_with_the_go_ahead_in_pieces(injected: bytes) -> None:
    """However the go-ahead is split, bytes buffered behind it when it completes are caught."""
    go = b"220 go ahead\r\n"
    for i in range(1, len(go)):
        conn = ready()
        conn.send(StartTLS())
        conn.receive_data(go[:i])
        assert drain(conn) == []
        conn.receive_data(go[i:] + injected)
        with pytest.raises(SecurityError):
            conn.next_event()


def test_injection_behind_a_multiline_go_ahead() -> None:
    conn = ready()
    conn.send(StartTLS())
    conn.receive_data(b"220-go\r\n220 ahead\r\n250 AUTH PLAIN\r\n")
    with pytest.raises(SecurityError):
        conn.next_event()


def test_bytes_after_the_go_ahead_in_a_later_read_are_a_protocol_error() -> None:
    """A complete plaintext reply after the go-ahead answers nothing: RemoteProtocolError."""
    conn = at_go_ahead()
    conn.receive_data(b"250 AUTH PLAIN\r\n")
    with pytest.raises(ProtocolError):
        conn.next_event()
    with pytest.raises(ProtocolError):
        conn.tls_established()


@pytest.mark.parametrize(
    ("injected", "read_first"),
    [(b"250 AUTH PLAIN\r\n", False), (b"250-mx\r\n250-AUTH PLAIN\r\n", True)],
    ids=["still-buffered", "half-read"],
)
def test_plaintext_received_before_tls_established_is_refused(
    injected: bytes, read_first: bool
) -> None:
    """S1, ARCHITECTURE.md: nothing from the plaintext phase may reach the TLS phase."""
    conn = at_go_ahead()
    conn.receive_data(injected)
    with pytest.raises(SecurityError):
        if read_first:
            conn.next_event()  # returns NEED_DATA: the reader holds two plaintext lines
        conn.tls_established()


# ------------------------------------------------------------- S3 forgetting


def test_capabilities_before_tls_are_forgotten() -> None:
    """S3 / §4.2: pre-TLS AUTH PLAIN LOGIN, post-TLS AUTH SCRAM-SHA-256: only the latter counts."""
    conn = greeted()
    exchange(conn, Ehlo("c.example"), b"250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n")
    assert conn.capabilities is not None
    assert conn.capabilities.auth == ("PLAIN", "LOGIN")
    exchange(conn, StartTLS(), b"220 2.0.0 Ready to start TLS\r\n")
    assert conn.capabilities is None
    conn.tls_established()
    assert conn.capabilities is None
    # EHLO is required again: nothing that needs the extensions is allowed.
    for command in (Auth("PLAIN", b"\0u\0p"), MailFrom("a@example.org"), StartTLS()):
        fresh = greeted()
        exchange(fresh, Ehlo("c.example"), b"250-mx\r\n250 STARTTLS\r\n")
        exchange(fresh, StartTLS(), b"220 go\r\n")
        fresh.tls_established()
        with pytest.raises(LocalProtocolError):
            fresh.send(command)
    exchange(conn, Ehlo("c.example"), b"250-mx\r\n250 AUTH SCRAM-SHA-256\r\n")
    assert conn.capabilities is not None
    assert conn.capabilities.auth == ("SCRAM-SHA-256",)
    assert conn.state is State.READY


def test_authentication_before_tls_is_forgotten() -> None:
    """§4.2: "the SMTP protocol is reset to the initial state (the state in SMTP after
    a server issues a 220 service ready greeting)" - in which nobody is authenticated."""
    conn = ready()
    exchange(conn, Auth("PLAIN", b"\0user\0pass"), b"235 2.7.0 ok\r\n")
    assert conn.authenticated
    exchange(conn, StartTLS(), b"220 go ahead\r\n")
    conn.tls_established()
    assert not conn.authenticated


# ------------------------------------------------- S5 refusals (core level)


@pytest.mark.parametrize(
    "reply", [b"454 4.7.0 TLS not available\r\n", b"502 5.5.1 no\r\n", b"501 5.5.4 syntax\r\n"]
)
def test_starttls_refused(reply: bytes) -> None:
    """S5: the core reports the refusal and stays in plaintext; failing closed is the flow's job."""
    conn = ready()
    (event,) = exchange(conn, StartTLS(), reply)
    assert event.code == int(reply[:3])
    assert conn.state is State.READY
    assert not conn.tls_active
    assert conn.capabilities is not None  # nothing changed: still the plaintext EHLO
    with pytest.raises(LocalProtocolError):
        conn.tls_established()


def test_250_to_starttls_is_not_a_go_ahead() -> None:
    """S5: only 220 starts TLS (§4); a 250 'ok' leaves the session in plaintext."""
    conn = ready()
    exchange(conn, StartTLS(), b"250 ok\r\n")
    assert conn.state is State.READY
    assert not conn.tls_active


def test_tls_established_without_a_go_ahead() -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError, match="STARTTLS"):
        conn.tls_established()
    assert not conn.tls_active


def test_tls_established_out_of_turn_poisons_the_core() -> None:
    """ARCHITECTURE.md: "After any protocol error the core is in ERROR for good"."""
    conn = ready()
    with pytest.raises(LocalProtocolError):
        conn.tls_established()
    assert conn.state is State.ERROR
    with pytest.raises(LocalProtocolError):
        conn.send(Noop())


def test_quit_pipelined_after_starttls_is_refused() -> None:
    """RFC 3207 §4: "the STARTTLS command must be the last command in a group"."""
    conn = ready()
    conn.send(StartTLS())
    with pytest.raises(LocalProtocolError):
        conn.send(Quit())
    assert conn.data_to_send() == b"STARTTLS\r\n"  # no QUIT behind it


@pytest.mark.parametrize("how", ["after-starttls", "implicit-tls"])
def test_no_second_starttls(how: str) -> None:
    """RFC 3207 §4.2: "A client MUST NOT attempt to start a TLS session if a TLS session
    is already active"."""
    if how == "implicit-tls":
        conn = Connection(tls_active=True)
        conn.receive_data(b"220 mx\r\n")
        drain(conn)
    else:
        conn = at_go_ahead()
        conn.tls_established()
    exchange(conn, Ehlo("c.example"), b"250-mx\r\n250 STARTTLS\r\n")  # a lying server
    with pytest.raises(LocalProtocolError):
        conn.send(StartTLS())
