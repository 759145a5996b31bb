"""The lab's POP3 server: Twisted's ``twisted.mail.pop3.POP3`` over the Maildirs.

Twisted brings the protocol (RFC 1939: USER/PASS, APOP, STAT, LIST, UIDL,
RETR, TOP, DELE, RSET, QUIT, and RFC 2449 CAPA); the lab brings a mailbox
and five small fixes, each marked where it lives:

1. The mailbox. Twisted's own ``MaildirMailbox`` opens message files in
   text mode, so RETR and TOP fail on Python 3 (``replace() argument 1 must
   be str, not bytes``). :class:`MaildirMailbox` here reads bytes through the
   stdlib :class:`mailbox.Maildir`, and serves them with LF line ends,
   because Twisted turns every LF into CRLF as it sends: a file stored with
   CRLF (some delivery agents write them so; the lab's writes LF) would go
   out as CR CR LF.
2. STLS (RFC 2595 §4), which Twisted's server lacks: :meth:`LabPOP3.do_STLS`.
3. APOP (RFC 1939 §7) always fails on Python 3: Twisted compares the hex
   digest as ``str`` with the one read from the wire as ``bytes``.
4. Dot-stuffing (RFC 1939 §3) is done chunk by chunk, so a line starting
   with "." right after a 16 KiB chunk boundary would go out unstuffed and
   end the message early; :meth:`LabPOP3.transformChunk` remembers the line
   end across chunks.
5. SASL PLAIN (RFC 5034, RFC 4616). Twisted's AUTH reads every answer as
   "user SP digest" (CRAM-MD5's shape) and takes no initial response, so
   PLAIN cannot work; the lab handles it itself, offered inside TLS only.
   Without it a password that is not ASCII could not log in at all: USER and
   PASS carry UTF-8 only where the server offers UTF8 USER (RFC 6856 §2.2).

The reactor runs in a thread of the demo's process (:class:`TwistedThread`);
``stop`` stops it and closes every listener.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import io
import mailbox
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, ClassVar

from mailwire.demo._accounts import Account
from mailwire.demo._certs import LabCertificates
from mailwire.demo._lab import signals_to_main_thread
from mailwire.demo._smtp_server import maildir_path

__all__ = ["TwistedThread"]


def _twisted(name: str) -> Any:
    """A Twisted module, typed as Any.

    Twisted declares its interfaces with zope.interface, which mypy can only
    follow with the mypy-zope plugin; without it, reactor methods and
    interface providers come out wrong. The lab keeps Twisted dynamic.
    """
    return importlib.import_module(f"twisted.{name}")


class MaildirMailbox:
    """A snapshot of one Maildir INBOX, taken at login (RFC 1939 §4: the
    maildrop is locked for the session, so it does not change under the client).

    Built on Twisted's ``pop3.Mailbox`` base class by :func:`_mailbox_class`,
    so that this module imports nothing from Twisted until the lab starts.
    """

    def __init__(self, path: Path) -> None:
        self._maildir = mailbox.Maildir(path, create=False)
        # Oldest first: Maildir names begin with the delivery time.
        self._keys = sorted(self._maildir.keys())
        self._deleted: set[int] = set()
        self._sizes = [self._wire_size(key) for key in self._keys]

    def _lf_bytes(self, key: str) -> bytes:
        return self._maildir.get_bytes(key).replace(b"\r\n", b"\n")

    def _wire_size(self, key: str) -> int:
        # RFC 1939 §5 (LIST): the size as sent, with CRLF line ends.
        data = self._lf_bytes(key)
        return len(data) + data.count(b"\n")

    def _check(self, index: int) -> None:
        if not 0 <= index < len(self._keys):
            raise ValueError(f"no message {index + 1}")

    def listMessages(self, i: int | None = None) -> Any:
        if i is None:
            return [0 if n in self._deleted else size for n, size in enumerate(self._sizes)]
        self._check(i)
        return 0 if i in self._deleted else self._sizes[i]

    def getMessage(self, i: int) -> IO[bytes]:
        self._check(i)
        return io.BytesIO(self._lf_bytes(self._keys[i]))

    def getUidl(self, i: int) -> bytes:
        # RFC 1939 §7: unique and persistent; the Maildir name without its
        # ":2,flags" info is both (the same key the IMAP server sees).
        self._check(i)
        return self._keys[i].encode("ascii")

    def deleteMessage(self, i: int) -> None:
        self._check(i)
        self._deleted.add(i)

    def undeleteMessages(self) -> None:
        self._deleted.clear()

    def sync(self) -> None:
        # Called at QUIT (the UPDATE state, RFC 1939 §6).
        for index in sorted(self._deleted):
            self._maildir.discard(self._keys[index])
        self._deleted.clear()


def _mailbox_class() -> type[MaildirMailbox]:
    pop3 = _twisted("mail.pop3")
    # Twisted's Mailbox declares IMailbox (zope.interface) for us.
    return type("TwistedMaildirMailbox", (MaildirMailbox, pop3.Mailbox), {})


def _protocol_class() -> type[Any]:
    interfaces, pop3 = _twisted("internet.interfaces"), _twisted("mail.pop3")
    credentials = _twisted("cred.credentials")

    class LabPOP3(pop3.POP3):  # type: ignore[name-defined, misc]
        """Twisted's POP3 server with the fixes listed in the module docstring."""

        tls_options: Any = None
        AUTH_CMDS: ClassVar[list[bytes]] = [*pop3.POP3.AUTH_CMDS, b"STLS"]
        _at_line_start = True

        def _tls_active(self) -> bool:
            return interfaces.ISSLTransport(self.transport, None) is not None

        def listCapabilities(self) -> list[bytes]:
            # Twisted also lists CELERITY, AUSPEX and POTENCE, which are jokes.
            caps = [
                cap
                for cap in super().listCapabilities()
                if cap.split()[0] not in {b"CELERITY", b"AUSPEX", b"POTENCE"}
            ]
            if self._tls_active():
                caps.append(b"SASL PLAIN")
            elif self.tls_options is not None:
                caps.append(b"STLS")
            return caps

        def do_AUTH(
            self, mechanism: bytes | None = None, initial: bytes | None = None
        ) -> None:  # fix 5
            if mechanism is None or mechanism.upper() != b"PLAIN" or not self._tls_active():
                self.failResponse(b"SASL PLAIN only, and only inside TLS")
                return
            if initial is None:  # RFC 5034 §4: no initial response, so ask for it
                self.sendLine(b"+ ")
                self.state = "PLAIN"
                return
            self._plain(b"" if initial == b"=" else initial)

        def state_PLAIN(self, line: bytes) -> None:
            self.state = "COMMAND"
            if line == b"*":  # RFC 5034 §4: the client cancels
                self.failResponse(b"AUTH cancelled")
                return
            self._plain(line)

        def _plain(self, encoded: bytes) -> None:
            try:
                authzid, user, password = base64.b64decode(encoded, validate=True).split(b"\0")
            except (binascii.Error, ValueError):
                self.failResponse(b"malformed AUTH PLAIN response (RFC 4616, section 2)")
                return
            if authzid not in {b"", user}:
                self.failResponse(b"[AUTH] acting as another user is not allowed here")
                return
            login = self.portal.login(
                credentials.UsernamePassword(user, password), None, pop3.IMailbox
            )
            login.addCallback(self._cbMailbox, user)
            login.addErrback(self._ebMailbox)
            login.addErrback(self._ebUnexpected)

        def do_STLS(self) -> None:
            if self.tls_options is None or self._tls_active() or self.mbox is not None:
                self.failResponse(b"STLS not available now")
                return
            self.successResponse(b"Begin TLS negotiation now")
            self.transport.startTLS(self.tls_options)

        def authenticateUserAPOP(self, user: bytes, digest: bytes) -> Any:
            # Fix 3: compare the digest as bytes.
            magic = self.magic or b""

            class Credentials(pop3.APOPCredentials):  # type: ignore[name-defined, misc]
                def checkPassword(self, password: bytes) -> bool:
                    expected = hashlib.md5(magic + password).hexdigest().encode()  # noqa: S324
                    return hmac.compare_digest(expected, digest)

            return self.portal.login(Credentials(magic, user, digest), None, pop3.IMailbox)

        def do_RETR(self, i: bytes) -> Any:
            self._at_line_start = True  # the status line ended with CRLF
            return super().do_RETR(i)

        def do_TOP(self, i: bytes, size: bytes) -> Any:
            self._at_line_start = True
            return super().do_TOP(i, size)

        def transformChunk(self, chunk: bytes) -> bytes:
            if not chunk:
                return chunk
            out = chunk.replace(b"\n", b"\r\n")
            if self._at_line_start and out.startswith(b"."):
                out = b"." + out
            self._at_line_start = out.endswith(b"\n")
            return out.replace(b"\r\n.", b"\r\n..")

    return LabPOP3


