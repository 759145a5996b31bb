"""Client requirements of the RFCs that no other test checked (see rfc_notes/).

Each test names the RFC section it checks. They talk to the scripted servers of
tests/security (real sockets on loopback) or drive the sans-I/O cores directly.
"""

from __future__ import annotations

import base64
import contextlib
import quopri
from typing import Any

import pytest

from mailwire import (
    IMAPStatusError,
    LocalProtocolError,
    MailwireError,
    NotSupportedError,
    TLSMode,
    imap,
    mime,
    pop3,
    smtp,
)
from mailwire._buffer import ReceiveBuffer
from mailwire.limits import Limits
from mailwire.mime._encodings import encode_qp
from mailwire.mime._params import format_params, parse_params, parse_value
from mailwire.mime._rfc2047 import encode_words
from mailwire.smtp import MailFrom, RcptTo, ReplyReader
from mailwire.tls import create_context
from mailwire.transcript import Direction, Kind
from tests.security.smtp_support import fake_smtp
from tests.support.tls import make_pki
from tests.unit.imap_client.helpers import Both, Script
from tests.unit.imap_client.helpers import events as imap_events
from tests.unit.imap_client.helpers import greeted as imap_greeted
from tests.unit.imap_client.helpers import logged_in as imap_logged_in
from tests.unit.imap_client.helpers import selected as imap_selected
from tests.unit.pop3.helpers import exchange as pop3_exchange
from tests.unit.pop3.helpers import greeted as pop3_greeted
from tests.unit.pop3.helpers import transaction as pop3_transaction
from tests.unit.smtp.helpers import exchange, ready

SENDER = "alice@example.test"
RECIPIENT = "bob@example.test"
MESSAGE = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: hi\r\n\r\nhello\r\n"
BARE_EHLO = b"250 mx.test\r\n"  # an EHLO reply that offers no extension at all


