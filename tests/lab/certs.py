"""Certificates for the lab, made with trustme: one CA per test session.

- ``server``: signed by the lab CA, valid for localhost, 127.0.0.1, 127.0.0.2
  and ::1. Every lab server uses it unless told otherwise.
- ``untrusted``: the same names, signed by a second CA that no client trusts.
- ``wrong_host``: signed by the lab CA, but only for ``wrong-host.example.test``.
- ``expired``: signed by the lab CA for the right names, expired a year ago.

Clients trust the lab CA and nothing else: :meth:`LabCertificates.client_context`.
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.lab.rules import PIP_HINT, LabUnavailable

SERVER_NAMES = ("localhost", "127.0.0.1", "127.0.0.2", "::1")
WRONG_HOST = "wrong-host.example.test"

CertKind = Literal["server", "untrusted", "wrong_host", "expired"]


@dataclass(frozen=True)
class ServerCert:
    """PEM files of one server certificate: the chain (leaf first) and its key."""

    kind: CertKind
    chain_file: Path
    key_file: Path
    names: tuple[str, ...]


class LabCertificates:
    """The session's CA, a second untrusted CA, and the server certificates.

    Files are written to ``directory``: ``ca.pem``, ``untrusted-ca.pem`` and
    ``<kind>.pem`` / ``<kind>.key`` for each kind.
    """

    def __init__(self, directory: Path) -> None:
        try:
            import trustme
        except ImportError:
            raise LabUnavailable("the Python package trustme is not installed", PIP_HINT) from None
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._ca = trustme.CA(organization_name="mailwire test lab CA")
        self._untrusted_ca = trustme.CA(organization_name="mailwire untrusted CA")
        now = dt.datetime.now(dt.UTC)
        leaves = {
            "server": (self._ca.issue_cert(*SERVER_NAMES), SERVER_NAMES),
            "untrusted": (self._untrusted_ca.issue_cert(*SERVER_NAMES), SERVER_NAMES),
            "wrong_host": (self._ca.issue_cert(WRONG_HOST), (WRONG_HOST,)),
            "expired": (
                self._ca.issue_cert(
                    *SERVER_NAMES,
                    not_before=now - dt.timedelta(days=730),
                    not_after=now - dt.timedelta(days=365),
                ),
                SERVER_NAMES,
            ),
        }
        self.ca_file = directory / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))
        self.untrusted_ca_file = directory / "untrusted-ca.pem"
        self._untrusted_ca.cert_pem.write_to_path(str(self.untrusted_ca_file))
        self._certs: dict[str, ServerCert] = {}
        self._leaves = {}
        for kind, (leaf, names) in leaves.items():
            chain = directory / f"{kind}.pem"
            chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
            key = directory / f"{kind}.key"
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(leaf.private_key_pem.bytes())
            self._certs[kind] = ServerCert(kind, chain, key, names)  # type: ignore[arg-type]
            self._leaves[kind] = leaf

    def cert(self, kind: CertKind = "server") -> ServerCert:
        return self._certs[kind]

    @property
    def server(self) -> ServerCert:
        return self._certs["server"]

    def client_context(self) -> ssl.SSLContext:
        """A client context that verifies, and trusts the lab CA only (no system CAs)."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def untrusting_client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only the *other* CA."""
        return ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(self.untrusted_ca_file)
        )

    def server_context(self, kind: CertKind = "server") -> ssl.SSLContext:
        """A server-side context presenting the certificate ``kind``."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._leaves[kind].configure_cert(ctx)
        return ctx

    def copy_to(self, directory: Path, kind: CertKind = "server") -> ServerCert:
        """Copy a chain and key into ``directory`` (for a daemon that reads files)."""
        cert = self._certs[kind]
        directory.mkdir(parents=True, exist_ok=True)
        chain = directory / "server.pem"
        chain.write_bytes(cert.chain_file.read_bytes())
        key = directory / "server.key"
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(cert.key_file.read_bytes())
        return ServerCert(kind, chain, key, cert.names)
