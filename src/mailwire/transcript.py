"""The record of one connection: every byte each way, TLS, and what it meant.

A :class:`Transcript` is fed by the driver (connect, the application bytes
exactly as written and read, the raw TLS records, timeouts, close) and
annotated by the flows and cores (each parsed event, state changes, the RFC
section). Secrets are marked ``sensitive`` at the source, where the code that
serialises a password or an AUTH payload knows exactly which bytes they are,
and every rendering redacts them unless the caller explicitly asks otherwise.

Two things are shown only on request. Colour: ``render(color=True)`` wraps
each line in an ANSI SGR code by reply class; :func:`use_color` says whether
a stream should get it (NO_COLOR, FORCE_COLOR, TERM=dumb, a terminal). SASL:
a transcript made with ``reveal_sasl_on_loopback=True`` records each
AUTH/AUTHENTICATE payload decoded in an event note, passwords, tokens and
proofs still masked, and only when the peer is on loopback
(:mod:`mailwire._transcript_sasl`).
"""

from __future__ import annotations

import dataclasses
import enum
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Self

if TYPE_CHECKING:
    from mailwire._transcript_sasl import SaslNotes

__all__ = ["Direction", "Kind", "Record", "Transcript", "use_color"]


def use_color(stream: IO[str], environ: Mapping[str, str] | None = None) -> bool:
    """Whether to colour what is written to ``stream``.

    In order: NO_COLOR set to anything but the empty string: no; else
    FORCE_COLOR set (likewise): yes; else TERM=dumb: no; else only when
    ``stream`` is a terminal.

    Args:
        stream: where the rendering goes (``sys.stdout``).
        environ: the environment (``os.environ`` by default).
    """
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


class Kind(enum.Enum):
    """What a record is."""

    CONNECT = "connect"  # TCP connection made; note = "host:port"
    DATA = "data"  # application bytes (plaintext, or decrypted TLS payload)
    TLS_RECORD = "tls-record"  # raw TLS bytes as they crossed the socket
    TLS = "tls"  # TLS handshake started / finished / failed; note says which
    EVENT = "event"  # an annotation from a core or flow (a parsed reply, a state change)
    TIMEOUT = "timeout"  # a deadline passed
    ERROR = "error"  # an exception ended the operation; note = its type and text
    CLOSE = "close"  # the transport was closed (by us, or EOF from the peer)


class Direction(enum.Enum):
    """Who sent the bytes (or ``LOCAL`` for things that happened here)."""

    CLIENT = "C"
    SERVER = "S"
    LOCAL = "-"


@dataclasses.dataclass(frozen=True, slots=True)
class Record:
    """One entry of a transcript.

    Attributes:
        seq: position in the transcript, from 0.
        time: seconds on the transcript's monotonic clock.
        kind: what the record is.
        direction: who sent it.
        data: the bytes (``b""`` for records that carry none). For a
            sensitive record loaded from a redacted rendering this is empty.
        sensitive: the bytes are a secret; renderings redact them.
        note: a short human-readable annotation.
        tls: the record happened while TLS was on (application bytes carried
            inside TLS).
        size: the number of bytes on the wire; equal to ``len(data)`` unless
            the data were dropped (redacted on load, or past ``max_data_bytes``).
    """

    seq: int
    time: float
    kind: Kind
    direction: Direction
    data: bytes = b""
    sensitive: bool = False
    note: str | None = None
    tls: bool = False
    size: int = 0

    def __repr__(self) -> str:
        shown = f"<redacted {self.size} bytes>" if self.sensitive else repr(self.data)
        return (
            f"Record(seq={self.seq}, kind={self.kind.value}, direction={self.direction.value}, "
            f"data={shown}, note={self.note!r}, tls={self.tls})"
        )


