"""POP3 commands: validation (S18) and the bytes on the wire (RFC 1939, 2449, 5034, 6856).

Every expected line below is quoted from an RFC example or follows its
grammar literally; none is taken from mailwire's own output.
"""

from __future__ import annotations

import base64

import pytest

from mailwire._core import Outbound
from mailwire.pop3 import (
    Apop,
    Auth,
    AuthCancel,
    AuthResponse,
    Capa,
    Command,
    Dele,
    Lang,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    Utf8,
)
from mailwire.pop3._writer import write_command
from tests.unit.pop3.helpers import rfc_text

RFC1939 = rfc_text("1939")


def wire(command: Command, *, utf8_user: bool = False) -> bytes:
    out = Outbound()
    write_command(command, out, utf8_user=utf8_user)
    return out.drain().data


# (command, the line as the RFC example writes it)
EXAMPLES = [
    (Stat(), "C: STAT"),
    (List(), "C: LIST"),
    (List(2), "C: LIST 2"),
    (Retr(1), "C: RETR 1"),
    (Dele(1), "C: DELE 1"),
    (Noop(), "C: NOOP"),
    (Rset(), "C: RSET"),
    (Quit(), "C: QUIT"),
    (Top(1, 10), "C: TOP 1 10"),
    (Uidl(), "C: UIDL"),
    (Uidl(2), "C: UIDL 2"),
    (User("mrose"), "C: USER mrose"),
    (Pass("secret"), "C: PASS secret"),
    (
        Apop("mrose", "c4c9334bac560ecc979e58001b3e22fb"),
        "C: APOP mrose c4c9334bac560ecc979e58001b3e22fb",
    ),
]


@pytest.mark.parametrize(("command", "example"), EXAMPLES)
def test_rfc1939_examples(command: Command, example: str) -> None:
    assert example in RFC1939  # the line really is in the RFC
    assert wire(command) == example.removeprefix("C: ").encode() + b"\r\n"


@pytest.mark.parametrize(
    ("command", "number", "example"),
    [
        (Capa(), "2449", "C: CAPA"),
        (Stls(), "2595", "C: STLS"),
        (Lang(), "6856", "C: LANG"),
        (Lang("es"), "6856", "C: LANG es"),
        (Lang("*"), "6856", "C: LANG *"),
    ],
)
def test_extension_examples(command: Command, number: str, example: str) -> None:
    assert example in rfc_text(number)
    assert wire(command) == example.removeprefix("C: ").encode() + b"\r\n"


def test_utf8_command() -> None:
    # RFC 6856 §2.1: "The "UTF8" command has no parameters."
    assert wire(Utf8()) == b"UTF8\r\n"


def test_apop_digest_is_the_rfc_example() -> None:
    # RFC 1939 §7: MD5("<1896.697170952@dbc.mtview.ca.us>tanstaaf").
    assert "<1896.697170952@dbc.mtview.ca.us>tanstaaf" in RFC1939
    apop = Apop.from_secret("mrose", "<1896.697170952@dbc.mtview.ca.us>", "tanstaaf")
    assert apop.digest == "c4c9334bac560ecc979e58001b3e22fb"
    assert "c4c9334b" not in repr(apop)  # the digest is a secret (S40)


def test_apop_utf8_secret_is_saslprepped() -> None:
    # RFC 6856 §2.2: SASLprep the password as a stored string. U+00A0 (no-break
    # space) maps to a plain space under SASLprep (RFC 4013 §2.1).
    prepared = Apop.from_secret("u", "<t@x>", "a\u00a0b")
    assert prepared.digest == Apop.from_secret("u", "<t@x>", "a b").digest


def test_auth_forms() -> None:
    # RFC 5034 §4: initial response in base64; an empty one is "=".
    assert wire(Auth("PLAIN")) == b"AUTH PLAIN\r\n"
    assert wire(Auth("PLAIN", b"\0u\0p")) == b"AUTH PLAIN " + base64.b64encode(b"\0u\0p") + b"\r\n"
    assert wire(Auth("EXTERNAL", b"")) == b"AUTH EXTERNAL =\r\n"
    assert wire(AuthResponse(b"user")) == b"dXNlcg==\r\n"
    assert wire(AuthResponse(b"")) == b"\r\n"
    assert wire(AuthCancel()) == b"*\r\n"