class _Realm:
    """Twisted's cred realm: a logged-in user gets a snapshot of their INBOX."""

    def __init__(self, mail_root: Path) -> None:
        self.mail_root = mail_root
        self.mailbox_class = _mailbox_class()

    def requestAvatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
        pop3 = _twisted("mail.pop3")
        if pop3.IMailbox not in interfaces:
            raise NotImplementedError("the lab serves POP3 mailboxes only")
        name = avatar_id.decode() if isinstance(avatar_id, bytes) else str(avatar_id)
        box = self.mailbox_class(maildir_path(self.mail_root, name))
        return pop3.IMailbox, box, lambda: None


class TwistedThread:
    """Twisted's reactor in a daemon thread, serving POP3 with STLS and POP3S.

    Ports are chosen by the kernel (port 0), so nothing can race for them.
    """

    def __init__(
        self, mail_root: Path, accounts: Mapping[str, Account], certs: LabCertificates
    ) -> None:
        self.mail_root = mail_root
        self.accounts = accounts
        self.certs = certs
        self.ports: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self._reactor: Any = None
        self._listeners: list[Any] = []

    def start(self, host: str) -> None:
        checkers, portal = _twisted("cred.checkers"), _twisted("cred.portal")
        protocol, ssl = _twisted("internet.protocol"), _twisted("internet.ssl")
        pem = self.certs.chain_file.read_bytes() + self.certs.key_file.read_bytes()
        tls_options = ssl.PrivateCertificate.loadPEM(pem).options()
        # An in-memory user table is what Twisted offers for tests and labs.
        checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(
            **{a.name: a.password.encode("utf-8") for a in self.accounts.values()}
        )
        door = portal.Portal(_Realm(self.mail_root), [checker])
        protocol_class = _protocol_class()

        class Factory(protocol.ServerFactory):  # type: ignore[name-defined, misc]
            def __init__(self, tls: Any) -> None:
                self.portal, self.tls = door, tls

            def buildProtocol(self, addr: Any) -> Any:
                proto = protocol_class()
                proto.factory, proto.portal, proto.tls_options = self, self.portal, self.tls
                return proto

        # Importing the reactor installs Twisted's default one (epoll on Linux).
        reactor = _twisted("internet.reactor")
        self._reactor = reactor
        plain = reactor.listenTCP(0, Factory(tls_options), interface=host)
        implicit = reactor.listenSSL(0, Factory(None), tls_options, interface=host)
        self._listeners = [plain, implicit]
        self.ports = {"pop3": plain.getHost().port, "pop3s": implicit.getHost().port}
        self._thread = threading.Thread(
            target=signals_to_main_thread(lambda: reactor.run(installSignalHandlers=False)),
            name="mailwire-lab-twisted",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        reactor, thread = self._reactor, self._thread
        if reactor is None:
            return
        if thread is not None and thread.is_alive():
            reactor.callFromThread(reactor.stop)
            thread.join(timeout)
        else:  # never ran: close the listening sockets ourselves
            for listener in self._listeners:
                listener.stopListening()
        self._reactor = self._thread = None
        self._listeners = []