class Transcript:
    """Everything that crossed one connection, in order.

    Args:
        clock: the time source for record stamps (``time.monotonic``).
        max_data_bytes: application and TLS bytes kept in memory in all;
            past it, records keep their ``size`` but not their ``data``, so a
            200 MiB download does not also live in the transcript, and
            consecutive records dropped alike are merged into one that
            counts them all (the record list stays bounded too). ``None``
            keeps everything.
        keep_secrets: keep the bytes of sensitive records (passwords, AUTH
            payloads) so that ``reveal_secrets=True`` can show them. Off by
            default: a secret marked at the source is then never stored at
            all, only its size (security.md S40).
        reveal_sasl_on_loopback: when the peer turns out to be a loopback
            address (127.0.0.0/8, ::1; taken from the connect record), add an
            event note after each SASL payload with it decoded, every
            password, token, proof and digest masked
            (:mod:`mailwire._transcript_sasl`). The payload records stay
            sensitive. For any other peer nothing is added.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_data_bytes: int | None = 4 * 1024 * 1024,
        keep_secrets: bool = False,
        reveal_sasl_on_loopback: bool = False,
    ) -> None:
        self.records: list[Record] = []
        self.keep_secrets = keep_secrets
        self.reveal_sasl_on_loopback = reveal_sasl_on_loopback
        #: The peer's address as the connect record gave it (``"127.0.0.1:25"``).
        self.peer: str | None = None
        self._sasl: SaslNotes | None = None
        #: "smtp", "lmtp", "pop3" or "imap", set by the client (for exports).
        self.protocol: str | None = None
        #: The TLS key-log file this session wrote to, if any (for exports).
        self.keylog_file: str | None = None
        self._clock = clock
        self._max_data_bytes = max_data_bytes
        self._kept = 0
        self.tls_active = False
        #: Bytes dropped because of ``max_data_bytes``.
        self.dropped_bytes = 0

    def __repr__(self) -> str:
        return f"<Transcript {len(self.records)} records, tls={self.tls_active}>"

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def export_pcapng(self, path: str | os.PathLike[str], *, reveal_secrets: bool = False) -> int:
        """Write the session as a pcapng capture for Wireshark or tshark.

        By default the application bytes go out with every secret replaced
        (the TLS handshake noted in a packet comment): safe to share. With
        ``reveal_secrets=True`` the real TLS records are written with this
        session's key log embedded, so anyone holding the file can read
        everything, AUTH included; that needs a transcript recorded with
        ``keep_secrets=True`` and a client given ``keylog_file``.

        Returns:
            The number of frames written.
        """
        from mailwire._pcapng import write_pcapng

        return write_pcapng(self, path, reveal_secrets=reveal_secrets)

    def to_mermaid(self, reveal_secrets: bool = False) -> str:
        """The session as a Mermaid ``sequenceDiagram`` (secrets redacted)."""
        from mailwire._transcript_views import to_mermaid

        return to_mermaid(self.render(reveal_secrets=reveal_secrets))

    def to_html(self, reveal_secrets: bool = False, title: str = "mailwire transcript") -> str:
        """The session as a self-contained HTML page (no external reference).

        Server lines are coloured by reply class by the page's own stylesheet.
        """
        from mailwire._transcript_views import to_html

        return to_html(self.render(reveal_secrets=reveal_secrets), title, self.protocol)

    # ---------------------------------------------------------------- feeding

    def add(
        self,
        kind: Kind,
        direction: Direction = Direction.LOCAL,
        data: bytes = b"",
        *,
        sensitive: bool = False,
        note: str | None = None,
    ) -> Record:
        """Append one record and return it."""
        size = len(data)
        if sensitive and not self.keep_secrets:
            data = b""  # S40: the secret is not stored, only its size
        if data and self._max_data_bytes is not None:
            if self._kept + size > self._max_data_bytes:
                self.dropped_bytes += size
                data = b""
                last = self.records[-1] if self.records else None
                if (
                    last is not None
                    and last.kind is kind
                    and last.direction is direction
                    and last.size
                    and not last.data
                    and not last.sensitive
                    and not sensitive
                    and last.note is None
                    and note is None
                    and last.tls is self.tls_active
                ):
                    # Past the cap, a run of dropped bytes is one record that
                    # counts them: a long download adds no record per read.
                    merged = Record(
                        last.seq,
                        last.time,
                        kind,
                        direction,
                        b"",
                        False,
                        None,
                        last.tls,
                        last.size + size,
                    )
                    self.records[-1] = merged
                    return merged
            else:
                self._kept += size
        record = Record(
            seq=len(self.records),
            time=self._clock(),
            kind=kind,
            direction=direction,
            data=bytes(data),
            sensitive=sensitive,
            note=note,
            tls=self.tls_active,
            size=size,
        )
        self.records.append(record)
        if kind is Kind.CONNECT:
            self._connected(note)
        return record

    def _connected(self, note: str | None) -> None:
        # The drivers write "connected to HOST:PORT (ADDRESS:PORT)".
        text = (note or "").rstrip()
        opening = text.rfind("(")
        self.peer = text[opening + 1 : -1] if opening != -1 and text.endswith(")") else None
        self._sasl = None
        if self.reveal_sasl_on_loopback and self.peer is not None:
            from mailwire._transcript_sasl import SaslNotes, is_loopback

            if is_loopback(self.peer):
                self._sasl = SaslNotes()

    @property
    def sasl_decoded(self) -> bool:
        """Whether SASL payloads are being decoded (asked for, and the peer is loopback)."""
        return self._sasl is not None

    def sent(self, data: bytes, secrets: tuple[tuple[int, int], ...] = ()) -> None:
        """Record application bytes written by the client.

        ``secrets`` are ``(start, end)`` spans of ``data`` to mark sensitive;
        the bytes are split into records at the span edges.
        """
        pos = 0
        for start, end in secrets:
            if start > pos:
                self.add(Kind.DATA, Direction.CLIENT, data[pos:start])
            if end > start:
                self.add(Kind.DATA, Direction.CLIENT, data[start:end], sensitive=True)
            pos = end
        if pos < len(data):
            self.add(Kind.DATA, Direction.CLIENT, data[pos:])
        if self._sasl is not None:
            for note in self._sasl.client(data, secrets):
                self.event(note)

    def received(self, data: bytes) -> None:
        """Record application bytes read from the server."""
        if data:
            self.add(Kind.DATA, Direction.SERVER, data)
            if self._sasl is not None:
                for note in self._sasl.server(data):
                    self.event(note)

    def tls_record(self, direction: Direction, data: bytes) -> None:
        """Record raw TLS bytes as they crossed the socket."""
        if data:
            self.add(Kind.TLS_RECORD, direction, data)

    def tls_established(self, note: str) -> None:
        """Mark that TLS is on from here: later application bytes are inside it."""
        self.add(Kind.TLS, note=note)
        self.tls_active = True

    def event(self, note: str) -> None:
        """Annotate: a parsed reply, a state change, the RFC section."""
        self.add(Kind.EVENT, note=note)

    # -------------------------------------------------------------- reading

    def client_bytes(self, redact: bytes | None = None) -> bytes:
        """All application bytes the client sent, in order, TLS or not.

        Args:
            redact: when given, each run of secret bytes is replaced by it
                (``b""`` leaves them out). By default secrets are included as
                recorded; a transcript loaded from a redacted rendering has
                none to include.

        Returns:
            The bytes, less any the transcript did not keep (``max_data_bytes``).
        """
        return self._application_bytes(Direction.CLIENT, redact)

    def server_bytes(self, redact: bytes | None = None) -> bytes:
        """All application bytes the server sent; as :meth:`client_bytes`."""
        return self._application_bytes(Direction.SERVER, redact)

    def _application_bytes(self, direction: Direction, redact: bytes | None) -> bytes:
        chunks: list[bytes] = []
        in_secret = False
        for record in self.records:
            if record.kind is not Kind.DATA or record.direction is not direction:
                continue
            if record.sensitive and redact is not None:
                if not in_secret:
                    chunks.append(redact)
                in_secret = True
                continue
            in_secret = False
            chunks.append(record.data)
        return b"".join(chunks)

    # ------------------------------------------------------------ rendering

    def render(self, style: str = "text", reveal_secrets: bool = False, color: bool = False) -> str:
        """Render the transcript for people (and, in "text", for ``load``).

        Args:
            style: ``"text"``: the C:/S: lines of application data, one per
                wire line (``C*:``/``S*:`` inside TLS), other records as ``#``
                comments; the test-script format, read back by :meth:`load`.
                ``"annotated"``: the same with the seconds since the first
                record on each line and the raw TLS records summarised, for
                learners. ``"raw"``: every record on one line, bytes in hex.
            reveal_secrets: show the bytes of sensitive records (marked
                ``<secret ...>`` in text). By default each run of them is
                ``<redacted N bytes>`` and appears in no form at all.
            color: wrap each line in an ANSI SGR colour by its class (see
                ``mailwire._transcript_render.COLORS``): client lines; SMTP
                2xx/3xx/4xx/5xx; POP3 +OK/-ERR/+; IMAP OK/NO/BAD/BYE/+; ``#``
                lines. Off by default; :func:`use_color` decides for a stream.
                Removing the codes gives the plain rendering exactly.

        Returns:
            The rendering, one line per ``\\n``, with a ``#`` legend first.
            Control, bidi and invalid UTF-8 bytes are escaped reversibly
            (``\\x1b``, ``\\u202e``, ``\\\\``), so it is safe to print.

        Raises:
            ValueError: an unknown style.
        """
        from mailwire import _transcript_render

        return _transcript_render.render(
            self.records, style, reveal_secrets, color=color, protocol=self.protocol
        )

    def to_jsonl(self, reveal_secrets: bool = False) -> str:
        """Export every record as one JSON object per line.

        Each object has ``seq``, ``time`` (the transcript clock), ``kind``,
        ``direction``, ``tls``, ``sensitive``, ``note``, ``size``, ``data``
        (the bytes in base64) and ``text`` (the bytes of a DATA record in the
        escaped form of :meth:`render`, for reading). ``data`` and ``text``
        are null for a secret unless ``reveal_secrets``, and for bytes that
        were not kept. :meth:`load` reads it back record for record.
        """
        from mailwire import _transcript_render

        return _transcript_render.to_jsonl(self.records, reveal_secrets)

    # -------------------------------------------------------------- loading

    @classmethod
    def loads(cls, text: str) -> Self:
        """Rebuild a transcript from a "text" rendering or from JSON Lines.

        The format is detected from the first line that is not blank. From
        text, records come back with time 0.0 and without raw TLS records;
        the DATA bytes each way are exact. Redacted secrets come back as
        ``sensitive`` records without data, dropped spans as records without
        data; both keep their size.

        Raises:
            ValueError: a line that is not part of either format (its number
                is in the message).
        """
        from mailwire import _transcript_load

        transcript = cls(max_data_bytes=None)
        transcript.records = _transcript_load.parse(text)
        transcript._kept = sum(len(record.data) for record in transcript.records)
        transcript.dropped_bytes = sum(
            record.size
            for record in transcript.records
            if not record.sensitive and len(record.data) != record.size
        )
        transcript.tls_active = any(record.tls for record in transcript.records)
        return transcript

    @classmethod
    def load(cls, source: str | os.PathLike[str] | IO[str] | IO[bytes]) -> Self:
        """Rebuild a transcript from a file; see :meth:`loads`.

        Args:
            source: a path, or a file object open for reading (text or
                binary; binary content is read as UTF-8).
        """
        if isinstance(source, str | os.PathLike):
            with open(source, "rb") as file:
                content: str | bytes = file.read()
        else:
            content = source.read()
        if isinstance(content, bytes):
            content = content.decode("utf-8")
        return cls.loads(content)
