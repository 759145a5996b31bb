"""A replay server built from MailKit's SMTP manifest (shared/corpora/README.md).

Each scenario of ``mailkit/manifest/smtp.json`` is a list of (expected client
bytes, recorded server reply) steps. :class:`SMTPReplay` serves one scenario per
connection as the README describes: it sends the greeting, then for every step
reads as many lines as the step's ``send`` holds, compares them, and answers
with the reply file (LF turned into CRLF) or the inline bytes. After a step
whose ``next_state`` is ``WaitForEndOfData`` it reads the message through
CRLF.CRLF; the ``after_data`` step then answers the end of data. A ``{*}``
step (BDAT) reads the ``BDAT n LAST`` line and its n octets.

Matching, as the manifest's rules say: bytes as sent (UTF-8), after removing a
`` SIZE=<n>`` parameter from MAIL FROM; ``send_pattern`` is a glob where
``{*}`` is any text. One more rule, declared here because RFC 5321 §4.1.2
gives ESMTP parameters no order (``Mail-parameters = esmtp-param *(SP
esmtp-param)``): the parameters of MAIL and RCPT are compared as a set, so
``SMTPUTF8 BODY=8BITMIME`` and ``BODY=8BITMIME SMTPUTF8`` are the same line.

A mismatch is recorded (expected and received bytes, step number), answered
with ``554 5.5.0 replay mismatch`` and the connection closed: the test fails on
``errors``. Bytes after the end of the script are a mismatch too, unless the
test allows them by name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import pathlib
import re
import ssl
import threading
from collections.abc import Iterable
from typing import Any

from tests.support.server import Peer, ScriptedServer

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpora"
MANIFEST_PATH = CORPUS / "mailkit/manifest/smtp.json"


@functools.cache
def load_manifest() -> dict[str, Any]:
    return json.loads(MANIFEST_PATH.read_text("utf-8"))  # type: ignore[no-any-return]


def scenarios() -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in load_manifest()["scenarios"]}


def reply_bytes(reply: dict[str, Any]) -> bytes | None:
    """The bytes a step's reply sends; ``None`` for ``{"none": true}`` (drop the line)."""
    if reply.get("none"):
        return None
    if "inline" in reply:
        return str(reply["inline"]).encode("utf-8")
    root = CORPUS / load_manifest()["resource_root"]
    return (root / reply["file"]).read_bytes().replace(b"\n", b"\r\n")


@dataclasses.dataclass
class Step:
    """One step as the replay serves it (the manifest's fields, plus ours)."""

    send: str | None
    pattern: bool
    reply: bytes | None
    wait_for_data: bool = False
    after_data: bool = False
    inserted: bool = False  # not in the manifest: a documented addition of the test

    @classmethod
    def from_manifest(cls, raw: dict[str, Any]) -> Step:
        pattern = "send_pattern" in raw
        return cls(
            send=raw.get("send_pattern") if pattern else raw.get("send"),
            pattern=pattern,
            reply=reply_bytes(raw["reply"]),
            wait_for_data=raw.get("next_state") == "WaitForEndOfData",
            after_data=bool(raw.get("after_data")),
        )


def steps_of(
    scenario: dict[str, Any],
    *,
    insert: dict[int, list[Step]] | None = None,
    replace_reply: dict[int, bytes] | None = None,
) -> list[Step]:
    """The scenario's steps, with documented insertions (after step i) and reply changes."""
    out: list[Step] = []
    for index, raw in enumerate(scenario["steps"]):
        step = Step.from_manifest(raw)
        if replace_reply and index in replace_reply:
            step.reply = replace_reply[index]
        out.append(step)
        out.extend((insert or {}).get(index, []))
    return out


# ------------------------------------------------------------------ matching

_SIZE = re.compile(r" SIZE=\d+", re.IGNORECASE)
_PATH_LINE = re.compile(r"(?P<verb>MAIL FROM:|RCPT TO:)<(?P<path>[^>]*)>(?P<params>.*)\r\n\Z", re.S)


def _glob(pattern: str, text: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("{*}"))
    return re.fullmatch(regex, text, re.S) is not None


def _same(expected: str, got: str, pattern: bool) -> bool:
    return _glob(expected, got) if pattern else expected == got


