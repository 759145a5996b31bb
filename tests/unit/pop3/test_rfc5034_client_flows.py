"""The client's decisions and flows, run against an in-memory server.

SASL (RFC 5034: initial response, continuations, ``*`` to cancel), the login
choice (S38, S39), STLS (RFC 2595, S3-S5), PIPELINING (RFC 2449 §6.6: one
write per batch with it, one command per answer without), QUIT and its
UPDATE state (RFC 1939 §6), sinks and progress.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from typing import Any

import pytest

from mailwire import (
    AuthenticationError,
    ConnectionLost,
    Limits,
    LiteralTooLarge,
    LocalProtocolError,
    NotSupportedError,
    POP3ErrorReply,
    SecurityError,
    TLSMode,
    TooManyResponses,
)
from mailwire.pop3 import State
from tests.unit.pop3.helpers import (
    GREETING,
    MemoryServer,
    logged_in,
    memory_client,
    multiline,
)
from tests.unit.sasl.scram_server import ScramServer

MESSAGES = {
    1: b"Subject: one\r\n\r\n.starts with a dot\r\n",
    2: b"Subject: two\r\n\r\n" + b"x" * 5000 + b"\r\n",
    3: b"Subject: three\r\n\r\n..\r\n.\r\n",
}


def caps(*lines: bytes) -> bytes:
    return b"+OK\r\n" + b"".join(line + b"\r\n" for line in lines) + b".\r\n"


def retr(server: MemoryServer, line: bytes) -> bytes:
    number = int(line.split()[1])
    if number not in MESSAGES:
        return b"-ERR no such message\r\n"
    return multiline(MESSAGES[number], b"+OK %d octets" % len(MESSAGES[number]))


def top(server: MemoryServer, line: bytes) -> bytes:
    number = int(line.split()[1])
    header = MESSAGES[number].split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    return multiline(header)


def answers(*capability: bytes, **more: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "CAPA": caps(*(capability or (b"USER", b"TOP", b"UIDL", b"PIPELINING"))),
        "USER": b"+OK\r\n",
        "PASS": b"+OK logged in\r\n",
        "STAT": b"+OK 3 %d\r\n" % sum(map(len, MESSAGES.values())),
        "RETR": retr,
        "TOP": top,
        "DELE": b"+OK\r\n",
        "RSET": b"+OK\r\n",
        "NOOP": b"+OK\r\n",
        "QUIT": b"+OK bye\r\n",
    }
    table.update(more)
    return table


def login(server: MemoryServer, client: Any, **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "token": None,
        "mechanisms": None,
        "authzid": None,
        "initial_response": True,
    }
    options.update(kwargs)
    username = options.pop("username", "mrose")
    password = options.pop("password", "tanstaaf")
    return server.run(client._login_flow(username, password, **options))


def connected(server: MemoryServer, **kwargs: Any) -> Any:
    client = memory_client(**kwargs)
    server.run(client._connect_flow())
    return client


# ---------------------------------------------------------------- SASL


def scram_answers(scram: ScramServer, *, tamper: bool = False) -> dict[str, Any]:
    def auth(server: MemoryServer, line: bytes) -> bytes:
        _, mechanism, initial = line.split()
        assert mechanism == b"SCRAM-SHA-256"
        first = scram.first(base64.b64decode(initial))

        def final(server: MemoryServer, line: bytes) -> bytes:
            signature = scram.final(base64.b64decode(line.strip()))
            if tamper:
                signature = b"v=" + base64.b64encode(b"\0" * 32)

            def done(server: MemoryServer, line: bytes) -> bytes:
                server.continuation = None
                if line == b"*\r\n":
                    return b"-ERR cancelled\r\n"
                assert line == b"\r\n"  # RFC 5034 §4: the empty response
                return b"+OK logged in\r\n"

            server.continuation = done
            return b"+ " + base64.b64encode(signature) + b"\r\n"

        server.continuation = final
        return b"+ " + base64.b64encode(first) + b"\r\n"

    return answers(b"USER", b"SASL PLAIN SCRAM-SHA-256", AUTH=auth)


def test_login_prefers_scram_and_verifies_the_server() -> None:
    scram = ScramServer("sha256", "mrose", "tanstaaf")
    server = MemoryServer(scram_answers(scram))
    client = connected(server)
    ok = login(server, client)
    assert ok.text == "logged in"
    assert server.verbs()[:2] == ["CAPA", "AUTH"]
    assert server.verbs()[-2:] == ["CAPA", "STAT"]  # capabilities again, then the count
    assert client.connection.state is State.TRANSACTION
    assert client.connection.message_count == 3
    assert all(b"tanstaaf" not in write for write in server.writes)
    # Both SASL payloads went out as secret spans (S40); the last, empty
    # response has nothing to hide.
    assert len(server.secrets) == 2
    assert server.lines[-3] == b"\r\n"


def test_scram_server_that_cannot_prove_itself() -> None:
    scram = ScramServer("sha256", "mrose", "tanstaaf")
    server = MemoryServer(scram_answers(scram, tamper=True))
    client = connected(server)
    with pytest.raises(AuthenticationError, match="signature"):
        login(server, client)
    assert server.lines[-1] == b"*\r\n"  # the exchange is cancelled ...
    assert server.closed  # ... and nothing more goes to an impostor


def test_plain_with_initial_response() -> None:
    server = MemoryServer(answers(b"SASL PLAIN", AUTH=b"+OK welcome\r\n"))
    client = connected(server)
    login(server, client)
    expected = base64.b64encode(b"\0mrose\0tanstaaf")
    assert server.lines[1] == b"AUTH PLAIN " + expected + b"\r\n"


def test_plain_without_initial_response() -> None:
    def auth(server: MemoryServer, line: bytes) -> bytes:
        assert line == b"AUTH PLAIN\r\n"

        def response(server: MemoryServer, line: bytes) -> bytes:
            assert base64.b64decode(line.strip()) == b"\0mrose\0tanstaaf"
            server.continuation = None
            return b"+OK\r\n"

        server.continuation = response
        return b"+ \r\n"

    server = MemoryServer(answers(b"SASL PLAIN", AUTH=auth))
    client = connected(server)
    login(server, client, initial_response=False)
    assert client.connection.state is State.TRANSACTION


def test_long_initial_response_waits_for_the_challenge() -> None:
    # RFC 5034 §4: the AUTH line is limited to 255 octets; a longer initial
    # response goes as the answer to the first, empty challenge.
    password = "p" * 300
    seen: list[bytes] = []

    def auth(server: MemoryServer, line: bytes) -> bytes:
        seen.append(line)

        def response(server: MemoryServer, line: bytes) -> bytes:
            seen.append(line)
            server.continuation = None
            return b"+OK\r\n"

        server.continuation = response
        return b"+ \r\n"

    server = MemoryServer(answers(b"SASL PLAIN", AUTH=auth))
    client = connected(server)
    login(server, client, password=password)
    assert seen[0] == b"AUTH PLAIN\r\n"
    assert base64.b64decode(seen[1].strip()) == b"\0mrose\0" + password.encode()


def endless(server: MemoryServer, line: bytes) -> bytes:
    def more(server: MemoryServer, line: bytes) -> bytes:
        if line == b"*\r\n":
            server.continuation = None
            return b"-ERR cancelled\r\n"
        return b"+ \r\n"

    server.continuation = more
    return b"+ \r\n"


def test_endless_challenges_are_cancelled() -> None:
    # security.md S26: a challenge past what the mechanism expects, or past
    # Limits.max_sasl_rounds, is answered with "*" (RFC 5034 §4).
    server = MemoryServer(answers(b"SASL LOGIN", AUTH=endless))
    client = connected(server)
    with pytest.raises(AuthenticationError, match="unexpected challenge"):
        login(server, client)
    assert server.lines[-1] == b"*\r\n"
    assert len(server.lines) == 2 + 2 + 1  # CAPA, AUTH, user, password, "*"
    assert client.connection.state is State.AUTHORIZATION  # usable
    server = MemoryServer(answers(b"SASL LOGIN", AUTH=endless))
    client = connected(server, limits=Limits(max_sasl_rounds=1))
    with pytest.raises(AuthenticationError, match="more than 1 challenges"):
        login(server, client)
    assert server.lines[-1] == b"*\r\n"
    assert len(server.lines) == 2 + 1 + 1  # CAPA, AUTH, user name, "*"


# Bytes outside ASCII (UTF-8, or not even that) used to escape as a bare
# ValueError from the base64 decoder, with the exchange left open.
@pytest.mark.parametrize("challenge", [b"!!not base64!!", b"\xc3\xa9t\xc3\xa9", b"VXN\xff"])
def test_challenge_that_is_not_base64_is_cancelled(challenge: bytes) -> None:
    def auth(server: MemoryServer, line: bytes) -> bytes:
        server.continuation = lambda s, line: b"-ERR cancelled\r\n"
        return b"+ " + challenge + b"\r\n"

    server = MemoryServer(answers(b"SASL LOGIN", AUTH=auth))
    client = connected(server)
    with pytest.raises(AuthenticationError, match="base64"):
        login(server, client)
    assert server.lines[-1] == b"*\r\n"
    assert client.connection.state is State.AUTHORIZATION  # usable


def test_refusal_is_not_followed_by_another_mechanism() -> None:
    # security.md S39: one mechanism, one attempt.
    server = MemoryServer(
        answers(b"USER", b"SASL PLAIN LOGIN", AUTH=b"-ERR [AUTH] Authentication failed.\r\n")
    )
    client = connected(server)
    with pytest.raises(AuthenticationError) as info:
        login(server, client)
    assert info.value.reply is not None
    assert info.value.reply.code == "AUTH"
    assert server.verbs() == ["CAPA", "AUTH"]


def test_user_pass_one_at_a_time() -> None:
    server = MemoryServer(answers(b"USER", USER=b"-ERR [SYS/PERM] no such mailbox\r\n"))
    client = connected(server)
    with pytest.raises(AuthenticationError) as info:
        login(server, client)
    assert info.value.reply is not None
    assert info.value.reply.code == "SYS/PERM"
    assert server.verbs() == ["CAPA", "USER"]  # no PASS after a refused USER
    assert len(server.writes) == 2


def test_login_delay_and_in_use_codes_are_surfaced() -> None:
    for code in (b"IN-USE", b"LOGIN-DELAY", b"SYS/TEMP"):
        server = MemoryServer(answers(b"USER", PASS=b"-ERR [" + code + b"] try later\r\n"))
        client = connected(server)
        with pytest.raises(AuthenticationError) as info:
            login(server, client)
        assert info.value.reply is not None
        assert info.value.reply.code == code.decode()


# ---------------------------------------------------------------- choosing


def test_apop_only_when_enabled() -> None:
    # security.md S39: the greeting offers APOP; USER/PASS is used by default.
    server = MemoryServer(answers(b"USER"))
    client = connected(server)
    login(server, client)
    assert "APOP" not in server.verbs()
    server = MemoryServer(answers(b"USER", APOP=b"+OK\r\n"))
    client = connected(server, enable_apop=True)
    login(server, client)
    # RFC 1939 §7's own example digest, for the same greeting and secret.
    assert server.lines[1] == b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"


def test_cram_md5_only_when_enabled() -> None:
    server = MemoryServer(answers(b"SASL CRAM-MD5"))
    client = connected(server)
    with pytest.raises(AuthenticationError, match="no acceptable"):
        login(server, client)
    assert server.verbs() == ["CAPA"]  # nothing was tried

    def auth(server: MemoryServer, line: bytes) -> bytes:
        challenge = b"<1896.697170952@postoffice.example.net>"

        def response(server: MemoryServer, line: bytes) -> bytes:
            user, digest = base64.b64decode(line.strip()).split(b" ")
            expected = hmac.new(b"tanstaaf", challenge, hashlib.md5).hexdigest().encode()
            assert (user, digest) == (b"mrose", expected)
            server.continuation = None
            return b"+OK\r\n"

        server.continuation = response
        return b"+ " + base64.b64encode(challenge) + b"\r\n"

    server = MemoryServer(answers(b"SASL CRAM-MD5", AUTH=auth))
    client = connected(server, enable_cram_md5=True)
    login(server, client)
    assert client.connection.state is State.TRANSACTION


def test_no_acceptable_method_sends_nothing() -> None:
    server = MemoryServer(answers(b"SASL GSSAPI"), greeting=b"+OK ready\r\n")
    client = connected(server, enable_apop=True)
    with pytest.raises(AuthenticationError, match="no acceptable"):
        login(server, client)
    assert server.verbs() == ["CAPA"]


def test_non_ascii_password_needs_sasl_or_utf8_user() -> None:
    # RFC 6856 §2.2: no UTF-8 in USER/PASS unless "UTF8 USER" is offered.
    server = MemoryServer(answers(b"USER"))
    client = connected(server)
    with pytest.raises(AuthenticationError, match="UTF8 USER"):
        login(server, client, password="pässwörd")
    server = MemoryServer(answers(b"USER", b"UTF8 USER"))
    client = connected(server)
    login(server, client, password="pässwörd")
    assert server.lines[2] == "PASS pässwörd\r\n".encode()


def test_capa_refused_means_probing() -> None:
    # RFC 2449 §5: without CAPA the client tries USER/PASS, and TOP and UIDL.
    server = MemoryServer(answers(CAPA=b"-ERR\r\n", UIDL=b"+OK\r\n1 a\r\n.\r\n"))
    client = connected(server)
    login(server, client)
    assert server.verbs() == ["CAPA", "USER", "PASS", "CAPA", "STAT"]
    assert server.run(client._uidl_flow(None)) == {1: "a"}


def test_missing_capability_is_refused_locally() -> None:
    server = MemoryServer(answers(b"USER"))
    client = logged_in(server)
    with pytest.raises(NotSupportedError):
        client._top_flow(1, 0, None)
    with pytest.raises(NotSupportedError):
        client._uidl_flow(None)
    assert server.lines == []


def test_plaintext_authentication_is_refused() -> None:
    # security.md S38: refused before anything is written.
    server = MemoryServer(answers(b"USER", b"SASL PLAIN"))
    client = connected(server, tls=TLSMode.PLAIN)
    with pytest.raises(SecurityError, match="without TLS"):
        client._login_flow(
            "mrose", "tanstaaf", token=None, mechanisms=None, authzid=None, initial_response=True
        )
    with pytest.raises(SecurityError):
        client._apop_flow("mrose", "tanstaaf")
    with pytest.raises(SecurityError):
        client._authenticate_flow(
            "PLAIN", "mrose", "tanstaaf", token=None, authzid=None, initial_response=True
        )
    assert server.verbs() == ["CAPA"]


def test_commands_before_login_are_refused_locally() -> None:
    server = MemoryServer(answers())
    client = connected(server)
    with pytest.raises(LocalProtocolError, match="login"):
        client._stat_flow()
    assert client.connection.state is State.AUTHORIZATION  # not poisoned
    login(server, client)
    with pytest.raises(LocalProtocolError, match="already"):
        login(server, client)


# ---------------------------------------------------------------- STLS


def test_stls_then_capabilities_again() -> None:
    # RFC 2595 §4, security.md S3: the post-TLS CAPA is the one used.
    capas = iter([caps(b"STLS", b"USER", b"SASL PLAIN"), caps(b"SASL SCRAM-SHA-256")])
    server = MemoryServer(
        answers(CAPA=lambda s, line: next(capas), STLS=b"+OK Begin TLS negotiation\r\n")
    )
    client = memory_client(tls=TLSMode.STARTTLS)
    server.run(client._connect_flow())
    assert server.tls_starts == 1
    assert server.verbs() == ["CAPA", "STLS", "CAPA"]
    assert client.capabilities.sasl == ("SCRAM-SHA-256",)
    assert not client.capabilities.user
    with pytest.raises(AuthenticationError):
        login(server, client, mechanisms=["PLAIN", "USER"])  # pre-TLS offers are gone
    assert server.verbs() == ["CAPA", "STLS", "CAPA"]


@pytest.mark.parametrize(
    ("capa", "stls"),
    [
        (caps(b"USER"), b"+OK\r\n"),  # S4: STLS not offered
        (b"-ERR\r\n", b"+OK\r\n"),  # S5: CAPA itself refused
        (caps(b"STLS", b"USER"), b"-ERR not now\r\n"),  # S5: STLS refused
    ],
)
def test_stls_required_fails_closed(capa: bytes, stls: bytes) -> None:
    server = MemoryServer(answers(CAPA=capa, STLS=stls))
    client = memory_client(tls=TLSMode.STARTTLS)
    with pytest.raises(SecurityError):
        server.run(client._connect_flow())
    assert server.tls_starts == 0
    assert not {"USER", "PASS", "AUTH", "APOP"} & set(server.verbs())


# ---------------------------------------------------------------- pipelining


def test_pipelined_batch_is_one_write() -> None:
    server = MemoryServer(answers())
    client = logged_in(server)
    got = server.run(client._retrieve_many_flow([1, 2, 3], None))
    assert got == MESSAGES
    assert server.writes == [b"RETR 1\r\nRETR 2\r\nRETR 3\r\n"]
    server.writes.clear()
    server.run(client._delete_many_flow([1, 2, 3]))
    assert server.writes == [b"DELE 1\r\nDELE 2\r\nDELE 3\r\n"]
    assert client.connection.deleted == {1, 2, 3}


def test_pipelined_listings_are_paired_in_order() -> None:
    def list_one(server: MemoryServer, line: bytes) -> bytes:
        number = int(line.split()[1])
        return b"+OK %d %d\r\n" % (number, len(MESSAGES[number]))

    def uidl_one(server: MemoryServer, line: bytes) -> bytes:
        return b"+OK %s uid-%s\r\n" % (line.split()[1], line.split()[1])

    server = MemoryServer(answers(LIST=list_one, UIDL=uidl_one))
    client = logged_in(server)
    sizes = server.run(client._list_many_flow([3, 1, 2]))
    assert sizes == {n: len(MESSAGES[n]) for n in (3, 1, 2)}
    assert list(sizes) == [3, 1, 2]
    assert server.run(client._uidl_many_flow([2, 3])) == {2: "uid-2", 3: "uid-3"}
    assert server.writes == [b"LIST 3\r\nLIST 1\r\nLIST 2\r\n", b"UIDL 2\r\nUIDL 3\r\n"]


def test_without_pipelining_one_command_per_answer() -> None:
    server = MemoryServer(answers(b"USER", b"TOP"))
    client = logged_in(server)
    assert not client.pipelining
    server.run(client._retrieve_many_flow([1, 2, 3], None))
    assert server.writes == [b"RETR 1\r\n", b"RETR 2\r\n", b"RETR 3\r\n"]
    server.writes.clear()
    server.run(client._top_many_flow([1, 2], 0))
    assert server.writes == [b"TOP 1 0\r\n", b"TOP 2 0\r\n"]


def test_window_bounds_what_is_outstanding() -> None:
    server = MemoryServer(answers())
    client = logged_in(server, pipeline_window=2)
    server.run(client._retrieve_many_flow([1, 2, 3, 1, 2], None))
    assert server.writes[0] == b"RETR 1\r\nRETR 2\r\n"
    assert b"".join(server.writes).count(b"RETR") == 5


def test_a_refusal_in_a_batch_is_raised_after_every_answer() -> None:
    server = MemoryServer(answers())
    client = logged_in(server)
    with pytest.raises(POP3ErrorReply, match="no such message"):
        server.run(client._retrieve_many_flow([1, 9, 3], None))
    assert client.connection.pending == ()  # every answer was read
    server.run(client._noop_flow())  # and the session goes on


# ---------------------------------------------------------------- messages


def test_sink_file_and_progress() -> None:
    server = MemoryServer(answers(LIST=b"+OK\r\n1 37\r\n2 5018\r\n3 25\r\n.\r\n"))
    client = logged_in(server)
    server.run(client._list_flow(None))
    sink = io.BytesIO()
    seen: list[tuple[int, int | None]] = []
    written = server.run(client._retrieve_flow(2, sink, lambda n, total: seen.append((n, total))))
    assert written == len(MESSAGES[2])
    assert sink.getvalue() == MESSAGES[2]
    assert seen[-1] == (len(MESSAGES[2]), 5018)  # the LIST size as the expectation
    with pytest.raises(TypeError, match="sink"):
        client._retrieve_flow(1, 42, None)


def test_message_over_the_memory_limit_needs_a_sink() -> None:
    server = MemoryServer(answers())
    client = logged_in(server, limits=Limits(max_literal_size=1000))
    with pytest.raises(LiteralTooLarge, match="sink"):
        server.run(client._retrieve_flow(2, None, None))
    server = MemoryServer(answers())
    client = logged_in(server, limits=Limits(max_literal_size=1000))
    chunks: list[bytes] = []
    server.run(client._retrieve_flow(2, chunks.append, None))
    assert b"".join(chunks) == MESSAGES[2]


def test_retrieve_all_streams_to_sinks_and_closes_them() -> None:
    server = MemoryServer(answers())
    client = logged_in(server)
    sinks: dict[int, io.BytesIO] = {}
    closed: list[int] = []

    class Sink(io.BytesIO):
        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

        def close(self) -> None:
            sinks[self.number] = io.BytesIO(self.getvalue())
            closed.append(self.number)
            super().close()

    sizes = server.run(client._retrieve_all_flow(Sink, None))
    assert sizes == {n: len(m) for n, m in MESSAGES.items()}
    assert {n: s.getvalue() for n, s in sinks.items()} == MESSAGES
    assert closed == [1, 2, 3]
    assert server.verbs() == ["RETR", "RETR", "RETR"]  # numbers from STAT, no LIST


def test_retrieve_all_refuses_a_huge_drop_listing_count() -> None:
    # A 20-byte STAT answer must not become a list of four billion numbers
    # (or four billion RETRs): the count is held to Limits.max_held_responses.
    server = MemoryServer(answers(STAT=b"+OK 4000000000 100\r\n"))
    client = logged_in(server)
    assert server.run(client._stat_flow()) == (4000000000, 100)
    with pytest.raises(TooManyResponses, match="counts 4000000000 messages"):
        server.run(client._retrieve_all_flow(io.BytesIO, None))
    assert "RETR" not in server.verbs()


# ---------------------------------------------------------------- QUIT


def test_quit_from_transaction_is_update() -> None:
    server = MemoryServer(answers())
    client = logged_in(server)
    ok = server.run(client._quit_flow())
    assert ok.text == "bye"
    assert client.connection.state is State.CLOSED
    assert server.closed


def test_lost_answer_to_quit_in_update_raises() -> None:
    def vanish(server: MemoryServer, line: bytes) -> bytes:
        server.eof = True
        return b""

    server = MemoryServer(answers(QUIT=vanish))
    client = logged_in(server)
    server.run(client._delete_flow(1))
    with pytest.raises(ConnectionLost, match="may not have been removed"):
        server.run(client._quit_flow())
    # Before login nothing is at stake: a vanished server is fine.
    server = MemoryServer(answers(QUIT=vanish))
    client = connected(server)
    assert server.run(client._quit_flow()) is None


def test_err_to_quit_in_update_raises() -> None:
    server = MemoryServer(answers(QUIT=b"-ERR some deleted messages not removed\r\n"))
    client = logged_in(server)
    with pytest.raises(POP3ErrorReply, match="not removed"):
        server.run(client._quit_flow())


def test_greeting_refused() -> None:
    server = MemoryServer(answers(), greeting=b"-ERR [SYS/TEMP] overloaded\r\n")
    client = memory_client()
    with pytest.raises(POP3ErrorReply) as info:
        server.run(client._connect_flow())
    assert info.value.code == "SYS/TEMP"
    assert GREETING not in server.out
