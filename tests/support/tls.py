"""trustme certificates and TLS contexts for tests (loopback names only)."""

from __future__ import annotations

import dataclasses
import ssl

import trustme


@dataclasses.dataclass
class PKI:
    """A CA the client trusts, one it does not, and server contexts."""

    ca: trustme.CA
    other_ca: trustme.CA

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only the test CA (verification on)."""
        from mailwire.tls import create_context

        ctx = create_context()
        ctx.load_verify_locations(cadata=self.ca.cert_pem.bytes().decode())
        return ctx

    def ca_file(self, tmp_path: object) -> str:
        import pathlib

        path = pathlib.Path(str(tmp_path)) / "ca.pem"
        self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def server_context(
        self, *names: str, ca: trustme.CA | None = None, **tls: object
    ) -> ssl.SSLContext:
        """A server context with a certificate for ``names`` from ``ca``."""
        cert = (ca or self.ca).issue_cert(*(names or ("localhost", "127.0.0.1", "::1")))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        for key, value in tls.items():
            setattr(ctx, key, value)
        return ctx


def make_pki() -> PKI:
    return PKI(ca=trustme.CA(), other_ca=trustme.CA())