def blocking_client(port: int, **kwargs: object) -> smtp.Client:
    kwargs.setdefault("tls", TLSMode.PLAIN)
    return smtp.Client(
        "127.0.0.1",
        port,
        local_hostname="client.test",
        timeout=5.0,
        **kwargs,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------ RFC 5321


def test_rfc5321_local_part_case_is_preserved() -> None:
    """RFC 5321 §2.4: local parts are case sensitive; the client keeps their case
    (and §2.3.11: only the domain's host interprets them), domains included."""
    conn = ready()
    conn.send(MailFrom("Alice.Smith@Example.ORG"))
    conn.send(RcptTo("BoB@Example.Test"))
    assert conn.data_to_send() == (
        b"MAIL FROM:<Alice.Smith@Example.ORG>\r\nRCPT TO:<BoB@Example.Test>\r\n"
    )


def test_rfc5321_rcpt_to_bare_postmaster() -> None:
    """RFC 5321 §2.3.5 / §4.1.1.3: ``RCPT TO:<Postmaster>`` needs no domain."""
    conn = ready()
    exchange(conn, MailFrom(SENDER), b"250 ok\r\n")
    conn.send(RcptTo("Postmaster"))
    assert conn.data_to_send() == b"RCPT TO:<Postmaster>\r\n"


@pytest.mark.parametrize(
    "path", ["@a.example,@b.example:joe@c.example", "@a.example:joe@c.example"]
)
def test_rfc5321_no_source_routes(path: str) -> None:
    """RFC 5321 §3.6.1 / §4.1.2: the client never writes a source route; a path
    given as one is refused before anything is queued."""
    conn = ready()
    exchange(conn, MailFrom(SENDER), b"250 ok\r\n")
    with pytest.raises(ValueError, match="one mailbox"):
        conn.send(RcptTo(path))
    assert conn.data_to_send() == b""


def test_rfc5321_no_parameter_the_server_did_not_offer() -> None:
    """RFC 5321 §4.1.1 / §4.1.1.3: no ESMTP parameter that the EHLO reply did not
    offer. A server offering nothing gets a bare MAIL FROM (no SIZE, BODY, SMTPUTF8),
    and DSN options without DSN are refused before MAIL is sent."""
    with fake_smtp(ehlo=BARE_EHLO) as srv:
        with blocking_client(srv.port) as c:
            c.send_message(MESSAGE, sender=SENDER, recipients=[RECIPIENT])
            with pytest.raises(NotSupportedError, match="DSN"):
                c.send_message(MESSAGE, sender=SENDER, recipients=[RECIPIENT], ret="HDRS")
            with pytest.raises(NotSupportedError, match="DSN"):
                c.send_message(MESSAGE, sender=SENDER, recipients=[RECIPIENT], notify=("SUCCESS",))
        srv.wait()
    mail = [line for line in srv.commands if line.startswith(b"MAIL")]
    rcpt = [line for line in srv.commands if line.startswith(b"RCPT")]
    assert mail == [b"MAIL FROM:<alice@example.test>\r\n"]
    assert rcpt == [b"RCPT TO:<bob@example.test>\r\n"]


def test_rfc5321_with_block_ends_with_quit() -> None:
    """RFC 5321 §4.1.1.10: the sender does not close before sending QUIT, and
    §4.1.4: QUIT is the last command of the session."""
    with fake_smtp() as srv:
        with blocking_client(srv.port) as c:
            c.noop()
        srv.wait()
    assert srv.commands[-1] == b"QUIT\r\n"
    assert srv.commands == [b"EHLO client.test\r\n", b"NOOP\r\n", b"QUIT\r\n"]


def test_rfc5321_waits_for_each_reply_without_pipelining() -> None:
    """RFC 5321 §4.3.1: without PIPELINING the sender waits for each reply before
    the next command: in the transcript, every client write of the envelope is
    followed by server data before the next write."""
    with fake_smtp(ehlo=BARE_EHLO) as srv:
        with blocking_client(srv.port) as c:
            c.send_message(MESSAGE, sender=SENDER, recipients=[RECIPIENT, "carol@example.test"])
            records = [r for r in c.transcript.records if r.kind is Kind.DATA]
        srv.wait()
    writes = [i for i, r in enumerate(records) if r.direction is Direction.CLIENT]
    envelope = [i for i in writes if records[i].data.startswith((b"MAIL", b"RCPT", b"DATA"))]
    assert [records[i].data.split(b" ")[0].rstrip(b"\r\n") for i in envelope] == [
        b"MAIL",
        b"RCPT",
        b"RCPT",
        b"DATA",
    ]
    for i in envelope:
        assert records[i].data.count(b"\r\n") == 1  # one command per write
        assert records[i + 1].direction is Direction.SERVER  # its reply came first


@pytest.mark.parametrize(
    ("line", "positive", "transient", "permanent"),
    [
        (b"299 odd but fine\r\n", True, False, False),
        (b"499 odd, try later\r\n", False, True, False),
        (b"599 odd, never\r\n", False, False, True),
    ],
)
def test_rfc5321_unknown_codes_by_first_digit(
    line: bytes, positive: bool, transient: bool, permanent: bool
) -> None:
    """RFC 5321 §4.2 / §4.3.2: codes the RFC does not list are read by their first
    digit, not refused."""
    limits = Limits()
    buf = ReceiveBuffer(limits, max_line_length=limits.max_reply_line_length)
    buf.feed(line)
    reply = ReplyReader(limits).read(buf)
    assert reply is not None
    assert (reply.is_positive, reply.is_transient, reply.is_permanent) == (
        positive,
        transient,
        permanent,
    )


# ------------------------------------------------------- RFC 2554 / RFC 4954


def test_rfc2554_no_second_auth_after_success() -> None:
    """RFC 2554 §4 (kept by RFC 4954 §4): after a successful AUTH no more AUTH
    commands may be issued in the session; the client refuses locally."""
    with fake_smtp() as srv:
        with blocking_client(srv.port, allow_plaintext_auth=True) as c:
            c.login("user", "secret")
            with pytest.raises(LocalProtocolError, match="already authenticated"):
                c.login("user", "secret")
            c.noop()
        srv.wait()
    verbs = [line.split()[0] for line in srv.commands]
    assert verbs == [b"EHLO", b"AUTH", b"NOOP", b"QUIT"]


# ------------------------------------------------------------------ RFC 1939


@pytest.mark.parametrize(
    "make",
    [pop3.Retr, pop3.Dele, lambda n: pop3.Top(n, 0), pop3.List, pop3.Uidl],
    ids=["RETR", "DELE", "TOP", "LIST", "UIDL"],
)
def test_rfc1939_no_command_names_a_deleted_message(make: Any) -> None:
    conn = pop3_transaction()
    pop3_exchange(conn, pop3.Dele(1), b"+OK message 1 deleted\r\n")
    with pytest.raises(ValueError, match="marked deleted"):
        conn.send(make(1))
    assert conn.data_to_send() == b""
    # Caller input refused, not a broken session: RSET unmarks, then it may be named.
    pop3_exchange(conn, pop3.Rset(), b"+OK maildrop has 2 messages\r\n")
    conn.send(pop3.Dele(1))
    assert conn.data_to_send() == b"DELE 1\r\n"


def test_rfc1734_failed_auth_stays_in_authorization() -> None:
    """RFC 1734 §2: after a refused AUTH the session stays in AUTHORIZATION, where
    the client may try USER/PASS or APOP."""
    conn = pop3_greeted()
    pop3_exchange(conn, pop3.Auth("PLAIN", b"\0u\0p"), b"-ERR [AUTH] Authentication failed.\r\n")
    assert conn.state is pop3.State.AUTHORIZATION
    conn.send(pop3.User("mrose"))
    assert conn.data_to_send() == b"USER mrose\r\n"


# ---------------------------------------------------------- RFC 2595 (IMAP)


@pytest.mark.parametrize("make", [imap.Noop, imap.Capability, lambda: imap.Login("u", "p")])
def test_rfc2595_imap_nothing_after_starttls_until_the_handshake(make: Any) -> None:
    """RFC 2595 §3.1 (and RFC 9051 §6.2.1): once STARTTLS is sent, no further
    command until its response is seen and the TLS negotiation is complete."""
    conn = imap_greeted()
    conn.send(imap.StartTLS())
    assert conn.data_to_send() == b"A1 STARTTLS\r\n"
    with pytest.raises(LocalProtocolError):
        conn.send(make())  # before the response
    assert conn.data_to_send() == b""
    conn = imap_greeted()
    conn.send(imap.StartTLS())
    conn.data_to_send()
    imap_events(conn, b"A1 OK begin TLS now\r\n")
    assert conn.state is imap.State.TLS_HANDSHAKE
    with pytest.raises(LocalProtocolError):
        conn.send(make())  # after it, before the handshake
    assert conn.data_to_send() == b""


# ------------------------------------------------------------------ RFC 9051

PREAUTH = b"* PREAUTH [CAPABILITY IMAP4rev1] logged in already\r\n"


@pytest.mark.parametrize(
    "options",
    [{"return_options": ("CHILDREN",)}, {"select_options": ("REMOTE",)}],
    ids=["return", "select"],
)
def test_rfc9051_no_list_option_the_server_did_not_advertise(options: dict[str, Any]) -> None:
    """RFC 9051 §6.3.9 (RFC 5258 §3): "a client MUST NOT send an option for which the
    server has not advertised support": without LIST-EXTENDED (or IMAP4rev2) the
    client refuses LIST options locally and sends nothing."""
    with Script(PREAUTH, [(b"A1 LOGOUT\r\n", b"* BYE bye\r\nA1 OK done\r\n")]) as script:
        c = Both("blocking", script.port)
        c.connect()
        with pytest.raises(NotSupportedError, match="LIST-EXTENDED"):
            c.list("", "*", **options)
        c.logout()
        c.close()
    assert script.server.received == b"A1 LOGOUT\r\n"
    assert script.errors == []


def test_rfc9051_logout_reads_the_tagged_ok() -> None:
    """RFC 9051 §3.4 / §6.1.3: after LOGOUT the client reads the BYE and the tagged
    OK before it closes the connection."""
    with Script(PREAUTH, [(b"A1 LOGOUT\r\n", b"* BYE see you\r\nA1 OK LOGOUT completed\r\n")]) as s:
        c = Both("blocking", s.port)
        c.connect()
        tagged = c.logout()
        c.close()
    assert tagged is not None
    assert tagged.status == "OK"
    assert tagged.text == "LOGOUT completed"


def test_rfc5161_no_enable_after_select() -> None:
    """RFC 5161 §3.1: clients MUST NOT issue ENABLE once they SELECT/EXAMINE a
    mailbox; the core refuses it (and writes nothing)."""
    conn = imap_selected()
    with pytest.raises(LocalProtocolError, match="RFC 5161"):
        conn.send(imap.Enable(("CONDSTORE",)))
    assert conn.data_to_send() == b""


@pytest.mark.parametrize("leave", ["close", "unselect", "stay"])
def test_rfc5161_client_enable_after_a_select_is_refused_before_sending(leave: str) -> None:
    """Even after CLOSE or UNSELECT (the state is AUTHENTICATED again), a session
    that selected a mailbox may not ENABLE; the client refuses before the core, so
    the session stays usable."""
    greeting = b"* PREAUTH [CAPABILITY IMAP4rev1 ENABLE UNSELECT CONDSTORE] hi\r\n"
    steps = [(b"A1 EXAMINE INBOX\r\n", b"* 1 EXISTS\r\nA1 OK [READ-ONLY] done\r\n")]
    if leave != "stay":
        steps.append((f"A2 {leave.upper()}\r\n".encode(), b"A2 OK done\r\n"))
    tag = f"A{len(steps) + 1}"
    steps.append((f"{tag} NOOP\r\n".encode(), f"{tag} OK done\r\n".encode()))
    with Script(greeting, steps) as script:
        c = Both("blocking", script.port)
        c.connect()
        c.client.select("INBOX", readonly=True)
        if leave != "stay":
            getattr(c.client, leave)()
        with pytest.raises(LocalProtocolError, match="RFC 5161"):
            c.client.enable("CONDSTORE")
        c.client.noop()
        c.close()
    assert b"ENABLE" not in script.server.received
    assert script.errors == []


def test_rfc9051_zero_length_synchronizing_literal_still_waits() -> None:
    """RFC 9051 §4.3: "Even if the octet count is 0, a client transmitting a
    synchronizing literal MUST wait to receive a command continuation request"."""
    conn = imap_greeted(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
    imap_events(conn, f"{conn.send(imap.Login('u', 'p'))} OK done\r\n".encode())
    conn.data_to_send()
    tag = conn.send(imap.Append("INBOX", b""))
    assert conn.data_to_send() == f"{tag} APPEND INBOX {{0}}\r\n".encode()
    later = conn.send(imap.Noop())
    assert conn.data_to_send() == b""  # nothing until the "+"
    imap_events(conn, b"+ go ahead\r\n")
    assert conn.data_to_send() == b"\r\n" + later.encode() + b" NOOP\r\n"


def test_rfc9051_utf8_mailbox_names_from_list_are_unicode() -> None:
    """RFC 9051 §5.1: clients "MUST interpret any 8-bit mailbox names returned by
    LIST as [NET-UNICODE]" (UTF-8)."""
    conn = imap_logged_in()
    (data,) = imap_events(conn, '* LIST () "/" "Entwürfe/Grüße"\r\n'.encode())
    assert isinstance(data, imap.ListData)
    assert data.name == "Entwürfe/Grüße"


def test_rfc9051_unknown_capabilities_codes_and_list_fields_are_ignored() -> None:
    """RFC 9051 §7.2.2 (unknown capability names), §7.1 (unknown response codes) and
    §7.3.1 (unknown LIST extended fields): ignored, never an error."""
    conn = imap_logged_in()
    got = imap_events(
        conn,
        b"* CAPABILITY IMAP4rev1 XYZZY FOO=BAR\r\n"
        b"* OK [XUNKNOWN-CODE 1 2] hello\r\n"
        b'* LIST (\\XUnknownAttr) "/" "Foo" ("X-VENDOR" ("a"))\r\n',
    )
    assert [type(e).__name__ for e in got] == ["CapabilityData", "StatusResponse", "ListData"]
    assert got[2].attributes == ("\\XUnknownAttr",)  # RFC 6154 §6: unknown attributes ignored
    assert conn.state is imap.State.AUTHENTICATED
    assert conn.error is None


def test_rfc9051_mailbox_data_outside_selected_state_is_ignored() -> None:
    """RFC 9051 §11.3: when not in the selected state, clients ignore FLAGS, EXISTS,
    EXPUNGE and FETCH: no mailbox state is made up from them."""
    conn = imap_logged_in()
    imap_events(conn, b"* 3 EXISTS\r\n* 2 EXPUNGE\r\n* 1 FETCH (FLAGS (\\Seen))\r\n")
    assert conn.mailbox is None
    assert conn.state is imap.State.AUTHENTICATED


def test_rfc9051_list_attributes_imply_weaker_ones() -> None:
    conn = imap_logged_in()
    leaf, gone = imap_events(
        conn, b'* LIST (\\NoInferiors) "/" "Leaf"\r\n* LIST (\\NonExistent) "/" "Gone"\r\n'
    )
    assert leaf.has_attribute("\\HasNoChildren")
    assert gone.has_attribute("\\Noselect")
    # Only the table's inferences: nothing else is implied.
    assert not leaf.has_attribute("\\Noselect")
    assert not gone.has_attribute("\\HasNoChildren")


def test_rfc9051_alert_inside_tls_is_trusted_and_kept() -> None:
    """RFC 9051 §7.1: alerts received inside TLS are presented to the user (kept in
    ``alerts``, marked trusted); those from a plaintext session are marked as
    potentially suspicious (``trusted=False``)."""
    pki = make_pki()
    greeting = b"* OK [ALERT] maintenance at noon\r\n"
    caps = [(b"A1 CAPABILITY\r\n", b"* CAPABILITY IMAP4rev1\r\nA1 OK done\r\n")]
    with Script(greeting, caps, tls_context=pki.server_context(), implicit_tls=True) as script:
        c = Both("blocking", script.port, tls=TLSMode.IMPLICIT, ssl_context=pki.client_context())
        c.connect()
        alerts = [(a.text, a.trusted) for a in c.client.alerts]
        c.close()
    assert alerts == [("maintenance at noon", True)]
    with Script(greeting, caps) as script:
        c = Both("blocking", script.port)
        c.connect()
        alerts = [(a.text, a.trusted) for a in c.client.alerts]
        c.close()
    assert alerts == [("maintenance at noon", False)]


# ------------------------------------------------------------ RFC 2047 / 2231


@pytest.mark.parametrize("text", ["日本語のテキスト" * 20, "é" * 120, "a😀" * 60, "Grüße " * 40])
def test_rfc2047_each_encoded_word_holds_whole_characters(text: str) -> None:
    """RFC 2047 §5: each encoded-word encodes an integral number of octets and of
    characters, so every word decodes on its own (the round-trip test of
    test_rfc2047.py cannot show this: the decoder repairs split characters)."""
    words = encode_words(text)
    assert len(words) > 1
    for word in words:
        _, charset, kind, body, _ = word.split("?")
        if kind.lower() == "b":
            raw = base64.b64decode(body, validate=True)
        else:
            raw = quopri.decodestring(body.replace("_", " ").encode(), header=True)
        raw.decode(charset)  # UnicodeDecodeError if a character was split
        assert not set(word) & {" ", "\t"}  # §2, §4.2: no white space inside


def test_rfc2047_no_encoded_word_in_mime_parameters() -> None:
    """RFC 2047 §5: no encoded-word in a Content-Type or Content-Disposition
    parameter; a non-ASCII file name goes as RFC 2231 (``filename*``) instead."""
    message = mime.Message(sender="a@example.org", to=["b@example.org"], subject="Grüße", text="t")
    message.attach(b"data", filename="données résumé.bin")
    data = bytes(message)
    body = data.split(b"\r\n\r\n", 1)[1]
    assert b"=?" not in body  # only the Subject (a header of the message) is encoded
    assert b"filename*=utf-8''donn%C3%A9es%20r%C3%A9sum%C3%A9.bin" in body
    assert b"=?utf-8?" in data.split(b"\r\n\r\n", 1)[0]


# ------------------------------------------------------------ RFC 2045 / 2046


def _built() -> bytes:
    message = mime.Message(
        sender="a@example.org", to=["b@example.org"], subject="s", text="naïve café\n"
    )
    message.attach(b"\x00\x01" * 50, filename="a.bin")
    return bytes(message)


def test_rfc2045_built_messages_declare_mime_version() -> None:
    """RFC 2045 §4: composed messages include ``MIME-Version: 1.0``."""
    header = _built().split(b"\r\n\r\n", 1)[0]
    assert b"\r\nMIME-Version: 1.0\r\n" in b"\r\n" + header + b"\r\n"


def test_rfc2045_quoted_printable_encoder_rules() -> None:
    """RFC 2045 §6.7: "=" and 8-bit octets as "=XX" with upper-case hex (rules 1, 2);
    a space or tab at the end of an encoded line is never left as itself (rule 3)."""
    assert encode_qp(b"a \r\nb\t\r\nc=d\xff\r\n") == b"a=20\r\nb=09\r\nc=3Dd=FF\r\n"


def test_rfc2046_text_charset_and_no_transport_padding() -> None:
    """RFC 2046 §4.1.2: non-ASCII text carries its charset; §5.1.1: composers
    generate no transport padding after a boundary delimiter; §4.1.1: text line
    breaks are CRLF."""
    data = _built()
    text = next(e for e in mime.parse(data).walk() if e.content_type == "text/plain")
    assert text.params["charset"].lower() == "utf-8"
    assert text.text() == "naïve café\r\n"
    boundary = mime.parse(data).params["boundary"].encode()
    delimiters = [line for line in data.split(b"\r\n") if line.startswith(b"--" + boundary)]
    assert delimiters
    assert set(delimiters) == {b"--" + boundary, b"--" + boundary + b"--"}


# ------------------------------------------------------------------ RFC 5322


def test_rfc5322_folding_never_leaves_a_blank_line() -> None:
    """RFC 5322 §3.2.2: folding never makes a header line of white space only; §2.1.1:
    no line over 998 characters (and the builder keeps to 78)."""
    message = mime.Message(
        sender="a@example.org",
        to=[f"user{i}@example.org" for i in range(30)],
        subject="word " * 60 + "Grüße " * 20,
        text="t",
    )
    header = bytes(message).split(b"\r\n\r\n", 1)[0]
    lines = header.split(b"\r\n")
    assert len(lines) > 10  # it did fold
    assert all(line.strip(b" \t") for line in lines)
    assert max(map(len, lines)) <= 78


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Received", "x"),
        ("Return-Path", "<a@example.org>"),
        ("Resent-From", "a@example.org"),
        ("In-Reply-To", "not an id"),
        ("References", "<a@example.org> trailing words"),
    ],
)
def test_rfc5322_custom_headers_cannot_take_a_defined_field_name(name: str, value: str) -> None:
    """RFC 5322 §3.6.8: extra fields may not reuse a defined name with free text; the
    trace and resent fields are refused, and In-Reply-To/References must be msg-id lists
    (§3.6.4), which is what a reply needs to thread."""
    with pytest.raises(ValueError, match=name):
        mime.Message(sender="a@example.org", text="t", headers={name: value})
    threaded = mime.Message(
        sender="a@example.org",
        text="t",
        headers={"In-Reply-To": "<1@example.org>", "References": "<0@example.org> <1@example.org>"},
    )
    head = bytes(threaded).split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert b"In-Reply-To: <1@example.org>" in head
    assert b"References: <0@example.org> <1@example.org>" in head