def line_matches(expected: str, got: str, pattern: bool) -> bool:
    """One expected line against one received line (see the module docstring)."""
    got = _SIZE.sub("", got) if got.upper().startswith("MAIL FROM:") else got
    want, have = _PATH_LINE.match(expected), _PATH_LINE.match(got)
    if want is None or have is None:
        return _same(expected, got, pattern)
    if want["verb"] != have["verb"] or not _same(want["path"], have["path"], pattern):
        return False
    wanted = want["params"].split()
    left = have["params"].split()
    if len(wanted) != len(left):
        return False
    for param in wanted:
        match = next((p for p in left if _same(param, p, pattern)), None)
        if match is None:
            return False
        left.remove(match)
    return True


# ------------------------------------------------------------------ the server


class SMTPReplay:
    """Serves ``steps`` to each connection (normally one) on loopback.

    Attributes:
        errors: mismatches and protocol problems, as text.
        done: how many steps (greeting included) each connection completed.
        closed_early: for each connection that the client closed before the
            end of the script, the step it was expected to write next. Not an
            error by itself: a test that stops a scenario on purpose checks
            ``steps_done``; one that plays it whole checks it reached the end.
        data: the message contents received (DATA unstuffed; BDAT chunks).
    """

    def __init__(
        self,
        steps: list[Step],
        *,
        allow_after: Iterable[bytes] = (),
        tls_context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.steps = steps
        self.allow_after = set(allow_after)
        self.errors: list[str] = []
        self.done: list[int] = []
        self.closed_early: list[str] = []
        self.data: list[bytes] = []
        self.finished = threading.Event()
        self.server = ScriptedServer(
            self._serve, tls_context=tls_context, implicit_tls=tls_context is not None, host=host
        )

    def __enter__(self) -> SMTPReplay:
        self.server.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server.__exit__(*exc_info)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def steps_done(self) -> int:
        return self.done[-1] if self.done else 0

    def wait(self, timeout: float = 5.0) -> bool:
        return self.finished.wait(timeout)

    # -- one connection

    def _fail(self, peer: Peer, text: str) -> None:
        self.errors.append(text)
        with contextlib.suppress(OSError):
            peer.send(b"554 5.5.0 replay mismatch\r\n")

    def _serve(self, peer: Peer) -> None:
        self.done.append(0)
        try:
            self._script(peer)
        finally:
            self.finished.set()

    def _script(self, peer: Peer) -> None:
        steps = self.steps
        first = steps[0]
        if first.reply:
            peer.send(first.reply)
        self.done[-1] = 1
        for number, step in enumerate(steps[1:], start=1):
            if not step.after_data and not self._read_step(peer, number, step):
                return
            if step.reply is None:  # the server drops the connection
                self.done[-1] = number + 1
                peer.close()
                return
            peer.send(step.reply)
            if step.wait_for_data:
                content = _read_data(peer)
                if content is None:
                    self.errors.append(f"step {number}: connection closed inside DATA")
                    return
                self.data.append(content)
            self.done[-1] = number + 1
        while True:
            line = peer.recv_line()
            if not line:
                return
            if line not in self.allow_after:
                self._fail(peer, f"script over after step {len(steps) - 1}; client sent {line!r}")
                return

    def _read_step(self, peer: Peer, number: int, step: Step) -> bool:
        assert step.send is not None
        if step.pattern and step.send == "{*}":  # BDAT n LAST + the chunk
            line = peer.recv_line()
            words = line.split()
            if len(words) < 2 or words[0].upper() != b"BDAT" or not words[1].isdigit():
                self._fail(peer, f"step {number}: expected BDAT, got {line!r}")
                return False
            self.data.append(peer.recv_exact(int(words[1])))
            return True
        for expected in step.send.splitlines(keepends=True):
            line = peer.recv_line()
            got = line.decode("utf-8", "surrogateescape")
            if not line:
                self.closed_early.append(f"step {number}: {expected!r}")
                return False
            if not line_matches(expected, got, step.pattern):
                self._fail(peer, f"step {number}: expected {expected!r}, got {got!r}")
                return False
        return True


def _read_data(peer: Peer) -> bytes | None:
    """Message content through CRLF.CRLF, dot-unstuffed (RFC 5321 §4.5.2)."""
    out = bytearray()
    while True:
        line = peer.recv_line()
        if not line:
            return None
        if line == b".\r\n":
            return bytes(out)
        out += line[1:] if line.startswith(b".") else line