def test_secret_spans() -> None:
    out = Outbound()
    write_command(Pass("tanstaaf"), out)
    send = out.drain()
    (start, end), *_ = send.secrets
    assert send.data[start:end] == b"tanstaaf"
    out = Outbound()
    write_command(Auth("PLAIN", b"\0mrose\0tanstaaf"), out)
    send = out.drain()
    (start, end), *_ = send.secrets
    assert base64.b64decode(send.data[start:end]) == b"\0mrose\0tanstaaf"
    out = Outbound()
    write_command(Apop("mrose", "c4c9334bac560ecc979e58001b3e22fb"), out)
    send = out.drain()
    (start, end), *_ = send.secrets
    assert send.data[start:end] == b"c4c9334bac560ecc979e58001b3e22fb"
    assert "tanstaaf" not in repr(Pass("tanstaaf"))


def test_multiline_is_decided_by_the_command() -> None:
    # RFC 1939 §5, §7: LIST and UIDL without an argument, RETR and TOP are
    # multi-line; RFC 2449 §5: CAPA; RFC 6856 §3.2: LANG without an argument.
    multi = [List(), Uidl(), Retr(1), Top(1, 0), Capa(), Lang()]
    single = [List(1), Uidl(1), Stat(), Dele(1), Noop(), Rset(), Quit(), User("u"), Lang("en")]
    assert all(c.multiline for c in multi)
    assert not any(c.multiline for c in single)


# ---------------------------------------------------------------- S18


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\x00b", "mrose\r\nDELE 1"])
@pytest.mark.parametrize(
    "make",
    [
        User,
        Pass,
        lambda s: Apop(s, "c4c9334bac560ecc979e58001b3e22fb"),
        lambda s: Apop.from_secret("mrose", "<1@x>", s),
        lambda s: Apop.from_secret("mrose", s, "secret"),
        Lang,
    ],
)
def test_controls_in_arguments_are_refused(make: object, bad: str) -> None:
    with pytest.raises(ValueError):
        make(bad)  # type: ignore[operator]


@pytest.mark.parametrize("number", [0, -1, True, 1.0, "1", None])
@pytest.mark.parametrize("make", [Retr, Dele, lambda n: Top(n, 0), List, Uidl])
def test_message_numbers_are_positive_ints(make: object, number: object) -> None:
    if number is None and make in (List, Uidl):
        return  # no argument: every message
    with pytest.raises(ValueError):
        make(number)  # type: ignore[operator]


@pytest.mark.parametrize("lines", [-1, True, 1.5])
def test_top_line_count(lines: object) -> None:
    with pytest.raises(ValueError):
        Top(1, lines)  # type: ignore[arg-type]


def test_other_bad_arguments() -> None:
    for bad in ("", "en us", "e\u00f1", "en-"):
        with pytest.raises(ValueError):
            Lang(bad)
    with pytest.raises(ValueError):
        User("")
    with pytest.raises(ValueError):
        Pass("")
    with pytest.raises(ValueError):
        Apop("mrose", "C4C9334BAC560ECC979E58001B3E22FB")  # RFC 1939: lower case hex
    with pytest.raises(ValueError):
        Apop("mr ose", "c4c9334bac560ecc979e58001b3e22fb")
    with pytest.raises(ValueError):
        Auth("plain")  # mechanism names are upper case (RFC 4422 §3.1)


def test_command_line_limit() -> None:
    # RFC 2449 §4: 255 octets including CRLF; an AUTH continuation has no limit.
    wire(User("u" * (255 - len("USER \r\n"))))
    with pytest.raises(ValueError, match="255"):
        wire(User("u" * (256 - len("USER \r\n"))))
    assert len(wire(AuthResponse(b"x" * 1000))) > 255


def test_non_ascii_credentials_need_utf8_user() -> None:
    # RFC 6856 §2.2: "Clients MUST NOT use UTF-8 characters when authenticating
    # if the server did not include the USER argument".
    with pytest.raises(ValueError, match="UTF8 USER"):
        wire(Pass("pässwörd"))
    with pytest.raises(ValueError, match="UTF8 USER"):
        wire(User("jürgen"))
    assert wire(Pass("pässwörd"), utf8_user=True) == "PASS pässwörd\r\n".encode()
