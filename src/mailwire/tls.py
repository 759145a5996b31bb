"""TLS for every protocol and both drivers: modes, ports, contexts, the lens.

*Modes.* :class:`TLSMode` says how a connection gets its TLS:
``IMPLICIT`` (the default, RFC 8314: TLS from the first byte, ports 465, 993,
995), ``STARTTLS`` (upgrade a plaintext session; *required*: if the server does
not offer it or the upgrade fails, the operation fails and nothing else is
sent) or ``PLAIN`` (no TLS at all; authentication is then refused unless the
caller allows it).

*Contexts.* :func:`create_context` starts from ``ssl.create_default_context()``
(certificate and hostname verified) with TLS 1.2 as the floor (RFC 8996 and
RFC 8997 deprecate 1.0 and 1.1), and adds what a caller asks for: a CA file, a
client certificate, a key-log file. Nothing is loosened unless the caller
passes a context of their own, and a loosened context is reported by
:func:`context_warnings` so the transcript can say so (security.md S36).

*The lens.* :class:`TLSLens` is an :class:`ssl.SSLObject` over two
:class:`ssl.MemoryBIO` objects: it never touches a socket. Its operations are
tiny generators that yield raw-I/O steps (:class:`RawSend`,
:class:`RawRecv`) which the blocking driver runs with ``socket.sendall`` /
``socket.recv`` and the asyncio driver with a stream writer / reader. Implicit
TLS and a STARTTLS upgrade are the same code: a handshake over whatever
connection is open. Because the lens sees the raw bytes, it hands the real TLS
records to the transcript (for pcapng export with a key log).

``ssl`` is imported only when a context or a lens is made, so ``import
mailwire`` stays cheap.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import ipaddress
import os
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from mailwire.transcript import Direction, Transcript

if TYPE_CHECKING:
    import ssl

__all__ = [
    "DEFAULT_PORTS",
    "RawClose",
    "RawDeadline",
    "RawRecv",
    "RawSend",
    "RawStep",
    "TLSLens",
    "TLSMode",
    "context_warnings",
    "create_context",
    "default_port",
    "is_ip_literal",
]


class TLSMode(enum.Enum):
    """How a connection is protected.

    IMPLICIT: TLS from the first byte (RFC 8314 §3). The default.
    STARTTLS: plaintext greeting, then an upgrade that MUST succeed; the
        client fails closed when the server does not offer it.
    PLAIN: no TLS. Credentials are refused unless ``allow_plaintext_auth``.
    """

    IMPLICIT = "implicit"
    STARTTLS = "starttls"
    PLAIN = "plain"


#: Well-known ports by protocol and mode. SMTP submission uses 465 (implicit,
#: RFC 8314 §3.3) and 587 (STARTTLS, RFC 6409); plain SMTP is the relay port
#: 25. POP3: 995 / 110 (RFC 8314, RFC 2595). IMAP: 993 / 143. LMTP has no
#: standard TCP port (RFC 2033 §5 forbids port 25); 24 is the one commonly
#: assigned.
DEFAULT_PORTS: dict[tuple[str, TLSMode], int] = {
    ("smtp", TLSMode.IMPLICIT): 465,
    ("smtp", TLSMode.STARTTLS): 587,
    ("smtp", TLSMode.PLAIN): 25,
    ("lmtp", TLSMode.IMPLICIT): 24,
    ("lmtp", TLSMode.STARTTLS): 24,
    ("lmtp", TLSMode.PLAIN): 24,
    ("pop3", TLSMode.IMPLICIT): 995,
    ("pop3", TLSMode.STARTTLS): 110,
    ("pop3", TLSMode.PLAIN): 110,
    ("imap", TLSMode.IMPLICIT): 993,
    ("imap", TLSMode.STARTTLS): 143,
    ("imap", TLSMode.PLAIN): 143,
}


def default_port(protocol: str, mode: TLSMode) -> int:
    """The well-known port for ``protocol`` ("smtp", "lmtp", "pop3", "imap")."""
    try:
        return DEFAULT_PORTS[(protocol.lower(), TLSMode(mode))]
    except KeyError:
        raise ValueError(f"unknown protocol {protocol!r}") from None


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` is an IPv4 or IPv6 address rather than a name."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def create_context(
    *,
    cafile: str | os.PathLike[str] | None = None,
    capath: str | os.PathLike[str] | None = None,
    cadata: str | bytes | None = None,
    certfile: str | os.PathLike[str] | None = None,
    keyfile: str | os.PathLike[str] | None = None,
    password: str | bytes | None = None,
    keylog_file: str | os.PathLike[str] | None = None,
) -> ssl.SSLContext:
    """A client context that verifies the server, with TLS 1.2 as the floor.

    Args:
        cafile, capath, cadata: trust these CAs *instead of* the system store
            (as ``ssl.create_default_context`` does); all ``None`` uses the
            system store.
        certfile, keyfile, password: a client certificate (for SASL EXTERNAL
            or servers that require one).
        keylog_file: append the session keys here (NSS key-log format), so a
            capture can be decrypted. Only when asked: whoever has the file can
            read everything, passwords included.

    Returns:
        A fresh :class:`ssl.SSLContext` with ``CERT_REQUIRED`` and hostname
        checking on.
    """
    import ssl

    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH,
        cafile=os.fspath(cafile) if cafile is not None else None,
        capath=os.fspath(capath) if capath is not None else None,
        cadata=cadata,
    )
    context.minimum_version = max(context.minimum_version, ssl.TLSVersion.TLSv1_2)
    if certfile is not None:
        context.load_cert_chain(certfile, keyfile, password)
    if keylog_file is not None:
        context.keylog_filename = os.fspath(keylog_file)
    return context


def context_warnings(context: ssl.SSLContext) -> list[str]:
    """Ways a caller's context is weaker than mailwire's default (S36)."""
    import ssl

    found = []
    if context.verify_mode != ssl.CERT_REQUIRED:
        found.append("server certificate is not verified (verify_mode is not CERT_REQUIRED)")
    if not context.check_hostname:
        found.append("server hostname is not checked (check_hostname is False)")
    if context.minimum_version not in (ssl.TLSVersion.MINIMUM_SUPPORTED,) and (
        context.minimum_version < ssl.TLSVersion.TLSv1_2
    ):
        found.append(f"TLS floor lowered to {context.minimum_version.name}")
    if context.keylog_filename:
        found.append(f"TLS session keys are written to {context.keylog_filename}")
    return found


# --------------------------------------------------------------------------
# Raw-I/O steps the lens yields; each driver performs them its own way.


@dataclasses.dataclass(frozen=True, slots=True)
class RawSend:
    """Write these bytes to the socket, all of them."""

    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class RawRecv:
    """Read at most ``max_bytes`` from the socket (b"" means end of stream)."""

    max_bytes: int


@dataclasses.dataclass(frozen=True, slots=True)
class RawClose:
    """Close the socket."""


@dataclasses.dataclass(frozen=True, slots=True)
class RawDeadline:
    """Set the driver's deadline to ``seconds`` from now (``None``: none)."""

    seconds: float | None


