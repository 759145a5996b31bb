"""A throw-away certificate authority for the lab, made with trustme.

Every lab server presents one certificate, valid for ``localhost`` and
``127.0.0.1``, signed by a CA made for this run. The demo's clients trust
that CA and nothing else (``mailwire.tls.create_context(cafile=...)``), so
they verify the certificate and the host name exactly as they would on the
Internet: nothing is switched off to make the lab work.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from mailwire.demo._errors import require

if TYPE_CHECKING:
    import ssl

__all__ = ["SERVER_NAMES", "LabCertificates", "make_certificates"]

SERVER_NAMES = ("localhost", "127.0.0.1")


@dataclasses.dataclass(frozen=True)
class LabCertificates:
    """PEM files: the CA to trust, and the servers' chain (leaf first) and key."""

    ca_file: Path
    chain_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting the lab certificate (Python servers)."""
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.chain_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """mailwire's verifying client context, trusting the lab CA only."""
        from mailwire.tls import create_context

        return create_context(cafile=self.ca_file)


def make_certificates(directory: Path) -> LabCertificates:
    """Make a CA and a server certificate; write them into ``directory``."""
    require("trustme")
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA(organization_name="mailwire demo lab CA")
    leaf = authority.issue_cert(*SERVER_NAMES)
    certs = LabCertificates(
        ca_file=directory / "ca.pem",
        chain_file=directory / "server.pem",
        key_file=directory / "server.key",
    )
    authority.cert_pem.write_to_path(str(certs.ca_file))
    certs.chain_file.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    fd = os.open(certs.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(leaf.private_key_pem.bytes())
    return certs
