"""tls.py without a network: modes, ports, contexts."""

from __future__ import annotations

import pathlib
import ssl

import pytest
import trustme

from mailwire import TLSMode
from mailwire.tls import context_warnings, create_context, default_port, is_ip_literal


def test_modes() -> None:
    assert {m.value for m in TLSMode} == {"implicit", "starttls", "plain"}


@pytest.mark.parametrize(
    ("protocol", "mode", "port"),
    [
        ("smtp", TLSMode.IMPLICIT, 465),  # RFC 8314 §3.3
        ("smtp", TLSMode.STARTTLS, 587),  # RFC 6409
        ("smtp", TLSMode.PLAIN, 25),
        ("imap", TLSMode.IMPLICIT, 993),
        ("imap", TLSMode.STARTTLS, 143),
        ("pop3", TLSMode.IMPLICIT, 995),
        ("POP3", TLSMode.STARTTLS, 110),
    ],
)
def test_default_ports(protocol: str, mode: TLSMode, port: int) -> None:
    assert default_port(protocol, mode) == port


def test_unknown_protocol() -> None:
    with pytest.raises(ValueError, match="nntp"):
        default_port("nntp", TLSMode.IMPLICIT)


@pytest.mark.parametrize(
    ("host", "ip"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("fe80::1%eth0", True),
        ("localhost", False),
        ("mail.example", False),
        ("1.2.3.4.example", False),
    ],
)
def test_ip_literals(host: str, ip: bool) -> None:
    assert is_ip_literal(host) is ip


def test_default_context_is_strict() -> None:
    ctx = create_context()
    assert ctx.verify_mode is ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert ctx.keylog_filename is None
    assert context_warnings(ctx) == []


def test_context_with_ca_client_cert_and_keylog(tmp_path: pathlib.Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    client = ca.issue_cert("client@example.test")
    pem = tmp_path / "client.pem"
    client.private_key_and_cert_chain_pem.write_to_path(str(pem))
    ctx = create_context(cafile=ca_file, certfile=pem, keylog_file=tmp_path / "k.log")
    assert ctx.keylog_filename == str(tmp_path / "k.log")
    assert len(ctx.get_ca_certs()) == 1  # only the given CA, not the system store
    assert context_warnings(ctx) == [f"TLS session keys are written to {tmp_path / 'k.log'}"]


def test_loosened_context_is_reported() -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    warnings = context_warnings(ctx)
    assert any("not verified" in w for w in warnings)
    assert any("hostname" in w for w in warnings)