# ------------------------------------------------------------------ RFC 2231


def test_rfc2231_sections_in_any_order_and_encoded_first_segment() -> None:
    """RFC 2231 §3 (2): reading does not depend on parameter order; §4.1 (4), (5):
    when a continued value carries a charset, its first segment is encoded and
    keeps both single-quote delimiters."""
    defects: list[mime.Defect] = []
    _, rest = parse_value(
        'message/external-body; access-type=URL; URL*1="cs.utk.edu/pub"; URL*0="ftp://"',
        defects,
        media_type=True,
    )
    assert parse_params(rest, defects)["url"] == "ftp://cs.utk.edu/pub"
    items = format_params({"filename": "é" * 60})
    assert len(items) > 1
    assert items[0].startswith("filename*0*=utf-8''")
    assert all(item.startswith(f"filename*{i}*=") for i, item in enumerate(items))


def test_rfc2049_unknown_multipart_subtype_is_read_as_mixed() -> None:
    """RFC 2049 §2 (6): unrecognised multipart subtypes are treated as "mixed"."""
    message = mime.parse(
        b"Content-Type: multipart/x-foo; boundary=b\r\n\r\n"
        b"--b\r\n\r\nA\r\n--b\r\nContent-Type: text/html\r\n\r\nB\r\n--b--\r\n"
    )
    assert message.is_multipart
    assert [(p.content_type, p.content()) for p in message.parts] == [
        ("text/plain", b"A"),
        ("text/html", b"B"),
    ]


