"""SASL exchanges decoded for learners, with every secret still masked.

Used by :class:`mailwire.transcript.Transcript` when it was made with
``reveal_sasl_on_loopback=True`` and the connection's peer is a loopback
address (127.0.0.0/8 or ::1): the base64 of each AUTH/AUTHENTICATE payload is
decoded and described in an event note, as it is recorded. The payload bytes
themselves stay secret (and, by default, unstored, S40); what the note shows
is built field by field, and every field that proves knowledge of the
password is masked:

=============  ============================================================
PLAIN          authzid and authcid; the password masked
LOGIN          the user name (the first answer); every later answer masked
CRAM-MD5       the user name; the digest masked
SCRAM-*        client-first whole (GS2 header, user, nonce); client-final
               with the proof ``p=`` masked; server messages whole (nonce,
               salt, iteration count, verifier: the server sent them in
               the clear base64 anyway)
XOAUTH2,       every field but ``auth=`` (the bearer token, masked)
OAUTHBEARER
EXTERNAL,      the authorization identity / the trace
ANONYMOUS
other          nothing: ``<redacted N bytes>``
=============  ============================================================

Server challenges are decoded whole: they crossed the wire as base64 on a
server line, which every rendering shows already.

The recogniser reads the client's lines: ``AUTH MECH`` (SMTP, POP3) or
``tag AUTHENTICATE MECH`` (IMAP) opens an exchange; a line that is all one
secret span, or empty, is an answer; the server's ``334`` (SMTP) or ``+``
(POP3, IMAP) lines are challenges; any other line ends it.
"""

from __future__ import annotations

import binascii
import ipaddress
import re

__all__ = ["SaslNotes", "is_loopback"]

_AUTH = re.compile(rb"^(?:[^ ]+ )?(?:AUTH|AUTHENTICATE) ([A-Za-z0-9_-]+)(?: |\r?\n|$)", re.I)


def is_loopback(peer: str) -> bool:
    """Whether ``peer``, ``ADDRESS:PORT`` as in a connect record, is on loopback.

    ``"127.0.0.1:25"``, ``"::1:993"`` and ``"[::1]:993"`` are; only
    127.0.0.0/8 and ::1 count. A name, an address without its port, or
    anything else that does not parse is not.
    """
    host, colon, port = peer.strip().rpartition(":")
    if not colon or not port.isdigit():
        return False
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return address.is_loopback


def _masked(size: int) -> str:
    return f"<redacted {size} {'byte' if size == 1 else 'bytes'}>"


def _text(data: bytes) -> str:
    return '"' + data.decode("utf-8", "replace").replace('"', '\\"') + '"'


def _plain(message: bytes) -> str:
    fields = message.split(b"\0")
    if len(fields) != 3:
        return f"not the PLAIN form: {_masked(len(message))}"
    authzid, authcid, password = fields
    return f"authzid {_text(authzid)}, authcid {_text(authcid)}, password {_masked(len(password))}"


def _scram(message: bytes) -> str:
    # The proof (p=) is derived from the password: masked. Everything else is
    # a name, a nonce or the channel-binding header.
    parts = []
    for field in message.split(b","):
        if field.startswith(b"p="):
            parts.append(f"p={_masked(len(field) - 2)}")
        else:
            parts.append(field.decode("utf-8", "replace"))
    return ",".join(parts)


def _bearer(message: bytes) -> str:
    parts = []
    for field in message.split(b"\x01"):
        key, equals, value = field.partition(b"=")
        if equals and key.lower() == b"auth":
            parts.append(f"auth={_masked(len(value))}")
        else:
            parts.append(field.decode("utf-8", "replace"))
    return "^A".join(parts)


