"""TLS configuration at the client level: security.md S33-S37.

Certificates come from tests/support/tls.py (trustme: a CA the client trusts and
one it does not). ``ssl.SSLCertVerificationError`` propagates unchanged
(ARCHITECTURE.md §3); other handshake failures are ``SecurityError`` chained
from the ``ssl.SSLError``.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from typing import Any

import pytest

from mailwire import ConnectionLost, MailwireError, SecurityError, TLSMode
from mailwire.tls import create_context
from mailwire.transcript import Direction, Kind
from tests.lab import SmtpLab
from tests.security.smtp_support import PKI, FakeSMTP, Sync, kind, pki
from tests.support.server import Peer, ScriptedServer

__all__ = ["kind", "pki"]

MESSAGE = b"From: a@x.test\r\nTo: b@x.test\r\nSubject: s\r\n\r\nbody\r\n"
EHLO = b"250-mx.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"


def client(kind: str, host: str, srv: FakeSMTP, mode: TLSMode, ctx: ssl.SSLContext) -> Sync:
    return Sync(
        kind, host, srv.port, tls=mode, ssl_context=ctx, timeout=5, local_hostname="client.test"
    )


def implicit(ctx: ssl.SSLContext) -> FakeSMTP:
    return FakeSMTP(tls_context=ctx, implicit_tls=True)


def starttls(ctx: ssl.SSLContext) -> FakeSMTP:
    return FakeSMTP(tls_context=ctx, ehlo=EHLO)


def no_application_bytes_after_tls_started(c: Sync) -> None:
    """The client's transcript: not one plaintext byte written after the handshake began."""
    records = c.client.transcript.records
    start = next(i for i, r in enumerate(records) if r.kind is Kind.TLS)
    after = [r for r in records[start:] if r.kind is Kind.DATA and r.direction is Direction.CLIENT]
    assert after == []


def nothing_else_is_sent(c: Sync, srv: FakeSMTP) -> None:
    before = srv.received
    for attempt in (lambda: c.login("user", "password"), lambda: c.send_message(MESSAGE)):
        with pytest.raises(MailwireError):
            attempt()
    time.sleep(0.05)
    assert srv.received == before
    assert srv.server.accepts == 1


MODES = [
    pytest.param(TLSMode.IMPLICIT, implicit, id="implicit"),
    pytest.param(TLSMode.STARTTLS, starttls, id="starttls"),
]

# ---------------------------------------------------------------------- S33


@pytest.mark.parametrize(("mode", "server"), MODES)
def test_s33_untrusted_ca(kind: str, pki: PKI, mode: TLSMode, server: Any) -> None:
    """S33: a certificate from a CA the client does not trust is refused."""
    with (
        server(pki.server_context(ca=pki.other_ca)) as srv,
        client(kind, "localhost", srv, mode, pki.client_context()) as c,
    ):
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            c.connect()
        assert "unable to get local issuer certificate" in info.value.verify_message
        no_application_bytes_after_tls_started(c)
        nothing_else_is_sent(c, srv)
        notes = [r.note or "" for r in c.client.transcript.records]
        assert any("certificate refused" in note for note in notes)
    if mode is TLSMode.STARTTLS:
        assert [line.split()[0] for line in srv.commands] == [b"EHLO", b"STARTTLS"]
    else:
        assert srv.commands == []


