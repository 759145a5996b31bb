"""Every SMTP scenario of MailKit's manifest, replayed through the real clients.

``shared/corpora/mailkit/manifest/smtp.json`` holds 43 scenarios: the bytes
MailKit's client wrote and the replies real servers (Comcast, RFC 821
examples) sent back. :class:`tests.differential.smtp_replay.SMTPReplay` serves
each one from the manifest and fails on the first byte our client writes that
MailKit did not. Each scenario runs under ``smtp.Client`` and
``smtp.AsyncClient``; ``PLAYS`` says which client calls reproduce it.

The core tests (tests/unit/smtp/test_mailkit_replay.py) check the bytes of
each command; this file checks the *decisions* the clients make: which
command comes next, which SASL mechanism, BODY=8BITMIME or not, RSET after a
refusal, HELO after a failed EHLO.

Where our client differs from MailKit by design, the play says so and asserts
it (never a silent skip):

======================================  ==============================================
MailKit                                 mailwire, and why
======================================  ==============================================
RSET after a refused MAIL FROM          no RSET: no transaction is open (RFC 5321
                                        §4.1.1.2, §3.3); the play calls ``rset()``
HELO after ``504`` to EHLO              HELO only after 500/502 (RFC 5321 §4.1.4, issue
                                        8); replayed as is (stops) and with 502 (goes on)
PLAIN ``534``, then LOGIN by itself     no automatic second mechanism (security.md S39);
                                        the play asks for LOGIN explicitly
DIGEST-MD5                              not implemented (RFC 6331 made it Historic):
                                        refused with ValueError, nothing sent
DATA after the RCPT replies             DATA in the MAIL/RCPT group (RFC 2920 §3.1): a
                                        DATA reply is inserted where no RCPT was accepted
REQUIRETLS over plaintext               refused (RFC 8689 §4.1: only over TLS); replayed
                                        over implicit TLS instead
======================================  ==============================================
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.message
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailwire import (
    AuthenticationError,
    ConnectionLost,
    MailwireError,
    NotSupportedError,
    RecipientRefused,
    SecurityError,
    SenderRefused,
    SMTPReplyError,
    TLSMode,
)
from tests.differential.smtp_replay import SMTPReplay, Step, scenarios, steps_of
from tests.security.smtp_support import PKI, Sync, kind, pki

__all__ = ["kind", "pki"]

SCENARIOS = scenarios()
USER, PASSWORD = "username", "password"  # what MailKit's tests log in with
NAME = "unit-tests.mimekit.org"  # MailKit's test EHLO name
SENDER, RECIPIENT = "sender@example.com", "recipient@example.com"
SEVEN_BIT = (
    b"From: sender@example.com\r\nTo: recipient@example.com\r\nSubject: test\r\n\r\n"
    b"This is a test.\r\n.A line with a dot.\r\n"
)
EIGHT_BIT = SEVEN_BIT.replace(b"This is a test.", "Ceci est un été test.".encode())


@dataclasses.dataclass
class Play:
    """How a scenario is reproduced.

    Attributes:
        run: the client calls, given the connected client.
        note: what is reproduced, and any difference from MailKit.
        client: extra client arguments.
        stops_after: the client ends the session after this many steps (a
            refusal by design); ``None``: the whole scenario.
        insert, replace_reply, allow_after: documented edits of the script
            (see smtp_replay.steps_of and SMTPReplay).
        tls: serve the scenario over implicit TLS.
        connect: ``False`` when ``run`` calls ``connect`` itself.
        host: the address to serve on.
        hostname_unqualified: make this host's name unqualified, so the EHLO
            name is the address literal (RFC 5321 §4.1.4).
    """

    run: Callable[[Sync], None]
    note: str
    client: dict[str, Any] = dataclasses.field(default_factory=dict)
    stops_after: int | None = None
    insert: dict[int, list[Step]] = dataclasses.field(default_factory=dict)
    replace_reply: dict[int, bytes] = dataclasses.field(default_factory=dict)
    allow_after: tuple[bytes, ...] = ()
    tls: bool = False
    connect: bool = True
    host: str = "127.0.0.1"
    hostname_unqualified: bool = False


# ------------------------------------------------------------ the client calls


def just_quit(c: Sync) -> None:
    c.quit()


def just_close(c: Sync) -> None:
    c.close()


def plain_login_quit(c: Sync) -> None:
    assert c.login(USER, PASSWORD).code == 235  # AUTH PLAIN with SASL-IR (RFC 4954 §4)
    c.quit()


def login_login_quit(c: Sync) -> None:
    assert c.login(USER, PASSWORD, mechanisms=["LOGIN"]).code == 235
    c.quit()


def redacted(c: Sync) -> None:
    text = c.client.transcript.render()
    assert "dXNlcm5hbWU=" not in text  # base64("username"), marked secret as well
    assert "cGFzc3dvcmQ=" not in text  # base64("password")
    assert "AHVzZXJuYW1lAHBhc3N3b3Jk" not in text
    assert "<redacted" in text


def redact_login(c: Sync) -> None:
    login_login_quit(c)
    redacted(c)


def redact_plain(c: Sync) -> None:
    plain_login_quit(c)
    redacted(c)


def send_without_envelope(c: Sync) -> None:
    headerless = b"Subject: no addresses\r\n\r\nbody\r\n"
    with pytest.raises(ValueError, match="sender"):
        c.send_message(headerless)
    with pytest.raises(ValueError, match="recipient"):
        c.send_message(headerless, sender=SENDER)
    c.quit()


def invalid_states(c: Sync) -> None:
    for _ in range(2):
        with pytest.raises(SenderRefused) as sender:
            c.send_message(SEVEN_BIT)
        assert sender.value.code == 530
        c.rset()  # MailKit resets here; with no transaction open we need not
        with pytest.raises(RecipientRefused) as recipient:
            c.send_message(SEVEN_BIT)  # RSET follows by itself: MAIL was accepted
        assert recipient.value.code == 530
    plain_login_quit(c)


def starttls_not_supported(c: Sync) -> None:
    with pytest.raises(MailwireError) as info:
        c.connect()
    assert not isinstance(info.value, SMTPReplyError) or info.value.code == 504


def starttls_not_supported_502(c: Sync) -> None:
    with pytest.raises(SecurityError, match="STARTTLS"):
        c.connect()  # EHLO 502, HELO 250 without extensions: no STARTTLS


def service_not_ready(c: Sync) -> None:
    with pytest.raises(MailwireError):
        c.connect()  # 221 is no greeting (RFC 5321 §3.1)


def helo_fallback_504(c: Sync) -> None:
    with pytest.raises(SMTPReplyError) as info:
        c.connect()
    assert info.value.code == 504
    c.close()


def helo_fallback_502(c: Sync) -> None:
    caps = c.connect()
    assert not caps.esmtp  # after HELO: no extensions (RFC 5321 §4.1.1.1)
    c.quit()


def helo_error_502(c: Sync) -> None:
    with pytest.raises(SMTPReplyError) as info:
        c.connect()
    assert info.value.code == 504  # HELO's own refusal


def basic_functionality(c: Sync) -> None:
    assert c.login(USER, PASSWORD, mechanisms=["LOGIN"]).code == 235
    assert c.vrfy("Smith").text == "Fred Smith <Smith@USC-ISIF.ARPA>"
    assert len(c.expn("Example-People").lines) == 6
    assert c.noop().code == 250
    for _ in range(2):
        result = c.send_message(SEVEN_BIT)
        assert list(result.accepted) == [RECIPIENT]
    results = c.send_messages([SEVEN_BIT, (SEVEN_BIT, SENDER, [RECIPIENT])])
    assert [list(r.accepted) for r in results] == [[RECIPIENT], [RECIPIENT]]
    c.quit()


def x_exps(c: Sync) -> None:
    caps = c.client.capabilities
    assert "X-EXPS" in caps
    assert caps.params("X-EXPS") == ("LOGIN", "PLAIN")
    assert caps.auth == ()  # X-EXPS is not AUTH
    c.quit()


def resend(c: Sync) -> None:
    assert c.login(USER, PASSWORD, mechanisms=["LOGIN"]).code == 235
    msg = email.message.EmailMessage()
    msg["From"] = "from@example.com"
    msg["To"] = "to@example.com"
    msg["Subject"] = "resent"
    msg["Resent-Date"] = "Fri, 27 Nov 2026 12:00:00 +0000"
    msg["Resent-Sender"] = "resent-sender@example.com"
    msg["Resent-From"] = "resent-from@example.com"
    msg["Resent-To"] = "resent-to@example.com"
    msg["Resent-Cc"] = "resent-cc@example.com"
    msg["Resent-Bcc"] = "resent-bcc@example.com"
    msg.set_content("hello\n")
    c.send_message(msg)  # RFC 5322 §3.6.6: the resent block gives the envelope
    del msg["Resent-Sender"]
    c.send_message(msg)  # without Resent-Sender, Resent-From is the sender
    c.quit()


def noop_twice(c: Sync) -> None:
    assert c.noop().code == 250
    assert c.noop().code == 503  # NOOP returns the reply; any code
    c.quit()


def authentication_failed(c: Sync) -> None:
    for mechanisms in (None, ["LOGIN"], None):
        with pytest.raises(AuthenticationError, match="535"):
            c.login(USER, PASSWORD, mechanisms=mechanisms)
    c.quit()


def too_weak(c: Sync) -> None:
    with pytest.raises(AuthenticationError, match="534"):
        c.login(USER, PASSWORD, mechanisms=["LOGIN"])
    c.quit()


def too_weak_no_fallback(c: Sync) -> None:
    with pytest.raises(AuthenticationError, match="534"):
        c.login(USER, PASSWORD)  # PLAIN refused: no second mechanism by itself (S39)
    assert c.login(USER, PASSWORD, mechanisms=["LOGIN"]).code == 235  # the caller's choice
    c.quit()


def digest_md5(c: Sync) -> None:
    assert "DIGEST-MD5" in c.client.capabilities.auth
    with pytest.raises(ValueError, match="DIGEST-MD5"):
        c.login(USER, PASSWORD, mechanisms=["DIGEST-MD5"])
    c.close()


def eight_bit_mime(c: Sync) -> None:
    plain_login_quit_keep(c)
    c.send_message(EIGHT_BIT)  # 8-bit content: BODY=8BITMIME (RFC 6152 §3)
    c.quit()


def plain_login_quit_keep(c: Sync) -> None:
    assert c.login(USER, PASSWORD).code == 235


def international(c: Sync) -> None:
    plain_login_quit_keep(c)
    utf8 = "From: séndér@exämple.com\r\nTo: réçipient@exämple.com\r\nSubject: ü\r\n\r\nx\r\n"
    c.send_message(utf8.encode())  # SMTPUTF8 (RFC 6531 §3.4) and BODY=8BITMIME
    c.send_message(EIGHT_BIT)  # ASCII addresses and header: BODY=8BITMIME only
    c.quit()


def binary_mime(c: Sync) -> None:
    plain_login_quit_keep(c)
    binary = SEVEN_BIT + bytes(range(256)) + b"\r\n"
    result = c.send_message(binary, binarymime=True)  # BODY=BINARYMIME, BDAT (RFC 3030)
    assert list(result.accepted) == [RECIPIENT]
    c.quit()


def pipelining(c: Sync) -> None:
    plain_login_quit_keep(c)
    assert c.client.capabilities.pipelining
    c.send_message(EIGHT_BIT)
    c.quit()


def mail_refused_then_rset(code: int, rset: str, *, login: bool = True) -> Callable[[Sync], None]:
    def run(c: Sync) -> None:
        if login:
            plain_login_quit_keep(c)
        with pytest.raises(SenderRefused) as info:
            c.send_message(SEVEN_BIT)
        assert info.value.code == code
        if rset == "lost":
            with pytest.raises(ConnectionLost):
                c.rset()  # MailKit's RSET; the server has dropped the line
            return
        reply = c.rset()
        if rset == "refused":
            assert reply.code == 503
            c.close()
            return
        assert reply.code == 250
        c.quit()

    return run


def rcpt_refused(c: Sync) -> None:
    plain_login_quit_keep(c)
    with pytest.raises(RecipientRefused) as info:
        c.send_message(SEVEN_BIT)  # every recipient refused: RSET, then the error
    assert info.value.code == 550
    assert info.value.enhanced == (5, 1, 0)
    c.quit()


def dsn(c: Sync) -> None:
    plain_login_quit_keep(c)
    c.send_message(
        EIGHT_BIT,
        ret="HDRS",
        envid="mailwire-1",
        notify=("SUCCESS", "FAILURE", "DELAY"),
        orcpt=True,
    )
    c.quit()


def dsn_hex(c: Sync) -> None:
    plain_login_quit_keep(c)
    c.send_message(
        EIGHT_BIT,
        recipients=["recipient@名がドメイン.com"],
        ret="FULL",
        envid="123456789+=abc@名がドメイン.com",
        notify="NEVER",
        orcpt=True,
    )
    c.quit()


def require_tls(c: Sync) -> None:
    plain_login_quit_keep(c)
    c.send_message(EIGHT_BIT, requiretls=True)  # RFC 8689 §4.1, inside TLS
    c.send_message(EIGHT_BIT)
    c.quit()


def custom_commands(c: Sync) -> None:
    assert c.vrfy("Smith").code == 250
    expn = c.expn("Example-People")
    assert expn.lines[0] == "Jon Postel <Postel@USC-ISIF.ARPA>"
    assert expn.lines[-1] == "<xyz@bar-unix.ARPA>"
    c.close()


RSET_NOTE = (
    "RSET after a refused MAIL is MailKit's habit; mailwire sends none (no "
    "transaction is open), so the play calls rset() where MailKit's client did"
)
PLAIN_AUTH = {"allow_plaintext_auth": True}

PLAYS: dict[str, Play] = {
    "SmtpClientTests.TestLocalDomainIPv4": Play(
        just_quit,
        "connect() with an unqualified host name: EHLO [127.0.0.1] (RFC 5321 §4.1.4); quit()",
        hostname_unqualified=True,
    ),
    "SmtpClientTests.TestLocalDomainIPv6": Play(
        just_quit,
        "connect() over ::1: EHLO [IPv6:::1] (RFC 5321 §4.1.3); quit()",
        host="::1",
        hostname_unqualified=True,
    ),
    "SmtpClientTests.TestLocalDomainIPv4MappedToIPv6": Play(
        just_quit,
        "local_hostname='[129.144.52.38]' (a test host cannot own that address; mailwire "
        "would name a mapped address [IPv6:::ffff:129.144.52.38], also RFC 5321 §4.1.3)",
        client={"local_hostname": "[129.144.52.38]"},
    ),
    "SmtpClientTests.CreateSendWithoutSenderOrRecipientsCommands": Play(
        send_without_envelope, "send_message() without From/To: ValueError, nothing sent"
    ),
    "SmtpClientTests.CreateInvalidStateExceptionsCommands": Play(
        invalid_states,
        "SenderRefused, RecipientRefused twice, then login(). " + RSET_NOTE,
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.TestStartTlsNotSupported": Play(
        starttls_not_supported,
        "tls=STARTTLS; EHLO answered 504: mailwire stops (HELO only after 500/502)",
        client={"tls": TLSMode.STARTTLS},
        stops_after=2,
        connect=False,
    ),
    "SmtpClientTests.TestServiceNotReady": Play(
        service_not_ready,
        "greeting 221: connect() raises; an optional QUIT may follow (RFC 5321 §3.1)",
        allow_after=(b"QUIT\r\n",),
        connect=False,
    ),
    "SmtpClientTests.TestServiceNotReadyAsync": Play(
        service_not_ready,
        "as TestServiceNotReady",
        allow_after=(b"QUIT\r\n",),
        connect=False,
    ),
    "SmtpClientTests.TestProtocolLoggerExceptions": Play(just_close, "connect(); close()"),
    "SmtpClientTests.TestSaslInitialResponse": Play(
        plain_login_quit, "login(): AUTH PLAIN with SASL-IR", client=PLAIN_AUTH
    ),
    "SmtpClientTests.TestSaslInitialResponseAsync": Play(
        plain_login_quit, "login(): AUTH PLAIN with SASL-IR", client=PLAIN_AUTH
    ),
    "SmtpClientTests.CreateAuthenticationFailedCommands": Play(
        authentication_failed,
        "login() 535, login(mechanisms=['LOGIN']) 535, login() 535: each one exchange",
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateRedactAuthenticationCommands": Play(
        redact_login,
        "login(mechanisms=['LOGIN']); the transcript redacts both answers",
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateRedactSaslInitialResponseCommands": Play(
        redact_plain, "login(); the initial response is redacted", client=PLAIN_AUTH
    ),
    "SmtpClientTests.CreateRedactSaslAuthenticationCommands": Play(
        redact_login, "login(mechanisms=['LOGIN']); redacted", client=PLAIN_AUTH
    ),
    "SmtpClientTests.TestSmtpResponseModes": Play(just_quit, "connect(); quit()"),
    "SmtpClientTests.CreateHeloFallbackCommands": Play(
        helo_fallback_504,
        "EHLO 504: SMTPReplyError, no HELO (fallback is for 500/502); see the @502 variant",
        stops_after=2,
        host="::1",
        hostname_unqualified=True,
        connect=False,
    ),
    "SmtpClientTests.CreateHeloErrorHandlingCommands": Play(
        helo_fallback_504,
        "EHLO 504: SMTPReplyError, no HELO; see the @502 variant",
        stops_after=2,
        host="::1",
        hostname_unqualified=True,
        connect=False,
    ),
    "SmtpClientTests.CreateBasicFunctionalityCommands": Play(
        basic_functionality,
        "login LOGIN, vrfy, expn, noop, send_message x2, send_messages of 2 (no "
        "PIPELINING: one command at a time), quit",
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateXEXPSExtensionCommands": Play(
        x_exps, "connect(): X-EXPS parsed as a keyword, not as AUTH"
    ),
    "SmtpClientTests.CreateResendCommands": Play(
        resend,
        "send_message(email.message) with a Resent- block, then without Resent-Sender",
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateNoOpCommands": Play(noop_twice, "noop() 250, noop() 503"),
    "SmtpClientTests.CreateSaslAuthenticationCommands": Play(
        login_login_quit, "login(mechanisms=['LOGIN'])", client=PLAIN_AUTH
    ),
    "SmtpClientTests.CreateSaslMechanismTooWeakCommands": Play(
        too_weak, "login(mechanisms=['LOGIN']) 534: AuthenticationError", client=PLAIN_AUTH
    ),
    "SmtpClientTests.CreateSaslMechanismTooWeakFallbackCommands": Play(
        too_weak_no_fallback,
        "login() 534 raises (no automatic LOGIN, S39); login(mechanisms=['LOGIN']) by hand",
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateSaslExceptionProperlyResetsCommands": Play(
        digest_md5,
        "login(mechanisms=['DIGEST-MD5']) refused with ValueError: not implemented (RFC 6331)",
        client=PLAIN_AUTH,
        stops_after=2,
    ),
    "SmtpClientTests.CreateEightBitMimeCommands": Play(
        eight_bit_mime, "login(); send_message(8-bit bytes): BODY=8BITMIME", client=PLAIN_AUTH
    ),
    "SmtpClientTests.CreateInternationalMailboxesCommands": Play(
        international,
        "send_message(UTF-8 addresses): SMTPUTF8 + BODY=8BITMIME; then ASCII, 8-bit body",
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.TestBinaryMime": Play(
        binary_mime,
        "send_message(binarymime=True): BODY=BINARYMIME, BDAT n LAST",
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.TestBinaryMimeAsync": Play(
        binary_mime, "as TestBinaryMime", client=PLAIN_AUTH
    ),
    "SmtpClientTests.CreatePipeliningCommands": Play(
        pipelining,
        "send_message with PIPELINING: MAIL, RCPT and DATA in one write (RFC 2920); the "
        "replay reads them line by line",
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateMailFromMailboxUnavailableCommands": Play(
        mail_refused_then_rset(550, "ok"),
        "SenderRefused 550; rset(); quit(). " + RSET_NOTE,
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateMailFromAuthRequiredRsetDisconnectCommands": Play(
        mail_refused_then_rset(530, "lost"),
        "SenderRefused 530; rset() meets the dropped line: ConnectionLost. " + RSET_NOTE,
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateMailFromUnavailableRsetDisconnectCommands": Play(
        mail_refused_then_rset(550, "lost"),
        "SenderRefused 550; rset(): ConnectionLost. " + RSET_NOTE,
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateRcptToMailboxUnavailableCommands": Play(
        rcpt_refused, "RecipientRefused 550 5.1.0; RSET by itself; quit()", client=PLAIN_AUTH
    ),
    "SmtpClientTests.CreateNoRecipientsAcceptedCommands": Play(
        rcpt_refused, "as RcptToMailboxUnavailable", client=PLAIN_AUTH
    ),
    "SmtpClientTests.CreateNoRecipientsAcceptedPipelinedCommands": Play(
        rcpt_refused,
        "PIPELINING: DATA rides in the MAIL/RCPT group, so one step is inserted: DATA "
        "answered '554 no valid recipients given' (RFC 2920 §3.2's example); then RSET",
        client=PLAIN_AUTH,
        insert={
            3: [
                Step(
                    send="DATA\r\n",
                    pattern=False,
                    reply=b"554 no valid recipients given\r\n",
                    inserted=True,
                )
            ]
        },
    ),
    "SmtpClientTests.CreateUnauthorizedAccessExceptionCommands": Play(
        mail_refused_then_rset(530, "ok", login=False),
        "SenderRefused 530 (no login); rset(); quit(). " + RSET_NOTE,
    ),
    "SmtpClientTests.CreateResetErrorHandlingCommands": Play(
        mail_refused_then_rset(530, "refused", login=False),
        "SenderRefused 530; rset() returns the 503; close(). " + RSET_NOTE,
    ),
    "SmtpClientTests.CreateDeliveryStatusNotificationCommands": Play(
        dsn,
        "send_message(ret='HDRS', envid=..., notify=(SUCCESS, FAILURE, DELAY), orcpt=True)",
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateDeliveryStatusNotificationWithHexEncodeCommands": Play(
        dsn_hex,
        "send_message to recipient@名がドメイン.com (IDNA) with ret='FULL', an ENVID needing "
        "xtext, notify='NEVER', orcpt=True",
        client=PLAIN_AUTH,
    ),
    "SmtpClientTests.CreateRequireTlsCommands": Play(
        require_tls,
        "over implicit TLS: send_message(requiretls=True), then without; over plaintext "
        "see test_requiretls_refused_without_tls",
        tls=True,
    ),
    "SmtpClientTests.CreateCustomCommandCommands": Play(custom_commands, "vrfy(), expn(), close()"),
}

# Variants: the same scenario with one reply code changed, to show the path
# MailKit takes exists in mailwire for the codes RFC 5321 §4.1.4 names.
EHLO_502 = b"502 EHLO not implemented.\r\n"
VARIANTS: dict[str, tuple[str, Play]] = {
    "SmtpClientTests.TestStartTlsNotSupported@502": (
        "SmtpClientTests.TestStartTlsNotSupported",
        Play(
            starttls_not_supported_502,
            "EHLO 502, HELO: no STARTTLS offered, SecurityError (fails closed)",
            client={"tls": TLSMode.STARTTLS},
            replace_reply={1: EHLO_502},
            connect=False,
        ),
    ),
    "SmtpClientTests.CreateHeloFallbackCommands@502": (
        "SmtpClientTests.CreateHeloFallbackCommands",
        Play(
            helo_fallback_502,
            "EHLO 502, HELO [IPv6:::1] 250, quit()",
            replace_reply={1: EHLO_502},
            host="::1",
            hostname_unqualified=True,
            connect=False,
        ),
    ),
    "SmtpClientTests.CreateHeloErrorHandlingCommands@502": (
        "SmtpClientTests.CreateHeloErrorHandlingCommands",
        Play(
            helo_error_502,
            "EHLO 502, HELO 504: SMTPReplyError",
            replace_reply={1: EHLO_502},
            host="::1",
            hostname_unqualified=True,
            connect=False,
        ),
    ),
}

# Scenarios that fail because of a bug, with the reason (strict xfail). None now:
# the ORCPT form (RFC 3461 §4.2) and BINARYMIME bytes (RFC 3030 §3) are fixed.
BUGS: dict[str, str] = {}


def _cases() -> list[Any]:
    cases = []
    for scenario_id in [*SCENARIOS, *VARIANTS]:
        marks = []
        if scenario_id in BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=BUGS[scenario_id]))
        cases.append(pytest.param(scenario_id, marks=marks, id=scenario_id.split(".", 1)[1]))
    return cases


@contextlib.contextmanager
def mismatches_first(replay: SMTPReplay) -> Iterator[None]:
    """When the client fails because the replay refused a line, report the line."""
    try:
        yield
    except Exception:
        if replay.errors:
            pytest.fail(f"replay mismatch: {replay.errors}")
        raise


def test_every_scenario_has_a_play() -> None:
    assert set(PLAYS) == set(SCENARIOS)
    assert len(SCENARIOS) == 43


@pytest.mark.parametrize("scenario_id", _cases())
def test_replay(kind: str, pki: PKI, scenario_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if scenario_id in VARIANTS:
        base, play = VARIANTS[scenario_id]
    else:
        base, play = scenario_id, PLAYS[scenario_id]
    scenario = SCENARIOS[base]
    steps = steps_of(scenario, insert=play.insert, replace_reply=play.replace_reply)
    if play.hostname_unqualified:
        monkeypatch.setattr(socket, "gethostname", lambda: "mailwire-test-host")
    client_args: dict[str, Any] = {"tls": TLSMode.PLAIN, "local_hostname": NAME, "timeout": 5}
    if play.hostname_unqualified:
        del client_args["local_hostname"]
    if play.tls:
        client_args.update(tls=TLSMode.IMPLICIT, ssl_context=pki.client_context())
    client_args.update(play.client)
    tls_context = pki.server_context("localhost", "127.0.0.1") if play.tls else None
    host = "localhost" if play.tls else play.host
    with (
        SMTPReplay(
            steps, allow_after=play.allow_after, tls_context=tls_context, host=play.host
        ) as replay,
        Sync(kind, host, replay.port, **client_args) as c,
        mismatches_first(replay),
    ):
        if play.connect:
            c.connect()
        play.run(c)
        c.close()
        assert replay.wait(5)
    assert replay.errors == []
    expected = len(steps) if play.stops_after is None else play.stops_after
    assert replay.steps_done == expected
    if play.stops_after is not None:  # a refusal by design: the rest never came
        assert replay.steps_done < len(steps)


def test_requiretls_refused_without_tls(kind: str) -> None:
    """RFC 8689 §4.1: REQUIRETLS only inside TLS. Over the plaintext replay the
    first message is refused before MAIL is sent."""
    steps = steps_of(SCENARIOS["SmtpClientTests.CreateRequireTlsCommands"])
    with SMTPReplay(steps) as replay:
        with Sync(kind, replay.host, replay.port, tls=TLSMode.PLAIN, timeout=5, **PLAIN_AUTH) as c:
            c.connect()
            plain_login_quit_keep(c)
            with pytest.raises(NotSupportedError, match="REQUIRETLS"):
                c.send_message(EIGHT_BIT, requiretls=True)
            c.close()
        assert replay.wait(5)
    assert replay.errors == []
    assert replay.steps_done == 3  # greeting, EHLO, AUTH: no MAIL


def test_the_replay_catches_a_wrong_command(kind: str) -> None:
    """The harness itself: a command MailKit did not send fails the replay loudly."""
    steps = steps_of(SCENARIOS["SmtpClientTests.CreateNoOpCommands"])
    with SMTPReplay(steps) as replay:
        with Sync(
            kind, replay.host, replay.port, tls=TLSMode.PLAIN, timeout=5, local_hostname=NAME
        ) as c:
            c.connect()
            assert c.rset().code == 554  # RSET where NOOP is due
            c.close()
        assert replay.wait(5)
    assert replay.errors == ["step 2: expected 'NOOP\\r\\n', got 'RSET\\r\\n'"]


@pytest.mark.parametrize(
    ("expected", "got", "pattern", "same"),
    [
        (
            "MAIL FROM:<a@b> BODY=8BITMIME\r\n",
            "MAIL FROM:<a@b> SIZE=12 BODY=8BITMIME\r\n",
            False,
            True,
        ),
        (
            "MAIL FROM:<{*}> SMTPUTF8 BODY=8BITMIME\r\n",
            "MAIL FROM:<é@b> BODY=8BITMIME SMTPUTF8\r\n",
            True,
            True,
        ),
        ("MAIL FROM:<a@b> BODY=8BITMIME\r\n", "MAIL FROM:<a@b>\r\n", False, False),
        ("MAIL FROM:<a@b>\r\n", "MAIL FROM:<a@b> BODY=8BITMIME\r\n", False, False),
        ("RCPT TO:<a@b> NOTIFY=NEVER\r\n", "RCPT TO:<a@b> NOTIFY=SUCCESS\r\n", False, False),
        ("EHLO {*}\r\n", "EHLO [127.0.0.1]\r\n", True, True),
        ("EHLO x\r\n", "ehlo x\r\n", False, False),
    ],
)
def test_line_matching(expected: str, got: str, pattern: bool, same: bool) -> None:
    from tests.differential.smtp_replay import line_matches

    assert line_matches(expected, got, pattern) is same
