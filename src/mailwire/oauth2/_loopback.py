"""The one-shot loopback listener for the authorization redirect (RFC 8252 §7.3).

It listens on 127.0.0.1 only, on a port the system picks, answers the first
request to ``/`` with a static page (nothing from the request is echoed),
404 to anything else, and logs nothing: the request line carries the
authorization code. Idle connections (a browser's preconnects) are served in
their own threads and time out, so they cannot hold up the redirect.
"""

from __future__ import annotations

import http.server
import socketserver
import threading
import urllib.parse
from typing import Any, Final

__all__ = ["Listener"]

_PAGE: Final = (
    b"<!doctype html><html><head><meta charset=utf-8><title>mailwire</title></head>"
    b"<body><p>mailwire received the answer. You can close this tab.</p></body></html>"
)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    query: str | None = None
    done: threading.Event

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up our own name (getfqdn), which can stall on
        # DNS; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]


class _RedirectHandler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # an idle connection (a browser's preconnect) does not hold a thread
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        if parts.path != "/" or self.server.done.is_set():
            self._answer(404, b"not here")
            return
        self.server.query = parts.query
        self._answer(200, _PAGE)
        self.server.done.set()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line carries the authorization code."""


class Listener:
    """A one-shot HTTP listener on 127.0.0.1 for the authorization redirect."""

    def __init__(self, port: int) -> None:
        self._server = _Server(("127.0.0.1", port), _RedirectHandler)
        self._server.done = threading.Event()
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def wait(self, seconds: float) -> str | None:
        """The query of the first redirect, or ``None`` after ``seconds``."""
        if not self._server.done.wait(seconds):
            return None
        return self._server.query