# ------------------------------------------------------------------ RFC 3030


@pytest.mark.parametrize(
    "ehlo",
    [b"250-mx.test\r\n250 CHUNKING\r\n", b"250-mx.test\r\n250 BINARYMIME\r\n"],
    ids=["no-binarymime", "no-chunking"],
)
def test_rfc3030_no_binary_without_binarymime_and_chunking(ehlo: bytes) -> None:
    """RFC 3030 §3: without BINARYMIME the sender "MUST NOT, under any circumstances,
    send binary data", and BINARYMIME can only be used with CHUNKING: refused
    before MAIL, nothing sent."""
    binary = b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\r\x02\n"
    with fake_smtp(ehlo=ehlo) as srv:
        with blocking_client(srv.port) as c, pytest.raises(NotSupportedError, match=r"CHUNKING"):
            c.send_message(binary, sender=SENDER, recipients=[RECIPIENT], binarymime=True)
        srv.wait()
    assert [line.split()[0] for line in srv.commands] == [b"EHLO", b"QUIT"]


# ------------------------------------------------------------------ RFC 3461

EHLO_DSN = b"250-mx.test\r\n250 DSN\r\n"


def test_rfc3461_dsn_parameters_on_the_wire() -> None:
    """RFC 3461 §4.1-§4.5: NOTIFY on each RCPT, ORCPT naming the RCPT TO address as
    ``rfc822;`` xtext, RET and ENVID once each on MAIL."""
    with fake_smtp(ehlo=EHLO_DSN) as srv:
        with blocking_client(srv.port) as c:
            c.send_message(
                MESSAGE,
                sender=SENDER,
                recipients=[RECIPIENT, "carol+x=y@example.test"],
                ret="hdrs",
                envid="e1",
                notify=("SUCCESS", "FAILURE"),
                orcpt=True,
            )
        srv.wait()
    envelope = [line for line in srv.commands if line[:4] in (b"MAIL", b"RCPT")]
    assert envelope == [
        b"MAIL FROM:<alice@example.test> RET=HDRS ENVID=e1\r\n",
        b"RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.test\r\n",
        b"RCPT TO:<carol+x=y@example.test> NOTIFY=SUCCESS,FAILURE"
        b" ORCPT=rfc822;carol+2Bx+3Dy@example.test\r\n",
    ]


