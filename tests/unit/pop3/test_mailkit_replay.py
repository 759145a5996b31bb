"""Replay of every scenario in MailKit's POP3 manifest against both clients.

``shared/corpora/mailkit/manifest/pop3.json`` lists, scenario by scenario,
the exact bytes MailKit's client wrote and the recorded server reply for
each (Gmail, Comcast/Zimbra, Exchange, a LANG/UTF8 server, the malformed
listings). A loopback server plays one scenario: it sends a reply only when
the client wrote exactly the expected bytes, so every test also checks
mailwire's command bytes against MailKit's, byte for byte. The same scenario
runs under ``pop3.Client`` and ``pop3.AsyncClient`` (the manifest lists a
sync and an async variant of each MailKit test; both are played, each under
both clients).

The expected results are read from the reply files with the line-by-line
reference in ``helpers`` (RFC 1939 §3), not from mailwire.

Where mailwire must close the connection (a malformed listing is a
``RemoteProtocolError``, which poisons the core), the scenario is split: the
steps up to the login are played again on a fresh connection for each such
step, so every step of the manifest is still played once.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

from mailwire import (
    AuthenticationError,
    LocalProtocolError,
    NotSupportedError,
    POP3ErrorReply,
    RemoteProtocolError,
    SecurityError,
    TLSMode,
)
from tests.support.server import Peer, ScriptedServer
from tests.unit.pop3.helpers import MANIFEST, Sync, resource

DATA = json.loads(MANIFEST.read_text(encoding="utf-8"))
SCENARIOS = {scenario["id"]: scenario for scenario in DATA["scenarios"]}

Step = tuple[bytes | None, bytes]  # (what the client must write, the reply)


def steps_of(scenario: dict[str, Any], *, crlf: bool = True) -> list[Step]:
    out: list[Step] = []
    for step in scenario["steps"]:
        send = step["send"].encode("utf-8") if step["send"] is not None else None
        out.append((send, resource(step["reply"]["file"], crlf=crlf)))
    return out


class Replay:
    """Plays scripted connections, one per accepted connection, in order."""

    def __init__(self, connections: list[list[Step]]) -> None:
        self.connections = connections
        self.errors: list[str] = []
        self.played: list[int] = [0] * len(connections)
        self._accepts = itertools.count()
        self.server = ScriptedServer(self._handle)

    def __enter__(self) -> Replay:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(None, None, None)

    def _handle(self, peer: Peer) -> None:
        k = next(self._accepts)
        if k >= len(self.connections):
            self.errors.append(f"unexpected connection #{k}")
            return
        steps = self.connections[k]
        peer.send(steps[0][1])
        self.played[k] = 1
        for index, (send, reply) in enumerate(steps[1:], start=1):
            assert send is not None
            got = b"".join(peer.recv_line() for _ in range(send.count(b"\n")))
            if got != send:
                self.errors.append(f"connection {k} step {index}: expected {send!r}, got {got!r}")
                peer.send(b"-ERR replay mismatch\r\n")
                return
            peer.send(reply)
            self.played[k] = index + 1
        extra = peer.recv_until_eof()
        if extra:
            self.errors.append(f"connection {k}: the client wrote {extra!r} after the script")

    def check(self) -> None:
        assert self.errors == []
        assert self.played == [len(steps) for steps in self.connections]


def client(replay: Replay, kind: str, **kwargs: Any) -> Sync:
    args: dict[str, Any] = {"tls": TLSMode.PLAIN, "allow_plaintext_auth": True, "timeout": 10}
    args.update(kwargs)
    return Sync(kind, replay.server.host, replay.server.port, **args)


# ---------------------------------------------------------------- references


def answers(data: bytes, eol: bytes = b"\r\n") -> list[tuple[bytes, bytes]]:
    """Split multi-line answers, line by line (RFC 1939 §3): (status, message)."""
    out = []
    lines = iter(data.split(eol))
    for status in lines:
        if not status:
            continue
        body = []
        for line in lines:
            if line == b".":
                break
            body.append(line[1:] if line.startswith(b".") else line)
        out.append((status, b"".join(part + eol for part in body)))
    return out


def message(name: str, *, crlf: bool = True) -> bytes:
    ((_, body),) = answers(resource(name, crlf=crlf), b"\r\n" if crlf else b"\n")
    return body


def listing(name: str) -> dict[int, str]:
    ((_, body),) = answers(resource(name))
    pairs = (line.split(b" ", 1) for line in body.split(b"\r\n") if line)
    return {int(n): v.decode() for n, v in pairs}


def transcript_text(c: Sync) -> str:
    return str(c.client.transcript.render()) + c.client.transcript.to_jsonl()


# ---------------------------------------------------------------- scripts
# One function per MailKit test (sync and async variants share it). Each
# drives the client the way the MailKit test drives MailKit's.

Script = Callable[[Replay, str], None]
SCRIPTS: dict[str, Script] = {}
#: Scenarios whose steps at these indexes end the connection (malformed data).
FATAL_STEPS: dict[str, list[int]] = {}


def script(name: str, *, fatal: list[int] | None = None) -> Callable[[Script], Script]:
    def register(function: Script) -> Script:
        SCRIPTS[name] = function
        if fatal:
            FATAL_STEPS[name] = fatal
        return function

    return register


@script("TestInvalidStateExceptions")
def invalid_state(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c:
        caps = c.capabilities
        assert caps.expire is not None
        assert (caps.expire.days, caps.expire.per_user) == (31, True)  # EXPIRE 31 USER
        with pytest.raises(LocalProtocolError):
            c.stat()  # not logged in: refused locally, nothing sent
        with pytest.raises(AuthenticationError) as info:
            c.login("username", "password")  # no SASL offered: USER/PASS
        assert info.value.reply is not None
        assert info.value.reply.command == "PASS"
        c.login("username", "password")
        assert c.capabilities.implementation == "ZimbraInc"
        assert c.capabilities.expire.days is None  # EXPIRE NEVER
        assert c.capabilities.sasl == ("PLAIN", "X-ZIMBRA")
        assert c.client.connection.message_count == 7


@script("TestStartTlsNotSupported")
def starttls_not_supported(replay: Replay, kind: str) -> None:
    c = client(replay, kind, tls=TLSMode.STARTTLS)
    try:
        with pytest.raises(SecurityError, match="CAPA"):
            c.connect()
    finally:
        c.shutdown()


@script("TestProtocolLoggerExceptions")
def logger(replay: Replay, kind: str) -> None:
    c = client(replay, kind)
    try:
        caps = c.connect()
        assert caps.stls
        assert caps.top
    finally:
        c.shutdown()


@script("TestGreetingOk")
def greeting_ok(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c:
        assert c.greeting.text == ""
        assert c.greeting.timestamp is None


@script("TestGreetingErr")
def greeting_err(replay: Replay, kind: str) -> None:
    c = client(replay, kind)
    try:
        with pytest.raises(POP3ErrorReply) as info:
            c.connect()
        assert info.value.command == "greeting"
    finally:
        c.shutdown()


def basic(replay: Replay, kind: str, *, crlf: bool) -> None:
    with client(replay, kind) as c:
        c.login("username", "password")
        assert c.list() == {n: 1024 * n for n in range(1, 8)}
        assert c.list(1) == 1024
        data = c.retrieve(1)
        assert data == message("comcast/retr1.txt", crlf=crlf)
        assert data.count(b"\r\n" if crlf else b"\n") > 4000
        assert c.stat() == (7, 1800662)


@script("CreateBasicPop3ClientCommands")
def basic_crlf(replay: Replay, kind: str) -> None:
    basic(replay, kind, crlf=True)


@script("TestProbedUidlSupport")
def probed_uidl(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c:
        assert not c.capabilities.supported  # CAPA -ERR: probe instead
        c.login("username", "password")  # USER/PASS, probed
        assert c.uidl(1) == "101"
        assert c.uidl() == {1: "101", 2: "102", 3: "103"}


@script("TestProbedUidlSupportError")
def probed_uidl_error(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c:
        c.login("username", "password")
        with pytest.raises(POP3ErrorReply):
            c.uidl(1)


@script("TestEnableUTF8")
def enable_utf8(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c:
        assert c.capabilities.utf8_user
        c.utf8()
        assert c.client.connection.utf8


@script("TestEnableUTF8AfterAuthenticate")
def utf8_after_login(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c:
        assert c.greeting.timestamp == "<apop-token@example.com>"
        c.apop("username", "password")  # RFC 1939 §7 digest, as MailKit sends it
        with pytest.raises(LocalProtocolError, match="6856"):
            c.utf8()  # refused locally; the session goes on


@script("TestEnableUTF8NotSupported")
def utf8_not_supported(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c, pytest.raises(NotSupportedError):
        c.utf8()


def parse_errors(name: str, call: Callable[[Sync], Any], **login: Any) -> Script:
    def run(replay: Replay, kind: str) -> None:
        for connection in replay.connections:
            c = client(replay, kind)
            try:
                c.connect()
                c.login("username", "password", **login)
                last = connection[-1][0]
                if last == b"QUIT\r\n":
                    c.quit()
                    continue
                with pytest.raises(RemoteProtocolError) as info:
                    call(c)
                # The message quotes the offending line of the reply.
                reply = connection[-1][1]
                quoted = [repr(line + b"\r\n")[2:-1] for line in reply.split(b"\r\n") if line]
                assert any(q in str(info.value) for q in quoted[1:] or quoted), str(info.value)
                assert not c.client._driver.is_open  # a protocol error closes
            finally:
                c.shutdown()

    return run


script("TestGetMessageCountParseExceptions", fatal=[6, 7, 8])(
    parse_errors("count", lambda c: c.stat())
)
script("TestGetMessageSizeParseExceptions", fatal=[6, 7, 8])(
    parse_errors("size", lambda c: c.list(1))
)
script("TestGetMessageSizesParseExceptions", fatal=[6, 7, 8])(
    parse_errors("sizes", lambda c: c.list())
)
script("TestGetMessageUidParseExceptions", fatal=[6, 7])(
    parse_errors("uid", lambda c: c.uidl(1), initial_response=False)
)
script("TestGetMessageUidsParseExceptions", fatal=[6, 7])(
    parse_errors("uids", lambda c: c.uidl(), initial_response=False)
)


def exchange_login(c: Sync) -> None:
    c.connect()
    # Exchange offers NTLM GSSAPI PLAIN LOGIN; MailKit's test picked LOGIN.
    c.login("username", "password", mechanisms=["LOGIN"])
    assert c.client.connection.message_count == 7


def no_secrets(c: Sync, *secrets: bytes) -> None:
    text = transcript_text(c)
    for secret in secrets:
        assert secret.decode() not in text
        assert base64.b64encode(secret).decode() not in text
    assert "<redacted" in text


@script("TestSaslAuthentication")
def sasl_login(replay: Replay, kind: str) -> None:
    c = client(replay, kind)
    try:
        exchange_login(c)
        c.quit()
    finally:
        c.shutdown()


@script("TestRedactAuthentication")
def redact_auth(replay: Replay, kind: str) -> None:
    sasl_login(replay, kind)


@script("TestRedactSaslAuthentication")
def redact_sasl(replay: Replay, kind: str) -> None:
    c = client(replay, kind)
    try:
        exchange_login(c)
        c.quit()
        no_secrets(c, b"password")
    finally:
        c.shutdown()


@script("TestExchangePop3Client")
def exchange_client(replay: Replay, kind: str) -> None:
    c = client(replay, kind)
    try:
        exchange_login(c)
        assert c.uidl() == {n: str(6498 + n) for n in range(1, 8)}
        assert c.retrieve(1) == message("exchange/retr1.txt")
        c.quit()
    finally:
        c.shutdown()


@script("TestRedactApop")
def redact_apop(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c:
        c.utf8()
        c.apop("username", "password")
        assert c.capabilities.lang
    no_secrets(c, b"d99894e8445daf54c4ce781ef21331b7", b"password")


@script("TestRedactUserPass")
def redact_user_pass(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c:
        c.login("username", "password")
    no_secrets(c, b"password")
    assert "C: USER username" in transcript_text(c)  # the user name is no secret


def gmail(replay: Replay, kind: str, **options: Any) -> None:
    one = message("gmail/retr1.txt")
    many = [body for _, body in answers(resource("gmail/retr123.txt"))]
    tops = [body for _, body in answers(resource("gmail/top123.txt"))]
    pipelined = options.pop("pipelined")
    if not pipelined:
        many, tops = [one] * 3, [message("gmail/top.txt")] * 3
    with client(replay, kind, **options) as c:
        c.login("username", "password", initial_response=False)  # AUTH PLAIN, then "+ "
        assert c.client.pipelining
        assert c.uidl() == listing("gmail/uidl.txt")
        assert [c.uidl(n) for n in (1, 2, 3)] == ["101", "102", "103"]
        assert c.list() == {1: 1024, 2: 1025, 3: 1026}
        assert [c.list(n) for n in (1, 2, 3)] == [1024, 1025, 1026]
        assert c.retrieve(1) == one
        for _ in range(2):
            assert c.retrieve_many([1, 2, 3]) == dict(zip((1, 2, 3), many, strict=True))
        assert c.top(1, 0) == message("gmail/top.txt")
        for _ in range(2):
            assert c.top_many([1, 2, 3], 0) == dict(zip((1, 2, 3), tops, strict=True))
        chunks: list[bytes] = []
        assert c.retrieve(1, sink=chunks.append) == len(one)
        assert b"".join(chunks) == one
        for _ in range(2):
            got: dict[int, list[bytes]] = {}
            sizes = c.retrieve_many([1, 2, 3], lambda n, got=got: got.setdefault(n, []).append)
            assert sizes == {n: len(body) for n, body in zip((1, 2, 3), many, strict=True)}
            assert [b"".join(got[n]) for n in (1, 2, 3)] == many
        c.noop()
        c.delete(1)
        assert c.client.connection.deleted == {1}
        c.reset()
        for _ in range(3):
            c.delete_many([1, 2, 3])
            assert c.client.connection.deleted == {1, 2, 3}
            c.reset()


@script("CreateGMailCommands")
def gmail_pipelined(replay: Replay, kind: str) -> None:
    gmail(replay, kind, pipelined=True)


@script("CreateGMailCommandsNoPipelining")
def gmail_one_at_a_time(replay: Replay, kind: str) -> None:
    # MailKit's test switched PIPELINING off; here the window of one does it.
    gmail(replay, kind, pipelined=False, pipeline_window=1)


@script("TestGetEnumerator")
def enumerator(replay: Replay, kind: str) -> None:
    one = message("gmail/retr1.txt")
    with client(replay, kind) as c:
        c.login("username", "password", initial_response=False)
        for _ in range(2):
            assert c.iter_messages() == [(1, one), (2, one), (3, one)]


@script("TestLangExtension")
def lang(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c:
        c.utf8()
        c.apop("username", "password")
        listing = c.lang()
        assert [item.tag for item in listing] == ["en", "en-boont", "de", "it", "es", "sv"]
        assert listing[1].description == "English Boontling dialect"
        assert c.lang("en") == "en"


@script("TestLangNotSupported")
def lang_not_supported(replay: Replay, kind: str) -> None:
    with client(replay, kind) as c:
        c.login("username", "password", initial_response=False)
        with pytest.raises(NotSupportedError):
            c.lang()


@script("TestParseExceptions")
def parse_exceptions(replay: Replay, kind: str) -> None:
    body = message("gmail/retr1-parse-error.txt")
    with client(replay, kind) as c:
        c.login("username", "password", initial_response=False)
        assert c.retrieve(1) == body  # a broken MIME body is still a POP3 answer
        assert c.top(1, 0) == body


# ---------------------------------------------------------------- running


def base_name(scenario_id: str) -> str:
    name = scenario_id.split(".", 1)[1]
    return name.removesuffix("Async")


def connections(scenario: dict[str, Any], *, crlf: bool = True) -> list[list[Step]]:
    steps = steps_of(scenario, crlf=crlf)
    fatal = FATAL_STEPS.get(base_name(scenario["id"]))
    if not fatal:
        return [steps]
    prefix = steps[: fatal[0]]
    out = [[*prefix, steps[i]] for i in fatal]
    rest = steps[fatal[-1] + 1 :]
    if rest:
        out.append([*prefix, *rest])
    return out


def test_every_scenario_has_a_script() -> None:
    assert DATA["scenario_count"] == len(SCENARIOS) == 49
    assert {base_name(i) for i in SCENARIOS} == set(SCRIPTS)


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
def test_replay(scenario_id: str, kind: str) -> None:
    scenario = SCENARIOS[scenario_id]
    with Replay(connections(scenario)) as replay:
        SCRIPTS[base_name(scenario_id)](replay, kind)
    replay.check()


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
def test_replay_with_unix_line_endings(kind: str) -> None:
    # MailKit's TestBasicPop3ClientUnixLineEndings: the same scenario, every
    # reply with bare LF line ends.
    scenario = SCENARIOS["Pop3ClientTests.CreateBasicPop3ClientCommands"]
    with Replay(connections(scenario, crlf=False)) as replay:
        basic(replay, kind, crlf=False)
    replay.check()


def test_a_wrong_command_fails_the_replay() -> None:
    # The harness itself: a client that strays from the script is caught.
    scenario = SCENARIOS["Pop3ClientTests.TestGreetingOk"]
    with Replay(connections(scenario)) as replay:
        c = client(replay, "blocking")
        try:
            c.connect()
            with contextlib.suppress(Exception):
                c.capa()  # the script expects QUIT here
        finally:
            c.shutdown()
    assert replay.errors
    assert "got b'CAPA\\r\\n'" in replay.errors[0]