class SaslNotes:
    """Follows the SASL exchanges of one connection; returns the notes to record."""

    def __init__(self) -> None:
        self.mechanism: str | None = None
        self._answers = 0
        self._challenge = b""
        self._server = bytearray()

    # ------------------------------------------------------------ client

    def client(self, data: bytes, secrets: tuple[tuple[int, int], ...]) -> list[str]:
        """Notes for the client bytes ``data`` with their secret ``(start, end)`` spans."""
        notes: list[str] = []
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            end = len(data) if end == -1 else end + 1
            spans = [(s, e) for s, e in secrets if start <= s < end]
            notes.extend(self._client_line(data, start, end, spans))
            start = end
        return notes

    def _client_line(
        self, data: bytes, start: int, end: int, spans: list[tuple[int, int]]
    ) -> list[str]:
        prefix = data[start : spans[0][0]] if spans else data[start:end]
        match = _AUTH.match(prefix)
        if match:
            self.mechanism = match[1].decode("ascii").upper()
            self._answers = 0
            self._challenge = b""
            self._server.clear()
            if spans:
                s, e = spans[0]
                return [self._answer(data[s:e], initial=True)]
            if data[start:end].rstrip(b"\r\n").endswith(b" ="):
                return [self._answer(b"=", initial=True)]
            return []
        if self.mechanism is None:
            return []
        rest = data[spans[-1][1] : end] if spans else b""
        if spans and not prefix and not rest.strip(b"\r\n"):
            s, e = spans[0]
            return [self._answer(data[s:e], initial=False)]
        line = data[start:end].rstrip(b"\r\n")
        if not spans and not line:
            return [self._answer(b"", initial=False)]
        mechanism, self.mechanism = self.mechanism, None
        if line == b"*":
            return [f"SASL {mechanism}: the client cancelled the exchange"]
        return []

    def _answer(self, payload: bytes, *, initial: bool) -> str:
        mechanism = self.mechanism or "?"
        index = self._answers
        self._answers += 1
        head = f"SASL {mechanism} client{' (initial response)' if initial else ''}: "
        if payload == b"=":
            return head + "(empty)"
        try:
            message = binascii.a2b_base64(payload, strict_mode=True) if payload else b""
        except binascii.Error:
            return head + f"not base64: {_masked(len(payload))}"
        if not message:
            return head + "(empty)"
        return head + self._view(mechanism, index, message)

    def _view(self, mechanism: str, index: int, message: bytes) -> str:
        if mechanism == "PLAIN":
            return _plain(message)
        if mechanism == "LOGIN":
            asked = self._challenge.lower()
            if index == 0 and b"pass" not in asked:
                return f"user name {_text(message)}"
            return f"password {_masked(len(message))}"
        if mechanism == "CRAM-MD5":
            user, space, digest = message.rpartition(b" ")
            if not space:
                return _masked(len(message))
            return f"user name {_text(user)}, digest {_masked(len(digest))}"
        if mechanism.startswith("SCRAM-"):
            return _scram(message)
        if mechanism in ("XOAUTH2", "OAUTHBEARER"):
            return _bearer(message)
        if mechanism == "EXTERNAL":
            return f"authorization identity {_text(message)}"
        if mechanism == "ANONYMOUS":
            return f"trace {_text(message)}"
        return _masked(len(message))

    # ------------------------------------------------------------ server

    def server(self, data: bytes) -> list[str]:
        """Notes for the server bytes ``data`` (challenges decoded; the end of an exchange)."""
        if self.mechanism is None:
            return []
        self._server += data
        notes: list[str] = []
        while self.mechanism is not None:
            end = self._server.find(b"\n")
            if end == -1:
                if len(self._server) > 65536:  # no line in sight: stop following
                    self._server.clear()
                    self.mechanism = None
                break
            line = bytes(self._server[:end]).rstrip(b"\r")
            del self._server[: end + 1]
            notes.extend(self._server_line(line))
        if self.mechanism is None:
            self._server.clear()
        return notes

    def _server_line(self, line: bytes) -> list[str]:
        mechanism = self.mechanism
        if line.startswith(b"334 ") or line == b"334":
            payload = line[4:]
        elif line.startswith(b"+ ") or line == b"+":
            payload = line[2:]
        else:
            self.mechanism = None
            return []
        try:
            challenge = binascii.a2b_base64(payload.strip(), strict_mode=True)
        except binascii.Error:
            self._challenge = b""
            return [f"SASL {mechanism} server: (not base64)"]
        self._challenge = challenge
        shown = challenge.decode("utf-8", "replace") if challenge else "(empty)"
        return [f"SASL {mechanism} server: {shown}"]