@pytest.mark.parametrize(
    "options",
    [{"ret": "BOGUS"}, {"notify": ("NEVER", "SUCCESS")}, {"notify": ("SOMETIMES",)}],
    ids=["ret", "never-with-others", "unknown-notify"],
)
def test_rfc3461_invalid_dsn_values_are_refused(options: dict[str, Any]) -> None:
    with fake_smtp(ehlo=EHLO_DSN) as srv:
        with blocking_client(srv.port) as c, pytest.raises(ValueError):
            c.send_message(MESSAGE, sender=SENDER, recipients=[RECIPIENT], **options)
        srv.wait()
    assert not [line for line in srv.commands if line.startswith(b"MAIL")]


# ------------------------------------------------------------------ RFC 6531


def test_rfc6531_no_utf8_header_to_a_server_without_smtputf8() -> None:
    """RFC 6531 §3.2 / §3.5: without SMTPUTF8 on the server, a message with raw UTF-8
    header fields (RFC 6532) is not transmitted; refused before MAIL, even when the
    server offers 8BITMIME (which is about bodies, not headers)."""
    raw = "From: alice@example.test\r\nSubject: Grüße\r\n\r\nhi\r\n".encode()
    with fake_smtp(ehlo=b"250-mx.test\r\n250 8BITMIME\r\n") as srv:
        with blocking_client(srv.port) as c, pytest.raises(NotSupportedError, match="SMTPUTF8"):
            c.send_message(raw, sender=SENDER, recipients=[RECIPIENT])
        srv.wait()
    assert [line.split()[0] for line in srv.commands] == [b"EHLO", b"QUIT"]