def test_s33_default_context_verifies(kind: str, pki: PKI) -> None:
    """S33: without ``ssl_context`` the system store is used, which knows no test CA."""
    with (
        implicit(pki.server_context()) as srv,
        Sync(kind, "localhost", srv.port, timeout=5) as c,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        c.connect()
    assert srv.commands == []


# ---------------------------------------------------------------------- S34


@pytest.mark.parametrize(("mode", "server"), MODES)
@pytest.mark.parametrize(
    ("names", "host", "why"),
    [
        (("other.example",), "localhost", "Hostname mismatch"),
        (("localhost",), "127.0.0.1", "IP address mismatch"),
    ],
    ids=["name", "ip-without-ip-san"],
)
def test_s34_hostname_mismatch(
    kind: str, pki: PKI, mode: TLSMode, server: Any, names: tuple[str, ...], host: str, why: str
) -> None:
    """S34: a trusted certificate for another name is refused."""
    with (
        server(pki.server_context(*names)) as srv,
        client(kind, host, srv, mode, pki.client_context()) as c,
    ):
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            c.connect()
        assert why in info.value.verify_message
        nothing_else_is_sent(c, srv)


def test_s34_ip_san_matches(kind: str, pki: PKI) -> None:
    """Control: with an IP SAN the same connection to 127.0.0.1 is fine."""
    with (
        implicit(pki.server_context("127.0.0.1")) as srv,
        client(kind, "127.0.0.1", srv, TLSMode.IMPLICIT, pki.client_context()) as c,
    ):
        c.connect()
        assert c.client.connection.tls_active
        c.quit()


# ---------------------------------------------------------------------- S35


@pytest.mark.parametrize(("mode", "server"), MODES)
@pytest.mark.parametrize(
    ("host", "sni"), [("localhost", "localhost"), ("127.0.0.1", None)], ids=["name", "ip"]
)
def test_s35_sni(
    kind: str, pki: PKI, mode: TLSMode, server: Any, host: str, sni: str | None
) -> None:
    """S35: SNI is the host name, none for an IP literal (RFC 6066 §3), in both modes."""
    with (
        server(pki.server_context("localhost", "127.0.0.1")) as srv,
        client(kind, host, srv, mode, pki.client_context()) as c,
    ):
        c.connect()
        c.quit()
    assert srv.server.sni_names == [sni]


# ---------------------------------------------------------------------- S36


def _tls11_server_context(pki: PKI) -> ssl.SSLContext:
    """A server that speaks TLS 1.1 only, or a skip if this OpenSSL cannot."""
    ctx = pki.server_context()
    try:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ssl.SSLError, ValueError) as exc:
        pytest.skip(f"this OpenSSL cannot serve TLS 1.1: {exc}")
    # Prove the server really can: a client that allows TLS 1.1 completes a handshake.
    probe = ssl.create_default_context()
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    try:
        probe.set_ciphers("DEFAULT:@SECLEVEL=0")
        probe.minimum_version = ssl.TLSVersion.TLSv1_1
    except (ssl.SSLError, ValueError) as exc:
        pytest.skip(f"this OpenSSL cannot speak TLS 1.1: {exc}")
    versions: list[str | None] = []

    def handshake(peer: Peer) -> None:
        versions.append(getattr(peer.sock, "version", lambda: None)())

    import socket

    with ScriptedServer(handshake, tls_context=ctx, implicit_tls=True) as server:
        try:
            with (
                socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
                probe.wrap_socket(raw) as tls,
            ):
                tls.version()
        except (ssl.SSLError, OSError) as exc:
            pytest.skip(f"this OpenSSL cannot complete a TLS 1.1 handshake: {exc}")
    if versions != ["TLSv1.1"]:
        pytest.skip(f"TLS 1.1 probe negotiated {versions}")
    return ctx


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
@pytest.mark.parametrize(("mode", "server"), MODES)
def test_s36_tls_1_1_server_is_refused(kind: str, pki: PKI, mode: TLSMode, server: Any) -> None:
    """S36: the default floor is TLS 1.2 (RFC 8996): a TLS 1.1-only server fails."""
    with (
        server(_tls11_server_context(pki)) as srv,
        client(kind, "localhost", srv, mode, pki.client_context()) as c,
    ):
        with pytest.raises(SecurityError) as info:
            c.connect()
        assert isinstance(info.value.__cause__, ssl.SSLError)
        no_application_bytes_after_tls_started(c)
        nothing_else_is_sent(c, srv)


def test_s36_default_context_floor() -> None:
    ctx = create_context()
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname


@pytest.mark.parametrize(
    ("loosen", "names", "ca", "warning"),
    [
        (
            {"check_hostname": False, "verify_mode": ssl.CERT_NONE},
            ("localhost",),
            "other",
            "server certificate is not verified",
        ),
        ({"check_hostname": False}, ("other.example",), "ours", "server hostname is not checked"),
    ],
    ids=["verify-off", "hostname-off"],
)
def test_s36_loosened_context_is_written_down(
    kind: str, pki: PKI, loosen: dict[str, Any], names: tuple[str, ...], ca: str, warning: str
) -> None:
    """S36: a weaker caller context is the caller's explicit choice, and the
    transcript says so (the server here would fail a verifying client)."""
    ctx = pki.client_context()
    for key, value in loosen.items():
        setattr(ctx, key, value)
    server_ctx = pki.server_context(*names, ca=pki.other_ca if ca == "other" else None)
    with (
        implicit(server_ctx) as srv,
        client(kind, "localhost", srv, TLSMode.IMPLICIT, ctx) as c,
    ):
        c.connect()
        c.quit()
        text = c.client.transcript.render()
    assert any(line.startswith("# event: warning: " + warning) for line in text.splitlines())


