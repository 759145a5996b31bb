"""The demo's story: alice sends bob a message with an attachment over SMTP,
and bob reads it back over POP3, then over IMAP.

Each step is one exchange with one server, made by mailwire's own client
with TLS verified against the lab CA, and returns a :class:`StepResult`
carrying the client's transcript (secrets already marked, so every
rendering redacts them) and a few lines saying what came back.

The POP3 and IMAP steps use the clients' public API only (ARCHITECTURE.md
§2). A client that is not importable yet makes its step fail with "not
available yet": the demo never stands in for one with the stdlib.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mailwire.demo._lab import Lab

if TYPE_CHECKING:
    from mailwire.transcript import Transcript

__all__ = ["ATTACHMENT_NAME", "Scenario", "StepResult"]

ATTACHMENT_NAME = "lab-envelope.png"
SUBJECT = "Hello from the mailwire lab"
BODY = """\
Hi Bob,

this message crossed the wire three times: once over SMTP to the lab's
submission server, and once each over POP3 and IMAP back to you.
The picture attached is 16 x 16 pixels, sent in base64.

-- Alice
"""
TIMEOUT = 30.0
NOT_YET = (
    "the {protocol} client (mailwire.{name}.Client) is not available yet in this "
    "version of mailwire, so this exchange cannot run"
)


@dataclasses.dataclass
class StepResult:
    """What one exchange did.

    Attributes:
        key: "smtp", "pop3" or "imap".
        ok: the exchange did all it should.
        transcript: the client's record of the exchange (None when no client ran).
        findings: lines saying what came back (shown after the transcript).
        error: why it failed, for people.
        seconds: how long the exchange took.
    """

    key: str
    ok: bool
    transcript: Transcript | None = None
    findings: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def envelope_png() -> bytes:
    """A 16 x 16 two-colour PNG of an envelope, made here (no file to ship)."""
    rows = []
    for y in range(16):
        row = bytearray([0])  # filter byte: none
        for x in range(16):
            border = y in (2, 13) or x in (1, 14)
            flap = 2 < y < 13 and (abs(x - 7.5) + 2 == y or abs(x - 7.5) + 3 == y)
            inside = 2 < y < 13 and 1 < x < 14
            row += b"\x1f\x4e\x79" if border or flap else b"\xf2\xe8\xcf" if inside else b"\xff" * 3
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def _client_class(protocol: str) -> Any:
    """``pop3.Client`` / ``imap.Client``, or None while it is not written yet."""
    import importlib

    try:
        package = importlib.import_module(f"mailwire.{protocol}")
        return package.Client
    except (ImportError, AttributeError):
        return None


class Scenario:
    """The three exchanges against a running lab."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.alice = lab.accounts["alice"]
        self.bob = lab.accounts["bob"]
        self.attachment = envelope_png()
        self.message_id = ""
        self.context = lab.certs.client_context()

    def steps(self) -> list[tuple[str, str, Callable[[StepResult], None]]]:
        """(key, title, run) for each exchange, in order."""
        ports = self.lab.ports
        return [
            (
                "smtp",
                f"SMTP: alice sends bob a message with an attachment "
                f"(port {ports['submission']}, STARTTLS, AUTH)",
                self.send,
            ),
            (
                "pop3",
                f"POP3: bob downloads it (port {ports['pop3s']}, implicit TLS)",
                self.read_pop3,
            ),
            (
                "imap",
                f"IMAP: bob reads it in his INBOX (port {ports['imap']}, STARTTLS)",
                self.read_imap,
            ),
        ]

    # ------------------------------------------------------------ SMTP --

    def build_message(self) -> Any:
        from mailwire import mime

        message = mime.Message(
            sender=("Alice", self.alice.address),
            to=[("Bob", self.bob.address)],
            subject=SUBJECT,
            text=BODY,
        )
        message.attach(self.attachment, filename=ATTACHMENT_NAME, content_type="image/png")
        self.message_id = message.message_id
        return message

    def send(self, result: StepResult) -> None:
        from mailwire import smtp
        from mailwire.tls import TLSMode

        client = smtp.Client(
            self.lab.host,
            self.lab.ports["submission"],
            tls=TLSMode.STARTTLS,
            ssl_context=self.context,
            timeout=TIMEOUT,
        )
        result.transcript = client.transcript
        with client:
            client.login(self.alice.name, self.alice.password)
            sent = client.send_message(self.build_message())
        for address, reply in sent.accepted.items():
            result.findings.append(f"accepted for {address}: {reply.code} {reply.text}")
        for address, reply in sent.refused.items():
            result.findings.append(f"REFUSED for {address}: {reply.code} {reply.text}")
        result.ok = self.bob.address in sent.accepted and not sent.refused
        if result.ok:
            # Postfix hands the message on to Dovecot after its 250.
            self.lab.wait_for_message(self.bob, self.message_id.encode(), TIMEOUT)

    # ------------------------------------------------------------ POP3 --

    def read_pop3(self, result: StepResult) -> None:
        from mailwire.tls import TLSMode

        client_class = _client_class("pop3")
        if client_class is None:
            result.error = NOT_YET.format(protocol="POP3", name="pop3")
            return
        client = client_class(
            self.lab.host,
            self.lab.ports["pop3s"],
            tls=TLSMode.IMPLICIT,
            ssl_context=self.context,
            timeout=TIMEOUT,
        )
        result.transcript = client.transcript
        with client:
            client.login(self.bob.name, self.bob.password)
            count, octets = client.stat()
            uids = client.uidl()
            result.findings.append(f"maildrop: {count} message(s), {octets} octets")
            raw = b""
            for number in sorted(uids, reverse=True):  # the newest is the last
                raw = client.retrieve(number)
                if self.message_id.encode() in raw:
                    result.findings.append(f"message {number} (UIDL {uids[number]}) is ours")
                    break
            else:
                result.error = f"no message with Message-ID {self.message_id} in the maildrop"
                return
        result.ok = self._check_message(raw, result)

    # ------------------------------------------------------------ IMAP --

    def read_imap(self, result: StepResult) -> None:
        from mailwire.tls import TLSMode

        client_class = _client_class("imap")
        if client_class is None:
            result.error = NOT_YET.format(protocol="IMAP", name="imap")
            return
        client = client_class(
            self.lab.host,
            self.lab.ports["imap"],
            tls=TLSMode.STARTTLS,
            ssl_context=self.context,
            timeout=TIMEOUT,
        )
        result.transcript = client.transcript
        with client:
            client.login(self.bob.name, self.bob.password)
            client.select("INBOX")
            uids = client.search("HEADER", "Message-ID", self.message_id)
            if not uids:
                result.error = f"SEARCH found no message with Message-ID {self.message_id}"
                return
            fetched = client.fetch(uids, ["ENVELOPE", "BODY.PEEK[]"])
            data = fetched[max(fetched)]
            envelope = data.envelope
            if envelope is not None:
                sender = ", ".join(a.addr_spec for a in envelope.from_)
                result.findings.append(f"ENVELOPE: from {sender}, subject {envelope.subject!r}")
            raw = data.sections.get("BODY[]", b"")
            client.logout()
        result.ok = self._check_message(raw, result)

    # ----------------------------------------------------------- check --

    def _check_message(self, raw: bytes, result: StepResult) -> bool:
        """Parse what came back; is the attachment the one alice sent?"""
        from mailwire import mime

        entity = mime.parse(raw)
        result.findings.append(f"Subject: {entity.subject}")
        for part in entity.walk():
            if part.filename == ATTACHMENT_NAME:
                content = part.content()
                same = content == self.attachment
                digest = hashlib.sha256(content).hexdigest()[:16]
                result.findings.append(
                    f"attachment {part.filename} ({part.content_type}, "
                    f"{part.transfer_encoding}): {len(content)} bytes, sha256 {digest}..., "
                    + ("identical to what alice sent" if same else "DIFFERENT from what was sent")
                )
                return same
        result.error = f"the attachment {ATTACHMENT_NAME} is missing from the message"
        return False


def run_step(run: Callable[[StepResult], None], key: str) -> StepResult:
    """Run one step, timing it; an exception becomes a failed result.

    The transcript recorded up to the failure stays in the result, so the
    learner sees the exchange that went wrong.
    """
    result = StepResult(key, ok=False)
    started = time.monotonic()
    try:
        run(result)
    except Exception as exc:  # any failure of a step is reported, not raised
        result.ok = False
        result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = time.monotonic() - started
    return result