RawStep: TypeAlias = RawSend | RawRecv | RawClose | RawDeadline
T = TypeVar("T")
#: A generator of raw steps, sent ``bytes`` after a RawRecv, returning T.
RawFlow: TypeAlias = Generator[RawStep, "bytes | None", T]

_TLS_READ_SIZE = 16 * 1024 + 256  # one TLS record at most, plus header and tag


class TLSLens:
    """An :class:`ssl.SSLObject` over memory BIOs: TLS without a socket.

    Args:
        context: the :class:`ssl.SSLContext` to use.
        server_hostname: the name to verify. For a name it is also sent as SNI;
            for an IP literal OpenSSL checks the certificate's IP SAN and sends
            no SNI (RFC 6066 §3 forbids literal addresses there; S35).
        transcript: receives each raw TLS record as it crosses.
    """

    def __init__(
        self,
        context: ssl.SSLContext,
        server_hostname: str | None,
        transcript: Transcript | None = None,
    ) -> None:
        import ssl

        self._ssl = ssl
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        if server_hostname is not None:
            server_hostname = server_hostname.strip("[]")
        self.server_hostname = server_hostname
        self.object = context.wrap_bio(
            self._incoming, self._outgoing, server_side=False, server_hostname=server_hostname
        )
        self._transcript = transcript
        self.handshake_done = False
        #: The peer ended TLS without close_notify (a truncation is possible).
        self.ragged_eof = False

    def __repr__(self) -> str:
        return f"<TLSLens {self.server_hostname!r} done={self.handshake_done}>"

    def _flush(self) -> RawFlow[None]:
        data = self._outgoing.read()
        if data:
            if self._transcript is not None:
                self._transcript.tls_record(Direction.CLIENT, data)
            yield RawSend(data)

    def _fill(self) -> RawFlow[None]:
        raw = yield RawRecv(_TLS_READ_SIZE)
        if raw:
            if self._transcript is not None:
                self._transcript.tls_record(Direction.SERVER, raw)
            self._incoming.write(raw)
        else:
            self._incoming.write_eof()

    def handshake(self) -> RawFlow[None]:
        """Run the handshake to the end.

        Raises:
            ssl.SSLCertVerificationError: untrusted certificate or name
                mismatch (propagated unchanged).
            ssl.SSLError: any other handshake failure.
        """
        ssl = self._ssl
        while True:
            try:
                self.object.do_handshake()
            except ssl.SSLWantReadError:
                yield from self._flush()
                yield from self._fill()
                continue
            yield from self._flush()
            self.handshake_done = True
            return

    def read(self, max_bytes: int) -> RawFlow[bytes]:
        """Decrypt up to ``max_bytes`` of application data; b"" at the end.

        A clean close_notify and a bare end of stream both end with b"";
        the second sets :attr:`ragged_eof` so the caller can note it (the
        protocol framing above decides whether data was cut short).
        """
        ssl = self._ssl
        while True:
            try:
                data = self.object.read(max_bytes)
            except ssl.SSLWantReadError:
                # Post-handshake messages (TLS 1.3 tickets, key updates) may
                # need an answer before more data can come.
                yield from self._flush()
                yield from self._fill()
                continue
            except ssl.SSLZeroReturnError:
                return b""
            except ssl.SSLEOFError:
                self.ragged_eof = True
                return b""
            yield from self._flush()
            return data

    def write(self, data: bytes) -> RawFlow[None]:
        """Encrypt ``data`` and send the records."""
        view = memoryview(data)
        while view:
            written = self.object.write(view)
            view = view[written:]
            yield from self._flush()

    def close(self) -> RawFlow[None]:
        """Send close_notify (best effort; the peer's answer is not awaited)."""
        ssl = self._ssl
        with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLError):
            self.object.unwrap()
        yield from self._flush()

    def describe(self) -> str:
        """One line for the transcript: version, cipher, peer certificate."""
        version = self.object.version() or "?"
        cipher = self.object.cipher()
        name = cipher[0] if cipher else "?"
        subject = ""
        cert = self.object.getpeercert()
        if cert:
            rdns: Any = cert.get("subject", ())
            for rdn in rdns:
                for key, value in rdn:
                    if key == "commonName":
                        subject = f", certificate CN={value}"
        sni = self.server_hostname if not is_ip_literal(self.server_hostname or "") else None
        return f"TLS established: {version} {name}{subject}, SNI={sni or 'none'}"