def test_s36_caller_context_as_strict_as_ours_gives_no_warning(kind: str, pki: PKI) -> None:
    with (
        implicit(pki.server_context()) as srv,
        client(kind, "localhost", srv, TLSMode.IMPLICIT, pki.client_context()) as c,
    ):
        c.connect()
        c.quit()
        text = c.client.transcript.render()
    assert "warning" not in text


# ---------------------------------------------------------------------- S37


def test_s37_no_plaintext_fallback_after_implicit_tls_fails(kind: str) -> None:
    """S37: implicit TLS to a plaintext server: one accept, no plaintext retry."""
    seen: list[bytes] = []

    def plaintext_server(peer: Peer) -> None:
        peer.send(b"220 mx.test ESMTP (no TLS here)\r\n")
        seen.append(peer.recv_until_eof())

    with ScriptedServer(plaintext_server) as server:
        with Sync(kind, "127.0.0.1", server.port, timeout=5) as c:
            with pytest.raises((SecurityError, ConnectionLost)):
                c.connect()
            with pytest.raises(MailwireError):
                c.send_message(MESSAGE)
        time.sleep(0.1)
    assert server.accepts == 1
    assert seen
    assert seen[0].startswith(b"\x16\x03")
    assert b"EHLO" not in server.received


@pytest.mark.parametrize(("mode", "server"), MODES)
def test_s37_no_downgrade_by_reuse(kind: str, pki: PKI, mode: TLSMode, server: Any) -> None:
    """S37: after a failed handshake the same client object never talks in the clear,
    not even when told to connect again."""
    with (
        server(pki.server_context(ca=pki.other_ca)) as srv,
        client(kind, "localhost", srv, mode, pki.client_context()) as c,
    ):
        with pytest.raises(ssl.SSLCertVerificationError):
            c.connect()
        first = srv.received
        with pytest.raises(MailwireError):
            c.connect()  # a second TCP connection, but no TLS-less session on it
        with pytest.raises(MailwireError):
            c.send_message(MESSAGE)
        time.sleep(0.1)
    after = srv.received[len(first) :]
    assert b"EHLO" not in after
    assert b"MAIL" not in after
    assert b"AUTH" not in after


# ------------------------------------------------- S33/S34 against aiosmtpd


@pytest.mark.parametrize(
    ("cert", "why"),
    [
        ("untrusted", "unable to get local issuer certificate"),
        ("wrong_host", "Hostname mismatch"),
        ("expired", "certificate has expired"),
    ],
)
@pytest.mark.parametrize("mode", [TLSMode.IMPLICIT, TLSMode.STARTTLS], ids=["implicit", "starttls"])
def test_s33_s34_against_aiosmtpd(
    kind: str, make_smtp_lab: Callable[..., SmtpLab], cert: str, why: str, mode: TLSMode
) -> None:
    """S33/S34 with a real server: the lab's bad certificates are refused, and the
    server sees no command after STARTTLS (no AUTH, no MAIL)."""
    lab = make_smtp_lab(cert=cert)
    port = lab.tls_port if mode is TLSMode.IMPLICIT else lab.starttls_port
    with Sync(kind, "localhost", port, tls=mode, ssl_context=lab.client_context(), timeout=5) as c:
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            c.connect()
        assert why in info.value.verify_message
        for attempt in (
            lambda: c.login("alice", "alice-password"),
            lambda: c.send_message(MESSAGE),
        ):
            with pytest.raises(MailwireError):
                attempt()
    time.sleep(0.05)
    verbs = [line.split()[0].upper() for line in lab.commands]
    assert verbs == ([] if mode is TLSMode.IMPLICIT else [b"EHLO", b"STARTTLS"])
    assert lab.messages == []
