"""MailKit's IMAP scenarios replayed with *our* client issuing its own commands.

``test_imap_mailkit_replay.py`` pushes MailKit's recorded command bytes
through our core. Here each recorded command is instead turned into the
equivalent call of :class:`mailwire.imap.client.Client` (``LOGIN u p`` ->
``client.login("u", "p")``, ``UID FETCH 1:7 (UID FLAGS)`` ->
``client.fetch("1:7", ["UID", "FLAGS"])`` ...), and a loopback server answers
whatever our client writes from the recording:

- the command our client wrote must be the recorded step's command (same
  verb, same UID prefix); its tag replaces the recorded tag in the reply;
- a CAPABILITY our client asks for on its own (after LOGIN, say) that the
  recording does not have next is answered with the capabilities recorded so
  far; an AUTHENTICATE without an initial response gets the ``+`` it waits
  for; literals our client announces are read (and ``+`` sent for
  synchronizing ones);
- for MailKit's ``XLIST`` (Gmail's list with special-use flags before RFC
  6154) our client sends ``LIST``, and the recorded ``* XLIST`` lines are
  answered as ``* LIST`` lines, flags unchanged.

Each call must then succeed, or fail with ``IMAPStatusError`` (or
``AuthenticationError``) exactly where the recording answers NO or BAD, or
with a protocol error where the scenario feeds a broken reply; and the server
must have served every recorded step. A step our client refuses before
sending anything -- for a capability the server did not offer, or for caller
input holding CR or LF (an ID value MailKit sends as a literal) -- is
skipped by the server too. Scenarios using commands the client has
no call for (NOTIFY, the ACL family ...), or bytes computed by the
MailKit test (``send_pattern``), are skipped with that reason; the module's
last test counts how many were replayed.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

from mailwire import AuthenticationError, IMAPStatusError, NotSupportedError, TLSMode
from mailwire.errors import ConnectionLost, ProtocolError
from mailwire.imap.client import Client
from tests.differential.test_imap_mailkit_replay import (
    EXPECTED_ERRORS,
    reply_bytes,
    scenarios,
    send_bytes,
)
from tests.support.server import Peer, ScriptedServer

Call = Callable[[Client], object]


class Unmapped(Exception):
    """A recorded command our client has no call for (the scenario is skipped)."""


class NothingSent(Exception):
    """Our client refused the caller's input for this step, as it must."""


# ------------------------------------------------------------ command parsing

_TOKEN = re.compile(rb'\s*(?:"((?:[^"\\]|\\.)*)"|(\()|(\))|\{(\d+)\+?\}\r\n|([^\s()"]+))', re.S)


def parse_args(data: bytes) -> list[Any]:
    """IMAP command arguments as nested lists of ``str`` (quoted: unescaped)."""
    stack: list[list[Any]] = [[]]
    pos = 0
    data = data.rstrip(b"\r\n")
    while pos < len(data):
        m = _TOKEN.match(data, pos)
        if m is None:
            if not data[pos:].strip():
                break
            raise Unmapped(f"cannot tokenise {data[pos : pos + 30]!r}")
        pos = m.end()
        if m[1] is not None:
            stack[-1].append(re.sub(rb"\\(.)", rb"\1", m[1]).decode("utf-8"))
        elif m[2]:
            stack.append([])
        elif m[3]:
            inner = stack.pop()
            stack[-1].append(inner)
        elif m[4] is not None:
            size = int(m[4])
            stack[-1].append(data[pos : pos + size].decode("utf-8"))
            pos += size
        else:
            stack[-1].append(m[5].decode("utf-8"))
    if len(stack) != 1:
        raise Unmapped("unbalanced parentheses")
    return stack[0]


