"""The lab's IMAP server: pymap's ``maildir`` backend over the same Maildirs.

pymap is an asyncio IMAP4rev1 server. The lab runs it inside the demo's own
asyncio thread (beside aiosmtpd) the way its ``pymap`` command would, with
``--host 127.0.0.1 --cert ... --key ... maildir <mail_root>``, except that
the listening socket is the lab's (bound to port 0 beforehand, so no port can
be taken between choosing it and listening on it).

pymap offers STARTTLS (RFC 3501 §6.2.1) and no implicit-TLS port. Its users
are two files in the base directory, read on every login:

- ``pymap-etc-passwd``: ``name:x:::comment:home:`` lines (passwd(5) shape),
  ``home`` relative to the base directory: ``<user>/Maildir``, where aiosmtpd
  delivers;
- ``pymap-etc-shadow``: ``name:hash:::::`` with a pysasl PBKDF2 hash. The
  lab hashes with 1000 rounds: the default 500000 costs about half a second
  per login, and this password lives for one run on loopback.

pymap keeps its UID list (``dovecot-uidlist``, Dovecot's format) inside the
Maildir and moves messages from new/ to cur/ as it sees them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
from collections.abc import Mapping
from pathlib import Path

from mailwire.demo._accounts import Account
from mailwire.demo._certs import LabCertificates

__all__ = ["start_pymap", "write_pymap_users"]

PBKDF2_ROUNDS = 1000


def write_pymap_users(mail_root: Path, accounts: Mapping[str, Account]) -> None:
    """Write pymap's passwd and shadow files for the lab accounts."""
    from pysasl.hashing import BuiltinHash

    hasher = BuiltinHash(rounds=PBKDF2_ROUNDS)
    passwd = "".join(f"{a.name}:x:::mailwire lab:{a.name}/Maildir:\r\n" for a in accounts.values())
    shadow = "".join(f"{a.name}:{hasher.hash(a.password)}:::::\r\n" for a in accounts.values())
    (mail_root / "pymap-etc-passwd").write_text(passwd, encoding="utf-8")
    shadow_file = mail_root / "pymap-etc-shadow"
    shadow_file.write_text(shadow, encoding="utf-8")
    shadow_file.chmod(0o600)


def _arguments(mail_root: Path, certs: LabCertificates) -> argparse.Namespace:
    """pymap's own command-line arguments, as its ``main`` builds them."""
    from pymap.backend.maildir import MaildirBackend
    from pymap.imap import IMAPService

    parser = argparse.ArgumentParser(prog="pymap")
    parser.add_argument("--debug", action="store_true")
    backends = parser.add_subparsers(dest="backend", required=True)
    MaildirBackend.add_subparser("maildir", backends)
    IMAPService.add_arguments(parser)
    parser.set_defaults(skip_services=[], passlib_cfg=None)
    argv = ["--cert", str(certs.chain_file), "--key", str(certs.key_file)]
    argv += ["--host", "127.0.0.1", "--port", "0", "maildir", str(mail_root)]
    return parser.parse_args(argv)


async def start_pymap(
    mail_root: Path,
    certs: LabCertificates,
    sock: socket.socket,
    stack: contextlib.AsyncExitStack,
) -> None:
    """Start pymap on ``sock`` (already bound); ``stack`` stops it.

    Must run inside the loop that serves it: pymap keeps its I/O subsystem in
    a context variable that each connection's task inherits from here.
    """
    from proxyprotocol.reader import ProxyProtocolReader
    from pymap.backend.maildir import MaildirBackend
    from pymap.imap import IMAPServer

    backend, config = await MaildirBackend.init(_arguments(mail_root, certs))
    config.apply_context()
    await backend.start(stack)
    # What pymap's IMAPService.start does, on the lab's socket.
    handler = ProxyProtocolReader(config.proxy_protocol).get_callback(
        IMAPServer(backend.login, config)
    )
    server = await asyncio.start_server(handler, sock=sock)
    await stack.enter_async_context(server)