# ------------------------------------------------------------------ RFC 8689


def test_rfc8689_requiretls_needs_the_keyword_even_inside_tls() -> None:
    """RFC 8689 §2 / §4.3: the option is used only when the server advertises
    REQUIRETLS (after TLS); inside TLS without the keyword the message is refused
    before MAIL."""
    pki = make_pki()
    with fake_smtp(
        ehlo=b"250-mx.test\r\n250 8BITMIME\r\n", tls_context=pki.server_context(), implicit_tls=True
    ) as srv:
        with (
            blocking_client(srv.port, tls=TLSMode.IMPLICIT, ssl_context=pki.client_context()) as c,
            pytest.raises(NotSupportedError, match="REQUIRETLS"),
        ):
            c.send_message(MESSAGE, sender=SENDER, recipients=[RECIPIENT], requiretls=True)
        srv.wait()
    assert [line.split()[0] for line in srv.commands] == [b"EHLO", b"QUIT"]


# ---------------------------------------------------- IMAP extensions


def test_rfc2177_no_idle_unless_advertised() -> None:
    """RFC 2177 §3: without the IDLE capability the client does not use IDLE."""
    steps = [
        (b"A1 SELECT INBOX\r\n", b"* 1 EXISTS\r\nA1 OK [READ-WRITE] done\r\n"),
        (b"A2 LOGOUT\r\n", b"* BYE bye\r\nA2 OK done\r\n"),
    ]
    with Script(PREAUTH, steps) as script:
        c = Both("blocking", script.port)
        c.connect()
        c.select("INBOX")
        with pytest.raises(NotSupportedError, match="IDLE"):
            c.client.idle(timeout=1)
        c.logout()
        c.close()
    assert script.errors == []
    assert b"IDLE" not in script.server.received


def test_rfc4978_no_compression_after_a_refusal() -> None:
    """RFC 4978 §3: after NO (or BAD) to COMPRESS the client does not turn compression
    on; later commands go uncompressed."""
    greeting = b"* PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n"
    steps = [
        (b"A1 COMPRESS DEFLATE\r\n", b"A1 NO [COMPRESSIONACTIVE] already\r\n"),
        (b"A2 NOOP\r\n", b"A2 OK done\r\n"),
        (b"A3 LOGOUT\r\n", b"* BYE bye\r\nA3 OK done\r\n"),
    ]
    with Script(greeting, steps) as script:
        c = Both("blocking", script.port)
        c.connect()
        with contextlib.suppress(MailwireError):
            c.compress()  # a NO may be reported as an error or as False
        assert not c.client.compression
        c.noop()
        c.logout()
        c.close()
    assert script.errors == []


@pytest.mark.parametrize(
    "params",
    [{"x" * 31: "v"}, {"name": "v" * 1025}, {f"k{i}": "v" for i in range(31)}],
    ids=["field-31", "value-1025", "31-pairs"],
)
def test_rfc2971_id_limits(params: dict[str, str | None]) -> None:
    with pytest.raises(ValueError):
        imap.Id(params)


def test_rfc6855_no_search_charset_after_enable_utf8_accept() -> None:
    conn = imap_logged_in()
    tag = conn.send(imap.Enable(("UTF8=ACCEPT",)))
    conn.data_to_send()
    imap_events(conn, f"* ENABLED UTF8=ACCEPT\r\n{tag} OK done\r\n".encode())
    tag = conn.send(imap.Select("INBOX"))
    conn.data_to_send()
    imap_events(conn, f"* 1 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n".encode())
    conn.send(imap.Search(("SUBJECT", "Grüße")))
    wire = conn.data_to_send()
    assert 'SUBJECT "Grüße"'.encode() in wire
    assert b"CHARSET" not in wire


def test_rfc7162_vanished_earlier_does_not_renumber() -> None:
    """RFC 7162 §3.2.10.1: on VANISHED (EARLIER) the client does not decrement message
    sequence numbers (the messages were never in its view); a plain VANISHED is
    recorded like EXPUNGE (§3.2.10.2)."""
    conn = imap_selected()
    assert conn.mailbox is not None
    assert conn.mailbox.exists == 3
    tag = conn.send(imap.Fetch("1:*", ["FLAGS"], changedsince=5, vanished=True))
    conn.data_to_send()
    imap_events(conn, b"* VANISHED (EARLIER) 7:9\r\n" + tag.encode() + b" OK done\r\n")
    assert conn.mailbox.exists == 3
    assert conn.mailbox.expunged == 0
    imap_events(conn, b"* VANISHED 2\r\n")
    assert conn.mailbox.exists == 2


EXTENSION_CALLS = {
    "create-special-use (RFC 6154 §3)": lambda c: c.create("Archive", special_use=["\\Archive"]),
    "getquota (RFC 9208 §1)": lambda c: c.get_quota(""),
    "getmetadata (RFC 5464)": lambda c: c.get_metadata("INBOX", ["/private/comment"]),
    "esearch (RFC 4731)": lambda c: c.esearch("ALL", returns=["MIN"]),
    "sort (RFC 5256)": lambda c: c.sort(["DATE"], "ALL"),
    "thread (RFC 5256)": lambda c: c.thread("REFERENCES"),
    "changedsince (RFC 7162)": lambda c: c.fetch("1:*", ["FLAGS"], changedsince=5),
}