def _flat(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def translate(line: bytes) -> Call:
    """The client call that issues the command of ``line`` (a recorded send)."""
    parts = parse_args(line)
    if len(parts) < 2:
        raise Unmapped("no command")
    args = parts[2:]
    verb = str(parts[1]).upper()
    uid = verb == "UID"
    if uid:
        verb, args = str(args[0]).upper(), args[1:]
    simple: dict[str, Call] = {
        "CAPABILITY": lambda c: c.capability(),
        "NAMESPACE": lambda c: c.namespace(),
        "NOOP": lambda c: c.noop(),
        "LOGOUT": lambda c: c.logout(),
        "UNSELECT": lambda c: c.unselect(),
        "CLOSE": lambda c: c.close(),
    }
    if verb in simple and not args:
        return simple[verb]
    if verb == "LOGIN":
        user, password = args
        return lambda c: c.login(user, password)
    if verb == "AUTHENTICATE" and len(args) == 2 and str(args[0]).upper() == "PLAIN":
        authzid, user, password = base64.b64decode(args[1]).decode().split("\0")
        return lambda c: c.authenticate(
            "PLAIN", username=user, password=password, authzid=authzid or None
        )
    if verb in ("SELECT", "EXAMINE"):
        mailbox, *rest = args
        options = [o.upper() for o in _flat(rest[0])] if rest else []
        if options not in ([], ["CONDSTORE"]):
            raise Unmapped(f"{verb} with {options}")
        condstore = options == ["CONDSTORE"]
        return lambda c: c.select(mailbox, verb == "EXAMINE", condstore=condstore)
    if verb == "STATUS":
        mailbox, items = args
        return lambda c: c.status(mailbox, _flat(items))
    if verb in ("CREATE", "DELETE") and len(args) == 1:
        name = args[0]
        return lambda c: getattr(c, verb.lower())(name)
    if verb == "CREATE" and len(args) == 2 and isinstance(args[1], list):
        name, (use, flags) = args[0], args[1]
        if str(use).upper() != "USE":
            raise Unmapped(f"CREATE with {args[1]}")
        return lambda c: c.create(name, special_use=_flat(flags))
    if verb == "ID" and len(args) == 1:
        (value,) = args
        if value == "NIL":
            return lambda c: c.id(None)
        pairs = list(value)
        params = {
            str(k): (None if v == "NIL" else str(v))
            for k, v in zip(pairs[::2], pairs[1::2], strict=True)
        }
        if any(v is not None and ("\r" in v or "\n" in v) for v in params.values()):
            # MailKit sends a value with CRLF as a literal; our client takes
            # no CR or LF in caller input (nothing is sent): the step is skipped.
            def refused(c: Client) -> None:
                with pytest.raises(ValueError, match="CR"):
                    c.id(params)
                raise NothingSent

            return refused
        return lambda c: c.id(params)
    if verb == "RENAME":
        old, new = args
        return lambda c: c.rename(old, new)
    if verb == "ENABLE":
        return lambda c: c.enable(*_flat(args))
    if verb == "LIST" and len(args) >= 2 and not isinstance(args[0], list):
        reference, pattern, *rest = args
        returns: list[str] = []
        if rest:
            if len(rest) != 2 or str(rest[0]).upper() != "RETURN":
                raise Unmapped(f"LIST with {rest}")
            options = rest[1] if isinstance(rest[1], list) else [rest[1]]
            if any(isinstance(o, list) for o in options):
                raise Unmapped(f"LIST RETURN {options}: STATUS with other options")
            returns = _flat(options)
        return lambda c: c.list(reference, pattern, return_options=returns)
    if verb == "LIST" and args and isinstance(args[0], list):
        select, reference, pattern, *rest = args
        options = (rest[1] if isinstance(rest[1], list) else [rest[1]]) if rest else []
        if any(isinstance(o, list) for o in options):
            raise Unmapped(f"LIST RETURN {options}: STATUS with other options")
        returns = _flat(options)

        return lambda c: c.list(
            reference, pattern, select_options=_flat(select), return_options=returns
        )
    if verb == "FETCH":
        messages, items, *modifiers = args
        if modifiers:
            raise Unmapped(f"FETCH modifiers {modifiers}")
        if isinstance(items, list) and any(isinstance(i, list) for i in items):
            raise Unmapped(f"FETCH item with options {items}")
        wanted = _flat(items)
        return lambda c: c.fetch(messages, wanted, uid=uid)
    if verb == "STORE":
        messages, *rest = args
        unchanged = None
        if isinstance(rest[0], list):
            modifier = _flat(rest[0])
            if modifier[0].upper() != "UNCHANGEDSINCE":
                raise Unmapped(f"STORE modifier {modifier}")
            unchanged, rest = int(modifier[1]), rest[1:]
        item, flags = str(rest[0]).upper(), _flat(rest[1])
        action = item[0] if item[0] in "+-" else ""
        silent = item.endswith(".SILENT")
        return lambda c: c.store(
            messages, flags, action, silent=silent, uid=uid, unchangedsince=unchanged
        )
    if verb in ("COPY", "MOVE"):
        messages, mailbox = args
        return lambda c: getattr(c, verb.lower())(messages, mailbox, uid=uid)
    if verb == "EXPUNGE":
        if uid:
            (messages,) = args
            return lambda c: c.expunge(messages)
        return lambda c: c.expunge()
    if verb == "XLIST" and len(args) == 2:
        # Gmail's pre-RFC 6154 LIST: our client lists (see the module docstring).
        reference, pattern = args
        return lambda c: c.list(reference, pattern)
    if verb == "SEARCH" and args and str(args[0]).upper() != "RETURN":
        criteria = _criteria(args)
        return lambda c: c.search(*criteria, uid=uid)
    if verb == "SEARCH" and len(args) >= 3:
        options = _flat(args[1])
        if "PARTIAL" in (o.upper() for o in options):
            raise Unmapped("SEARCH RETURN (PARTIAL ...)")
        criteria = _criteria(args[2:])
        return lambda c: c.esearch(*criteria, returns=options, uid=uid)
    if verb == "SORT" and len(args) >= 3 and isinstance(args[0], list):
        keys, charset, *rest = args
        criteria = _criteria(rest)
        return lambda c: c.sort(_flat(keys), *criteria, uid=uid, charset=charset)
    if verb == "THREAD" and len(args) >= 3:
        algorithm, charset, *rest = args
        criteria = _criteria(rest)
        return lambda c: c.thread(algorithm, *criteria, uid=uid, charset=charset)
    if verb == "GETQUOTAROOT":
        (mailbox,) = args
        return lambda c: c.get_quota_root(mailbox)
    raise Unmapped(f"{'UID ' if uid else ''}{verb} has no mapping to a client call here")


_ATOM = re.compile(r'[^\s()"{}%*\]]+')


def _criteria(args: list[Any]) -> list[str]:
    if any(isinstance(a, list) for a in args):
        raise Unmapped("parenthesised search criteria")
    if args and str(args[0]).upper() == "CHARSET":
        raise Unmapped("SEARCH CHARSET")
    words = [str(a) for a in args]
    for key in ("FILTER", "ANNOTATION", "FUZZY", "SAVEDATESUPPORTED"):
        if key in (w.upper() for w in words):
            raise Unmapped(f"search key {key} is not among the client's")
    for key, value in itertools.pairwise(words):
        if key.upper() in ("KEYWORD", "UNKEYWORD") and not _ATOM.fullmatch(value):
            raise Unmapped(f"{key} {value!r}: a keyword is an atom (RFC 9051 §9); MailKit quotes")
    return words


# ------------------------------------------------------------ the server


_CAPS = re.compile(rb"CAPABILITY ([^\]\r\n]*)")
_LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r\n\Z")


def _command(peer: Peer) -> bytes:
    """One whole command from our client, literals included."""
    data = peer.recv_line()
    while (m := _LITERAL.search(data)) is not None:
        if not m[2]:
            peer.send(b"+ go ahead\r\n")
        data += peer.recv_exact(int(m[1]))
        more = peer.recv_line()
        if not more:
            break
        data += more
    return data


def _verb(line: bytes) -> tuple[bytes, bytes]:
    parts = line.split(b" ", 3)
    verb = parts[1].rstrip(b"\r\n").upper() if len(parts) > 1 else b""
    if verb == b"UID" and len(parts) > 2:
        verb += b" " + parts[2].rstrip(b"\r\n").upper()
    return parts[0], verb


class RecordingServer:
    """Answers our client from one scenario's recorded replies, in order."""

    def __init__(self, steps: list[dict[str, Any]]) -> None:
        self.steps = steps
        self.served = 0
        self.errors: list[str] = []
        self.server = ScriptedServer(self._handle)
        self.done = threading.Event()

    def _handle(self, peer: Peer) -> None:
        try:
            self._serve(peer)
        except OSError as exc:
            if self.served < len(self.steps):
                self.errors.append(f"connection error after {self.served} steps: {exc}")
        finally:
            self.done.set()

    def _serve(self, peer: Peer) -> None:
        caps = b"IMAP4rev1"
        greeting = reply_bytes(self.steps[0])
        caps = (m[1] if (m := _CAPS.search(greeting)) else caps).strip()
        self.served = 1  # before the greeting: connect() may return at once
        peer.send(greeting)
        if greeting.startswith(b"* BYE"):
            return
        while True:
            line = _command(peer)
            if not line:
                return
            tag, verb = _verb(line)
            if self.served == len(self.steps):
                # Past the recording: only what a client may add on its own.
                if verb == b"CAPABILITY":
                    peer.send(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK done\r\n")
                    continue
                if verb == b"LOGOUT":
                    peer.send(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                    return
                self.errors.append(f"{verb!r} after the last recorded step")
                return
            step = self.steps[self.served]
            recorded = send_bytes(step)
            want = _verb(recorded)[1]
            xlist = want == b"XLIST" and verb == b"LIST"
            if verb != want and not xlist:
                if verb == b"CAPABILITY":
                    peer.send(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK done\r\n")
                    continue
                self.errors.append(f"step {self.served}: our {verb!r}, recorded {want!r}")
                return
            if verb == b"AUTHENTICATE" and len(recorded.split()) > 3 >= len(line.split()):
                peer.send(b"+ \r\n")  # our client waits for it without SASL-IR
                peer.recv_line()
            reply = reply_bytes(step)
            old = str(step.get("tag", "")).encode()
            if old:
                reply = re.sub(rb"(?m)^" + re.escape(old) + rb" ", tag + b" ", reply)
            if xlist:
                reply = re.sub(rb"(?m)^\* XLIST ", b"* LIST ", reply)
            if (m := _CAPS.search(reply)) is not None:
                caps = m[1].strip()
            self.served += 1  # before the reply: the client may act on it at once
            peer.send(reply)


def _status(step: dict[str, Any]) -> str | None:
    reply = reply_bytes(step)
    tag = re.escape(str(step.get("tag", "")).encode())
    m = re.search(rb"(?m)^" + tag + rb" (OK|NO|BAD)\b", reply)
    return m[1].decode() if m else None


# ------------------------------------------------------------ the tests


def plan(scenario: dict[str, Any]) -> list[tuple[dict[str, Any], Call]]:
    """The calls for a scenario's steps after the greeting (Unmapped: skip)."""
    steps = scenario["steps"]
    if steps[0].get("send") is not None:
        raise Unmapped("no greeting step")
    out = []
    for step in steps[1:]:
        if step.get("send_pattern") is not None:
            raise Unmapped("a step's bytes are computed by the MailKit test (send_pattern)")
        if not step.get("tag"):
            raise Unmapped("a continuation step (literal or IDLE data) of MailKit's own")
        out.append((step, translate(send_bytes(step))))
    return out


SCENARIOS = scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s["id"])
def test_our_client_replays(scenario: dict[str, Any]) -> None:
    try:
        calls = plan(scenario)
    except Unmapped as exc:
        pytest.skip(str(exc))
    expected_error = EXPECTED_ERRORS.get(scenario["id"])
    server = RecordingServer(scenario["steps"])
    with server.server:
        client = Client(
            "127.0.0.1",
            server.server.port,
            tls=TLSMode.PLAIN,
            allow_plaintext_auth=True,
            timeout=3,
        )
        try:
            if reply_bytes(scenario["steps"][0]).startswith(b"* BYE"):
                # RFC 9051 §7.1.5: the server refuses the session.
                with pytest.raises(ConnectionLost, match="refused the session"):
                    client.connect()
                return
            broken = _run(client, server, calls)
        except Exception as exc:
            raise AssertionError(f"{exc!r}; the server says {server.errors}") from exc
        finally:
            client.disconnect()
            server.done.wait(5)
    assert server.errors == []
    if expected_error is not None:
        if broken is None:
            # LOGOUT is best effort: the client closes without raising, but
            # its core must have refused the broken reply.
            broken = client.connection.error
        assert isinstance(broken, ProtocolError), "the broken reply was accepted"
        assert expected_error in str(broken)
        return
    if isinstance(broken, ConnectionLost):
        return  # the recorded BYE ended it, as it ended MailKit's session
    assert broken is None
    assert server.served == len(scenario["steps"])


def _run(
    client: Client, server: RecordingServer, calls: list[tuple[dict[str, Any], Call]]
) -> Exception | None:
    """Make the calls; the error that stopped them where the recording says one must.

    The server counts the recorded steps it served: when our client issued a
    recorded command on its own (CAPABILITY after LOGIN, say), the call for
    that step is not made again.
    """
    steps = [step for step, _ in calls]
    try:
        client.connect()
    except ProtocolError as exc:
        return exc
    except ConnectionLost as exc:
        if not any(_bye(step) for step in steps[: server.served - 1]):
            raise
        return exc
    index = server.served - 1  # calls[k] is recorded step k + 1
    while index < len(calls):
        call = calls[index][1]
        refused: Exception | None = None
        try:
            call(client)
        except NothingSent:
            server.served += 1
            index += 1
            continue
        except NotSupportedError as exc:
            # Refused before sending, for a capability the server did not
            # offer (MailKit sends some regardless: LIST (SPECIAL-USE)
            # without LIST-EXTENDED, RFC 5258 §3). The server skips it too.
            _check_missing(client, exc)
            server.served += 1
            index += 1
            continue
        except (IMAPStatusError, AuthenticationError) as exc:
            refused = exc
        except ProtocolError as exc:
            return exc
        except ConnectionLost as exc:
            # Only where the recording has the server say BYE out of turn.
            if not any(_bye(s) for s in steps[index : server.served - 1]):
                raise
            return exc
        answered = steps[index : max(index + 1, server.served - 1)]
        statuses = {_status(s) for s in answered}
        if refused is not None:
            assert statuses & {"NO", "BAD"}, f"step {index + 1}: {refused!r}"
        else:
            assert statuses <= {"OK", None}, f"step {index + 1}: succeeded on {statuses}"
        index = max(index + 1, server.served - 1)
    return None


_MISSING = re.compile(r"does not offer ([\w=+-]+)(?: or ([\w=+-]+))?")


def _check_missing(client: Client, exc: NotSupportedError) -> None:
    m = _MISSING.search(str(exc))
    assert m is not None, repr(exc)
    for name in filter(None, m.groups()):
        assert name not in (client.capabilities or ()), f"{name} was offered: {exc!r}"


def _bye(step: dict[str, Any]) -> bool:
    return b"* BYE" in reply_bytes(step) and send_bytes(step).split()[1:2] != [b"LOGOUT"]


def test_most_scenarios_are_replayed_with_our_commands() -> None:
    mapped = []
    for scenario in SCENARIOS:
        try:
            plan(scenario)
        except Unmapped:
            continue
        mapped.append(scenario["id"])
    # 93 of 131 when written. The rest need SELECT (... ANNOTATE), other SASL
    # exchanges, SORT RETURN, PARTIAL, LIST RETURN (STATUS ...) with other
    # options, ACL, METADATA, NOTIFY, IDLE or COMPRESS steps of MailKit's own,
    # or search keys the client does not have (see the skip reasons).
    assert len(mapped) >= 85, len(mapped)
