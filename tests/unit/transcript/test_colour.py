"""Colour by reply class: only on request, the environment rules, and nothing else changed.

SGR codes are ECMA-48 §8.3.117: 31 red, 32 green, 33 yellow, 34 blue, 35
magenta, 36 cyan, 1 bold, 2 faint, 0 reset. The reply classes are RFC 5321
§4.2.1 (SMTP's first digit), RFC 1939 §3 (POP3 +OK/-ERR), RFC 5034 §4 (the
POP3 ``+`` continuation), RFC 9051 §7.1 and §7.5 (IMAP status responses and
the ``+`` continuation request).
"""

from __future__ import annotations

import io
import itertools
import re

import pytest

from mailwire.transcript import Direction, Kind, Transcript, use_color

from .helpers import smtp_starttls_session

SGR = re.compile("\x1b\\[([0-9;]*)m")
RED, GREEN, YELLOW, BLUE, MAGENTA, CYAN, BOLD_RED, FAINT = (
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "1;31",
    "2",
)


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


# ------------------------------------------------------------------ environment


@pytest.mark.parametrize(
    ("environ", "tty", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),  # NO_COLOR first
        ({"NO_COLOR": ""}, True, True),  # empty is unset (no-color.org)
        ({"NO_COLOR": "", "FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, False, True),  # FORCE_COLOR before TERM
        ({"FORCE_COLOR": ""}, False, False),
        ({"TERM": "dumb"}, True, False),
        ({"TERM": "xterm-256color"}, True, True),
        ({"TERM": "xterm-256color"}, False, False),
    ],
)
def test_environment_rules(environ: dict[str, str], tty: bool, expected: bool) -> None:
    assert use_color(Stream(tty), environ) is expected


def test_default_environment_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setenv("NO_COLOR", "yes")
    assert use_color(Stream(True)) is False
    monkeypatch.delenv("NO_COLOR")
    assert use_color(Stream(True)) is True
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert use_color(Stream(False)) is True


def test_streams_that_are_not_terminals() -> None:
    closed = io.StringIO()
    closed.close()  # isatty() raises ValueError
    assert use_color(closed, {}) is False
    assert use_color(object(), {}) is False  # type: ignore[arg-type]  # no isatty at all


# ------------------------------------------------------------------ reply classes


def session(protocol: str | None, server_lines: list[bytes]) -> Transcript:
    counter = itertools.count()
    t = Transcript(clock=lambda: next(counter) / 100)
    t.protocol = protocol
    t.add(Kind.CONNECT, note="connected to mail.example:25 (192.0.2.1:25)")
    t.sent(b"NOOP\r\n")
    for line in server_lines:
        t.received(line + b"\r\n")
    return t


CASES = {
    "smtp": [
        (b"220 mail.example ESMTP", GREEN),  # 2yz positive completion
        (b"250-PIPELINING", GREEN),  # a continued line of a positive reply
        (b"354 go on", CYAN),  # 3yz positive intermediate
        (b"334 VXNlcm5hbWU6", CYAN),
        (b"334 ", CYAN),  # an empty challenge, rendered "334\x20"
        (b"421 4.3.2 closing", YELLOW),  # 4yz transient negative
        (b"451 4.7.1 later", YELLOW),
        (b"550 5.1.1 no such user", RED),  # 5yz permanent negative
        (b"554", RED),  # a code alone
    ],
    "pop3": [
        (b"+OK POP3 ready", GREEN),
        (b"-ERR no such message", RED),
        (b"+ ", CYAN),  # AUTH continuation (RFC 5034 §4), rendered "+\x20"
        (b"+", CYAN),
    ],
    "imap": [
        (b"* OK [CAPABILITY IMAP4rev2] ready", GREEN),
        (b"A1 OK done", GREEN),
        (b"* PREAUTH welcome", GREEN),
        (b"A2 NO [TRYCREATE] no such mailbox", RED),
        (b"* NO disk almost full", RED),
        (b"A3 BAD unknown command", BOLD_RED),
        (b"* BYE logging out", MAGENTA),
        (b"+ idling", CYAN),
        (b"+ Ready for literal data", CYAN),
        (b"a9 ok lower case", GREEN),  # status words are case-insensitive (RFC 9051 §9)
    ],
}


@pytest.mark.parametrize("protocol", ["smtp", "pop3", "imap"])
@pytest.mark.parametrize("style", ["text", "annotated"])
def test_every_reply_class(protocol: str, style: str) -> None:
    lines = [line for line, _ in CASES[protocol]]
    for guessed in (protocol, None):  # told the protocol, or left to recognise it
        rendered = session(guessed, lines).render(style, color=True)
        for line, code in CASES[protocol]:
            shown = line.decode().removesuffix(" ") + ("\\x20" if line.endswith(b" ") else "")
            expected = f"\x1b[{code}mS: {shown}\x1b[0m"  # a trailing space shows as \x20
            assert expected in rendered, (guessed, line)
        assert "\x1b[34mC: NOOP\x1b[0m" in rendered  # the client's lines: blue
        assert f"\x1b[{FAINT}m# connect: connected to" in rendered  # comments: faint


def test_lmtp_is_coloured_as_smtp() -> None:
    rendered = session("lmtp", [b"250 2.1.5 ok", b"452 4.2.2 full"]).render(color=True)
    assert f"\x1b[{GREEN}mS: 250 2.1.5 ok\x1b[0m" in rendered
    assert f"\x1b[{YELLOW}mS: 452 4.2.2 full\x1b[0m" in rendered


@pytest.mark.parametrize(
    ("protocol", "line"),
    [
        ("imap", b"* 3 EXISTS"),  # untagged data: no status
        ("imap", b'* LIST () "/" INBOX'),
        ("imap", b"250 looks like SMTP"),  # not an IMAP status line
        ("pop3", b"1 120"),  # a scan listing
        ("pop3", b"550 a message body line"),  # RETR data, not an SMTP reply
        ("pop3", b"* OK not pop3"),
        ("smtp", b"+OK not smtp"),
        ("smtp", b"2500 not a code"),
        ("smtp", b"600 no such class"),
    ],
)
def test_other_server_lines_stay_plain(protocol: str, line: bytes) -> None:
    rendered = session(protocol, [line]).render(color=True)
    shown = next(text for text in rendered.splitlines() if text.startswith(f"S: {line.decode()}"))
    assert "\x1b" not in shown


def test_annotated_time_stays_outside_the_colour() -> None:
    rendered = session("smtp", [b"250 ok"]).render("annotated", color=True)
    assert re.search(r"^ +[0-9]+\.[0-9]{3}  \x1b\[32mS: 250 ok\x1b\[0m$", rendered, re.M)


def test_tls_markers_are_coloured_too() -> None:
    t = session("smtp", [])
    t.tls_established("TLSv1.3")
    t.sent(b"EHLO client.example\r\n")
    t.received(b"535 5.7.8 bad credentials\r\n")
    rendered = t.render(color=True)
    assert "\x1b[34mC*: EHLO client.example\x1b[0m" in rendered
    assert "\x1b[31mS*: 535 5.7.8 bad credentials\x1b[0m" in rendered


def test_raw_view_colours_records() -> None:
    rendered = session("smtp", [b"550 no"]).render("raw", color=True)
    lines = rendered.splitlines()
    assert not SGR.search(lines[0])  # the legend
    client = next(line for line in lines if " data       C " in SGR.sub("", line))
    server = next(line for line in lines if " data       S " in SGR.sub("", line))
    assert client.startswith("\x1b[34m")
    assert server.startswith("\x1b[31m")
    connect = next(line for line in lines if "connect" in line)
    assert connect.startswith(f"\x1b[{FAINT}m")


# ------------------------------------------------------------------ off, and nothing else changed


def test_no_escape_codes_by_default_or_when_disabled() -> None:
    t = smtp_starttls_session()
    # A hostile server line with its own escape sequences.
    t.received(b"250 \x1b[2J\x1b]0;title\x07 \x9b31m ok\r\n")
    for style in ("text", "annotated", "raw"):
        for rendered in (t.render(style), t.render(style, color=False)):
            assert "\x1b" not in rendered
            assert "\x9b" not in rendered
    assert "\x1b" not in t.to_jsonl()
    assert "\x1b" not in t.to_html()


@pytest.mark.parametrize("style", ["text", "annotated", "raw"])
def test_stripping_the_codes_gives_the_plain_render(style: str) -> None:
    t = smtp_starttls_session()
    t.received(b"250 \x1b[31m hostile \x1b[0m\r\n")  # escaped, so never mistaken for ours
    for protocol in ("smtp", "pop3", "imap", None):
        t.protocol = protocol
        coloured = t.render(style, color=True)
        assert SGR.search(coloured)
        assert SGR.sub("", coloured) == t.render(style)
        # Every code opens a line and is closed by a reset at its end.
        for line in coloured.splitlines():
            if SGR.search(line):
                assert re.fullmatch(r"(?: +[0-9.]+  )?\x1b\[[0-9;]+m[^\x1b]*\x1b\[0m", line)


def test_server_bytes_cannot_forge_a_class() -> None:
    # A server line that *contains* an SGR sequence is escaped before colouring.
    t = session("smtp", [b"250 ok \x1b[31mfake"])
    rendered = t.render(color=True)
    assert "\x1b[32mS: 250 ok \\x1b[31mfake\x1b[0m" in rendered


def test_server_marker_direction_only_for_data() -> None:
    t = Transcript()
    t.add(Kind.CLOSE, Direction.SERVER, note="server closed the connection")
    assert t.render(color=True).splitlines()[1] == (
        f"\x1b[{FAINT}m# close S: server closed the connection\x1b[0m"
    )


def test_html_cells_carry_the_reply_class() -> None:
    t = session("smtp", [b"250 ok", b"451 later", b"550 no", b"334 "])
    page = t.to_html()
    for line, kind in (("250 ok", "positive"), ("451 later", "transient"), ("550 no", "permanent")):
        assert f'<td class="text {kind}">{line}</td>' in page
    assert '<td class="text intermediate">334\\x20</td>' in page
    assert '<tr class="c"><td class="who" title="client">C</td><td class="text">NOOP</td>' in page
    imap = session("imap", [b"* OK hi", b"A1 NO [TRYCREATE] no", b"* BYE"]).to_html()
    assert '<td class="text no">A1 NO [TRYCREATE] no</td>' in imap
    assert '<td class="text bye">* BYE</td>' in imap
    assert "\x1b" not in page + imap  # colour in HTML is the page's CSS, never SGR


@pytest.mark.parametrize(
    ("protocol", "line", "flagged"),
    [
        ("smtp", b"250 ok", False),
        ("smtp", b"354 go ahead", False),
        ("smtp", b"451 4.3.0 try later", True),  # RFC 5321 §4.2.1: transient negative
        ("smtp", b"550 5.1.1 no such user", True),  # permanent negative
        ("pop3", b"+OK", False),
        ("pop3", b"-ERR no such message", True),  # RFC 1939 §3
        ("pop3", b"550 a message body line", False),  # RETR data, not a reply
        ("imap", b"A1 OK done", False),
        ("imap", b"A1 NO [TRYCREATE] no mailbox", True),  # RFC 9051 §7.1
        ("imap", b"A1 BAD syntax", True),
        ("imap", b"* BYE shutting down", True),
        ("imap", b"* 3 EXISTS", False),
    ],
)
def test_annotated_view_flags_refusals(protocol: str, line: bytes, flagged: bool) -> None:
    rendered = session(protocol, [line]).render("annotated")
    shown = next(text for text in rendered.splitlines() if text.endswith(line.decode()))
    mark = " !S: " if flagged else "  S: "
    assert re.fullmatch(r" +[0-9]+\.[0-9]{3}" + re.escape(mark + line.decode()), shown), shown
    # The plain text view is what Transcript.load reads back: never flagged.
    assert "!S:" not in session(protocol, [line]).render()
