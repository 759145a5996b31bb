"""Command injection (security.md S14) and ESMTP parameter smuggling (S15).

Every argument that reaches a command line is tried with CR, LF, NUL and a
smuggled second command: ``ValueError``, and nothing in ``data_to_send()``.
Addresses that would carry parameters out of their angle brackets are refused;
valid quoted local parts pass (RFC 5321 §4.1.2 Quoted-string).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwire.smtp import (
    Auth,
    AuthResponse,
    Command,
    Ehlo,
    Expn,
    Helo,
    Help,
    Lhlo,
    MailFrom,
    Noop,
    RcptTo,
    Vrfy,
)

from .helpers import exchange, ready, rfc_text

#: Every command argument a caller controls, as a constructor of one string.
ARGUMENTS: dict[str, Callable[[str], Command]] = {
    "EHLO domain": lambda s: Ehlo(s),
    "HELO domain": lambda s: Helo(s),
    "LHLO domain": lambda s: Lhlo(s),
    "MAIL sender": lambda s: MailFrom(s),
    "RCPT recipient": lambda s: RcptTo(s),
    "VRFY argument": lambda s: Vrfy(s),
    "EXPN argument": lambda s: Expn(s),
    "HELP argument": lambda s: Help(s),
    "AUTH mechanism": lambda s: Auth(s),
    "MAIL param keyword": lambda s: MailFrom("a@example.org", {s: None}),
    "MAIL param value": lambda s: MailFrom("a@example.org", {"ENVID": s}),
    "RCPT param keyword": lambda s: RcptTo("b@example.org", {s: "x"}),
    "RCPT param value": lambda s: RcptTo("b@example.org", {"NOTIFY": s}),
}

CONTROLS = {
    "CR": "\r",
    "LF": "\n",
    "NUL": "\x00",
    "CRLF": "\r\n",
    "smuggled": "\r\nRCPT TO:<attacker@evil.example>\r\n",
    "surrogate-escaped CR": "\udc0d",  # byte 0x0D smuggled through surrogateescape
}


@pytest.mark.parametrize("control", CONTROLS.values(), ids=CONTROLS.keys())
@pytest.mark.parametrize("where", ARGUMENTS, ids=ARGUMENTS.keys())
@pytest.mark.parametrize("position", ["start", "middle", "end"])
def test_controls_in_every_argument(where: str, control: str, position: str) -> None:
    """S14: CR, LF or NUL anywhere -> ValueError before anything is queued."""
    base = "example.org" if "domain" in where else "user@example.org"
    if "keyword" in where or "mechanism" in where:
        base = "KEY"
    value = {
        "start": control + base,
        "middle": base[:2] + control + base[2:],
        "end": base + control,
    }[position]
    conn = ready()
    if where.startswith("RCPT"):
        exchange(conn, MailFrom("a@example.org"), b"250 ok\r\n")
    state = conn.state
    with pytest.raises(ValueError):
        conn.send(ARGUMENTS[where](value))
    assert conn.data_to_send() == b""
    assert conn.state is state
    assert conn.error is None
    conn.send(Noop())  # the session goes on
    assert conn.data_to_send() == b"NOOP\r\n"


# -------------------------------------------------------------------- S15

SMUGGLING = [
    "a@b> NOTIFY=SUCCESS",  # security.md S15
    "a@b> SIZE=1 ORCPT=rfc822;x@y",
    "<a@b",
    "a@b>",
    "a b@c",  # space outside quotes
    "a@b c@d",  # two addresses in one string
    "a@b, c@d",
    "a@b\tSIZE=1",
    "a@b SIZE=1",
    "a@b>\r\nRSET",
    '"a"@b> BODY=8BITMIME',
    "a@b\x0bNOTIFY=NEVER",  # vertical tab
    "a@b\u3000x",  # ideographic space
]


@pytest.mark.parametrize("address", SMUGGLING)
@pytest.mark.parametrize("command", [MailFrom, RcptTo], ids=["MAIL", "RCPT"])
def test_parameter_smuggling_in_addresses(command: type[Command], address: str) -> None:
    conn = ready()
    with pytest.raises(ValueError):
        conn.send(command(address))  # type: ignore[call-arg]
    assert conn.data_to_send() == b""


@pytest.mark.parametrize(
    ("address", "line"),
    [
        ('"a b"@c.example', b'MAIL FROM:<"a b"@c.example>\r\n'),  # S15: valid quoted part
        ('"john \\"jr\\" smith"@example.org', b'MAIL FROM:<"john \\"jr\\" smith"@example.org>\r\n'),
        ("user+tag@example.org", b"MAIL FROM:<user+tag@example.org>\r\n"),
        ("", b"MAIL FROM:<>\r\n"),  # §4.5.5 null reverse-path
        ("u@[192.0.2.1]", b"MAIL FROM:<u@[192.0.2.1]>\r\n"),
        ("u@[IPv6:2001:db8::1]", b"MAIL FROM:<u@[IPv6:2001:db8::1]>\r\n"),
    ],
)
def test_valid_addresses_pass(address: str, line: bytes) -> None:
    conn = ready()
    conn.send(MailFrom(address))
    assert conn.data_to_send() == line


def test_empty_recipient_is_refused() -> None:
    """§4.1.1.3: RCPT needs a forward-path; only MAIL has the null path."""
    with pytest.raises(ValueError, match="empty"):
        RcptTo("")


@pytest.mark.parametrize("address", ['"x" SIZE=1 "@z.example', '"a" "b"@c.example'])
def test_fake_quoted_local_part(address: str) -> None:
    """RFC 5321 §4.1.2: Quoted-string = DQUOTE *QcontentSMTP DQUOTE, and qtextSMTP
    excludes '"': a space between two quoted strings is outside quotes (S15)."""
    with pytest.raises(ValueError):
        MailFrom(address)


@pytest.mark.parametrize(
    "params",
    [
        {"SIZE=1": None},  # keyword with "="
        {"SIZE 1": None},
        {"": None},
        {"-X": None},  # esmtp-keyword starts with ALPHA / DIGIT
        {"X_Y": "1"},
        {"NOTIFY": "SUCCESS ORCPT=rfc822;x@y"},  # a second parameter in a value
        {"ENVID": ""},  # esmtp-value is 1*(...)
        {"ENVID": "a=b"},  # "=" is not in esmtp-value (%d33-60 / %d62-126)
        {"ENVID": "a\tb"},
        {"RET": "FULL\x7f"},
    ],
)
def test_bad_parameters(params: dict[str, str | None]) -> None:
    """RFC 5321 §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
    esmtp-value = 1*(%d33-60 / %d62-126)."""
    text = rfc_text("5321")
    assert 'esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")' in text
    with pytest.raises(ValueError):
        MailFrom("a@example.org", params)
    with pytest.raises(ValueError):
        RcptTo("b@example.org", params)


def test_good_parameters() -> None:
    conn = ready()
    conn.send(MailFrom("a@example.org", {"BODY": "8BITMIME", "ENVID": "QQ314159", "RET": "HDRS"}))
    conn.send(RcptTo("b@example.org", {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;b@x.org"}))
    assert conn.data_to_send() == (
        b"MAIL FROM:<a@example.org> BODY=8BITMIME ENVID=QQ314159 RET=HDRS\r\n"
        b"RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@x.org\r\n"
    )


@pytest.mark.parametrize("domain", ["", " ", "a b", "a\tb", "client.example "])
def test_bad_hello_domains(domain: str) -> None:
    for command in (Ehlo, Helo, Lhlo):
        with pytest.raises(ValueError):
            command(domain)


@pytest.mark.parametrize("argument", ["Smith", "Fred Smith", "<a@b>", "a@b c"])
def test_vrfy_takes_a_string_with_spaces(argument: str) -> None:
    """§4.1.1.6: VRFY <SP> String; spaces are fine, line ends are not."""
    conn = ready()
    conn.send(Vrfy(argument))
    assert conn.data_to_send() == f"VRFY {argument}\r\n".encode()


def test_auth_payloads_cannot_break_the_line() -> None:
    """SASL data is base64 on the wire, so any bytes stay inside one line."""
    payload = b"\0user\r\nMAIL FROM:<x@y>\r\n\0pass"
    conn = ready()
    conn.send(Auth("PLAIN", payload))
    line = conn.data_to_send()
    assert line.count(b"\r\n") == 1
    assert base64.b64decode(line[len(b"AUTH PLAIN ") : -2]) == payload
    exchange(conn, [], b"535 no\r\n")
    exchange(conn, Auth("LOGIN"), b"334 VXNlcm5hbWU6\r\n")
    conn.send(AuthResponse(payload))
    assert conn.data_to_send().count(b"\r\n") == 1


def test_help_with_an_unwritable_argument_writes_nothing() -> None:
    """ARCHITECTURE §3: bad caller input "raises ValueError and sends nothing"."""
    conn = ready()
    with pytest.raises(ValueError):
        conn.send(Help("grüße"))
    assert conn.data_to_send() == b""
    conn.send(Noop())
    assert conn.data_to_send() == b"NOOP\r\n"


# ------------------------------------------------------------ hypothesis

SAFE = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='<>"\\@'),
    min_size=1,
    max_size=20,
)


@settings(max_examples=200)
@given(
    where=st.sampled_from(sorted(ARGUMENTS)),
    text=st.text(max_size=30),
    control=st.sampled_from(["\r", "\n", "\x00"]),
    at=st.integers(0, 30),
)
def test_any_argument_with_a_control_is_refused(
    where: str, text: str, control: str, at: int
) -> None:
    value = text[:at] + control + text[at:]
    with pytest.raises(ValueError):
        ARGUMENTS[where](value)


# RFC 5321 §4.1.2: a Dot-string local part (RFC 5322 atext) and an LDH domain.
LOCAL = st.from_regex(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\.[A-Za-z0-9_-]{1,5}){0,2}", fullmatch=True
)
DOMAIN = st.from_regex(
    r"[A-Za-z0-9]{1,10}(\.[A-Za-z0-9]([A-Za-z0-9-]{0,5}[A-Za-z0-9])?){0,2}", fullmatch=True
)


@settings(max_examples=200)
@given(local=LOCAL, domain=DOMAIN, rcpts=st.lists(st.tuples(LOCAL, DOMAIN), max_size=3))
def test_one_line_per_command(local: str, domain: str, rcpts: list[tuple[str, str]]) -> None:
    """Whatever mailbox the caller gives, each command is exactly one CRLF line."""
    conn = ready()
    conn.send(MailFrom(f"{local}@{domain}"))
    for rl, rd in rcpts:
        conn.send(RcptTo(f"{rl}@{rd}"))
    wire = conn.data_to_send()
    lines = wire.split(b"\r\n")
    assert lines[-1] == b""
    assert len(lines) == 2 + len(rcpts)
    assert lines[0] == f"MAIL FROM:<{local}@{domain}>".encode()
    for line in lines[:-1]:
        assert line.count(b"<") == 1
        assert line.count(b">") == 1
        assert line.endswith(b">")
