"""A scripted loopback server for tests: each connection runs a handler in a thread.

It answers whatever the test tells it to, byte for byte, and records what it
saw: every accepted connection, the bytes each one sent, the SNI names offered
in TLS handshakes. With it a test can check "these bytes never reached the
server" (security.md §0) as easily as a normal exchange.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from types import TracebackType


class Peer:
    """The server's side of one connection, as the handler sees it."""

    def __init__(self, sock: socket.socket, server: ScriptedServer) -> None:
        self.sock: socket.socket = sock
        self.server = server
        self.received = bytearray()
        self._pending = bytearray()
        sock.settimeout(server.io_timeout)

    # -- reading
    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.received += data
        self._pending += data
        return True

    def recv_line(self) -> bytes:
        """One line including LF; b"" at EOF."""
        while b"\n" not in self._pending:
            if not self._fill():
                rest = bytes(self._pending)
                self._pending.clear()
                return rest
        end = self._pending.index(b"\n") + 1
        line = bytes(self._pending[:end])
        del self._pending[:end]
        return line

    def recv_exact(self, n: int) -> bytes:
        while len(self._pending) < n:
            if not self._fill():
                break
        data = bytes(self._pending[:n])
        del self._pending[:n]
        return data

    def recv_until_eof(self) -> bytes:
        with contextlib.suppress(OSError):
            while self._fill():
                pass
        data = bytes(self._pending)
        self._pending.clear()
        return data

    # -- writing
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def start_tls(self, context: ssl.SSLContext | None = None) -> None:
        """Upgrade to TLS as a server (STARTTLS go-ahead already sent)."""
        ctx = context or self.server.tls_context
        assert ctx is not None, "no server TLS context"
        self.sock = ctx.wrap_socket(self.sock, server_side=True)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def reset(self) -> None:
        """Close with RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Handler = Callable[[Peer], None]


class ScriptedServer:
    """A loopback TCP server; each accepted connection runs ``handler(peer)``.

    Args:
        handler: the script for one connection.
        tls_context: a server context; with ``implicit_tls`` the handshake
            runs right after accept, otherwise it is used by ``peer.start_tls``.
        implicit_tls: wrap each accepted socket at once.
        host: the address to listen on (loopback only).
        io_timeout: the server's own socket timeout, so no test hangs.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        host: str = "127.0.0.1",
        io_timeout: float = 10.0,
    ) -> None:
        assert host in ("127.0.0.1", "::1", "localhost"), "loopback only"
        self.handler = handler
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.io_timeout = io_timeout
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(8)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self.peers: list[Peer] = []
        self.accepts = 0
        self.sni_names: list[str | None] = []
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        if tls_context is not None:
            tls_context.sni_callback = self._record_sni
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def _record_sni(self, _sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.sni_names.append(name)

    def __enter__(self) -> ScriptedServer:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepts += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        peer = Peer(sock, self)
        self.peers.append(peer)
        try:
            if self.implicit_tls:
                peer.start_tls()
            self.handler(peer)
        except (OSError, ssl.SSLError) as exc:
            self.errors.append(exc)
        finally:
            peer.close()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._acceptor.join(timeout=5)
        for peer in self.peers:
            with contextlib.suppress(OSError):
                peer.sock.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked in recv
            peer.close()
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def received(self) -> bytes:
        """Everything every connection sent, in accept order."""
        return b"".join(bytes(p.received) for p in self.peers)


@contextlib.contextmanager
def serving(handler: Handler, **kwargs: object) -> Iterator[ScriptedServer]:
    with ScriptedServer(handler, **kwargs) as server:  # type: ignore[arg-type]
        yield server