@pytest.mark.parametrize("call", EXTENSION_CALLS.values(), ids=EXTENSION_CALLS.keys())
def test_imap_extension_commands_only_when_advertised(call: Any) -> None:
    """Each extension's command is sent only when the server advertises its
    capability (RFC 6154 §3: "Clients MUST NOT use the USE parameter unless the
    server advertises the capability"; RFC 9208 §1: no reliance on QUOTA without
    it; likewise METADATA, ESEARCH, SORT/THREAD, CONDSTORE): refused locally."""
    steps = [
        (b"A1 SELECT INBOX\r\n", b"* 1 EXISTS\r\nA1 OK [READ-WRITE] done\r\n"),
        (b"A2 LOGOUT\r\n", b"* BYE bye\r\nA2 OK done\r\n"),
    ]
    with Script(PREAUTH, steps) as script:
        c = Both("blocking", script.port)
        c.connect()
        c.select("INBOX")
        with pytest.raises(NotSupportedError):
            call(c)
        c.logout()
        c.close()
    assert script.errors == []
    assert script.server.received == b"A1 SELECT INBOX\r\nA2 LOGOUT\r\n"


def test_rfc6855_utf8_credentials_never_go_in_login() -> None:
    """RFC 6855 §5: UTF-8 credentials MUST go through AUTHENTICATE; login() switches
    to the strongest offered password mechanism, which carries them as UTF-8."""
    plain = base64.b64encode("\0user\0pässw".encode()).decode()
    greeting = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"
    steps = [
        (b"A1 AUTHENTICATE PLAIN\r\n", b"+ \r\n"),
        (f"{plain}\r\n".encode(), b"A1 OK [CAPABILITY IMAP4rev1] in\r\n"),
    ]
    with Script(greeting, steps) as script:
        c = Both("blocking", script.port, allow_plaintext_auth=True)
        c.connect()
        c.login("user", "pässw")
        c.close()
    assert script.errors == []
    assert b"LOGIN" not in script.server.received
    # Without a password mechanism there is no way to send them: refused, nothing sent.
    with Script(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", []) as script:
        c = Both("blocking", script.port, allow_plaintext_auth=True)
        c.connect()
        with pytest.raises(ValueError, match="RFC 6855"):
            c.login("user", "pässw")
        c.close()
    assert script.server.received == b""


@pytest.mark.parametrize(
    "entry",
    [
        "/private//x",
        "/private/x/",
        "/private/*",
        "/shared/%x",
        "/private/é",
        "/private/a\x01",
        "/x",
    ],
)
def test_rfc5464_entry_names_are_checked(entry: str) -> None:
    with pytest.raises(ValueError):
        imap.GetMetadata("INBOX", (entry,))


def test_rfc7162_highestmodseq_bookkeeping() -> None:
    """RFC 7162 §6: the client takes each HIGHESTMODSEQ response code (even one lower
    than a mod-sequence it saw), raises its copy with larger MODSEQ FETCH data, and
    forgets it on NOMODSEQ."""
    conn = imap_selected()
    mailbox = conn.mailbox
    assert mailbox is not None
    imap_events(conn, b"* OK [HIGHESTMODSEQ 100] now\r\n")
    assert mailbox.highestmodseq == 100
    imap_events(conn, b"* 1 FETCH (UID 5 MODSEQ (150) FLAGS (\\Seen))\r\n")
    assert mailbox.highestmodseq == 150
    imap_events(conn, b"* 1 FETCH (UID 5 MODSEQ (140) FLAGS (\\Seen))\r\n")
    assert mailbox.highestmodseq == 150
    imap_events(conn, b"* OK [HIGHESTMODSEQ 120] server says\r\n")
    assert mailbox.highestmodseq == 120
    imap_events(conn, b"* OK [NOMODSEQ] none here\r\n")
    assert mailbox.highestmodseq is None
    assert mailbox.nomodseq


def test_rfc3501_recent_is_recorded() -> None:
    """RFC 3501 §7.3.2: the update from a RECENT response is recorded (IMAP4rev1)."""
    conn = imap_selected()
    imap_events(conn, b"* 2 RECENT\r\n")
    assert conn.mailbox is not None
    assert conn.mailbox.recent == 2


# ------------------------------------------------------------------ RFC 4959


@pytest.mark.parametrize("sasl_ir", [False, True], ids=["no-SASL-IR", "SASL-IR"])
def test_rfc4959_initial_response_only_with_sasl_ir(sasl_ir: bool) -> None:
    """RFC 4959 §3: clients do not send an initial response to servers that do not
    advertise SASL-IR (they wait for the "+"); with SASL-IR the response rides on
    the AUTHENTICATE line, base64, outside any string or literal."""
    caps = b"IMAP4rev1 AUTH=PLAIN" + (b" SASL-IR" if sasl_ir else b"")
    greeting = b"* OK [CAPABILITY " + caps + b"] hi\r\n"
    payload = base64.b64encode(b"\0user\0secret")
    if sasl_ir:
        steps = [(b"A1 AUTHENTICATE PLAIN " + payload + b"\r\n", b"A1 OK done\r\n")]
    else:
        steps = [
            (b"A1 AUTHENTICATE PLAIN\r\n", b"+ \r\n"),
            (payload + b"\r\n", b"A1 OK done\r\n"),
        ]
    steps.append((b"A2 CAPABILITY\r\n", b"* CAPABILITY IMAP4rev1\r\nA2 OK done\r\n"))
    with Script(greeting, steps) as script:
        c = Both("blocking", script.port)
        c.connect()
        c.authenticate("PLAIN", username="user", password="secret")
        c.close()
    assert script.errors == []


# ------------------------------------------------------------------ RFC 2387


def test_rfc2387_related_names_the_root_type_and_the_root_comes_first() -> None:
    """RFC 2387 §3.1: the type parameter is present and names the root's type;
    §3.2: without a start parameter the root is the first body part."""
    message = mime.Message(sender="a@example.org", html='<img src="cid:x">')
    message.attach(b"GIF89a", filename="l.gif", inline=True)
    related = mime.parse(bytes(message))
    assert related.content_type == "multipart/related"
    assert "start" not in related.params
    assert related.params["type"] == related.parts[0].content_type == "text/html"


# ------------------------------------------------------------------ RFC 2449


def test_rfc2449_unknown_response_code_detail_is_no_error() -> None:
    """RFC 2449 §8: clients ignore unknown hierarchical detail of a response code (and
    unknown codes): an -ERR with ``[SYS/TEMP/DISK-FULL]`` is an ordinary refusal that
    keeps the session usable, the code reported as sent."""
    conn = pop3_transaction()
    (err,) = pop3_exchange(conn, pop3.Retr(1), b"-ERR [SYS/TEMP/DISK-FULL] try later\r\n")
    assert isinstance(err, pop3.Err)
    assert err.code == "SYS/TEMP/DISK-FULL"
    (err,) = pop3_exchange(conn, pop3.Retr(1), b"-ERR [X-UNKNOWN] hm\r\n")
    assert err.code == "X-UNKNOWN"
    assert conn.state is pop3.State.TRANSACTION


def test_rfc5321_decisions_follow_the_code_not_the_text() -> None:
    """RFC 5321 §4.2: the client decides by the reply code only: a 250 whose text
    says "error" accepts, a 550 whose text says "OK" refuses."""
    replies = {
        "MAIL": b"250 error? no: fine\r\n",
        "RCPT": lambda _srv, _peer, line: (
            b"550 OK accepted (not really)\r\n" if b"carol" in line else b"250 refused? no\r\n"
        ),
    }
    with fake_smtp(replies, ehlo=BARE_EHLO) as srv:
        with blocking_client(srv.port) as c:
            result = c.send_message(
                MESSAGE, sender=SENDER, recipients=[RECIPIENT, "carol@example.test"]
            )
        srv.wait()
    assert list(result.accepted) == [RECIPIENT]
    assert list(result.refused) == ["carol@example.test"]
    assert len(srv.messages) == 1


def test_rfc9051_default_context_offers_the_mandatory_tls12_suite() -> None:
    """RFC 9051 §11.1: with TLS 1.2, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 is
    implemented: the default client context offers it."""
    names = [cipher["name"] for cipher in create_context().get_ciphers()]
    assert "ECDHE-RSA-AES128-GCM-SHA256" in names


def test_rfc9208_refused_setquota_and_rfc5464_setmetadata_without_data() -> None:
    """RFC 9208 §3.2: the client is prepared for SETQUOTA to fail (an error it can
    catch, the session goes on); RFC 5464 §4.3: SETMETADATA succeeding with no
    METADATA response means the entry was changed."""
    greeting = b"* PREAUTH [CAPABILITY IMAP4rev1 QUOTA QUOTASET METADATA] hi\r\n"
    steps = [
        (b'A1 SETQUOTA "" (STORAGE 512)\r\n', b"A1 NO [LIMIT] cannot set that\r\n"),
        (b'A2 SETMETADATA INBOX (/private/comment "hi")\r\n', b"A2 OK done\r\n"),
        (b"A3 NOOP\r\n", b"A3 OK done\r\n"),
    ]
    with Script(greeting, steps) as script:
        c = Both("blocking", script.port)
        c.connect()
        with pytest.raises(IMAPStatusError):
            c.set_quota("", {"STORAGE": 512})
        done = c.set_metadata("INBOX", {"/private/comment": "hi"})
        assert done.tagged.status == "OK"
        c.noop()
        c.close()
    assert script.errors == []


def test_rfc7162_qresync_select_after_a_select_asks_for_enable_first() -> None:
    """RFC 7162 §3.2.3 needs ENABLE QRESYNC before SELECT (QRESYNC ...), and RFC 5161
    §3.1 forbids ENABLE once a mailbox was selected: the client says so and sends
    nothing, instead of an ENABLE the server should refuse."""
    greeting = b"* PREAUTH [CAPABILITY IMAP4rev1 ENABLE CONDSTORE QRESYNC] hi\r\n"
    steps = [
        (
            b"A1 SELECT INBOX\r\n",
            b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\nA1 OK [READ-WRITE] ok\r\n",
        ),
        (b"A2 NOOP\r\n", b"A2 OK done\r\n"),
    ]
    with Script(greeting, steps) as script:
        c = Both("blocking", script.port)
        c.connect()
        c.client.select("INBOX")
        with pytest.raises(LocalProtocolError, match='enable\\("QRESYNC"\\)'):
            c.client.select("INBOX", qresync=imap.QResync(7, 1))
        c.client.noop()
        c.close()
    assert b"ENABLE" not in script.server.received
    assert script.errors == []


def test_rfc5464_depth_may_start_at_a_scope_root() -> None:
    """RFC 5464 §4.2.2: DEPTH returns the entries below the one named, so
    ``/private`` and ``/shared`` may be named with DEPTH 1 or infinity (only then)."""
    command = imap.GetMetadata("INBOX", ("/private",), depth="infinity")
    assert command.encode("A1").data == b"A1 GETMETADATA (DEPTH infinity) INBOX /private\r\n"
    with pytest.raises(ValueError):
        imap.GetMetadata("INBOX", ("/private",))
    with pytest.raises(ValueError):
        imap.SetMetadata("INBOX", {"/shared": "x"})


@pytest.mark.parametrize("keyword", ["\\Seen", "\\Flagged", "two words", ""])
def test_rfc9051_search_keyword_is_an_atom(keyword: str) -> None:
    """RFC 9051 §9: ``"KEYWORD" SP flag-keyword`` and flag-keyword is an atom, so a
    system flag (``\\Seen``: use SEEN/UNSEEN) or a phrase is refused before sending."""
    with pytest.raises(ValueError, match="needs an atom"):
        imap.Search(("KEYWORD", keyword))
    with pytest.raises(ValueError, match="needs an atom"):
        imap.Search(("UNKEYWORD", keyword))
    assert imap.Search(("KEYWORD", "$MDNSent")).encode("A1").data == (
        b"A1 UID SEARCH KEYWORD $MDNSent\r\n"
    )
