"""S41: hostile bytes from a server are escaped in every rendering, reversibly."""

from __future__ import annotations

import pytest

from mailwire._transcript_escape import escape_bytes, unescape_bytes
from mailwire.transcript import Kind, Transcript

from .helpers import every_output, is_safe_to_print

HOSTILE = [
    (b"\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),  # OSC: retitle the terminal
    (b"\x1b[2J", "\\x1b[2J"),  # clear the screen
    (b"\x9b31m", "\\x9b31m"),  # a lone byte 0x9B: 8-bit CSI, and not UTF-8
    ("\u009b31m".encode(), "\\u009b31m"),  # U+009B as UTF-8: the C1 control itself
    ("\u0085".encode(), "\\u0085"),  # NEL
    ("abc\u202edef".encode(), "abc\\u202edef"),  # right-to-left override
    ("\u2066x\u2069\u200e\u200f\u061c".encode(), "\\u2066x\\u2069\\u200e\\u200f\\u061c"),
    ("\u2028\u2029".encode(), "\\u2028\\u2029"),  # line and paragraph separators
    ("\u00a0\u3000".encode(), "\\u00a0\\u3000"),  # spaces that are not U+0020
    ("\U000e0041".encode(), "\\U000e0041"),  # a tag character (invisible)
    (b"nul\x00here", "nul\\x00here"),
    (b"del\x7f", "del\\x7f"),
    (b"bell\x07", "bell\\x07"),
    (b"\xff\xfe", "\\xff\\xfe"),  # not UTF-8
    (b"\xed\xa0\x80", "\\xed\\xa0\\x80"),  # an encoded surrogate is not UTF-8 either
    (b"\xc3", "\\xc3"),  # a truncated sequence
    (b"caf\xc3\xa9", "caf\u00e9"),  # valid printable UTF-8 is shown as is
    ("\u05e9\u05dc\u05d5\u05dd".encode(), "\u05e9\u05dc\u05d5\u05dd"),  # so is Hebrew
    (b"a\\x1b", "a\\\\x1b"),  # a literal backslash cannot forge an escape
]


@pytest.mark.parametrize(("data", "shown"), HOSTILE)
def test_escape_table(data: bytes, shown: str) -> None:
    assert escape_bytes(data) == shown
    assert unescape_bytes(shown) == data


@pytest.mark.parametrize(("data", "shown"), HOSTILE)
def test_server_text_is_escaped_in_every_output(data: bytes, shown: str) -> None:
    t = Transcript(keep_secrets=True)
    t.received(b"220 " + data + b" ready\r\n")
    t.event("greeting: " + data.decode("utf-8", "surrogateescape"))
    t.add(Kind.ERROR, note=data.decode("latin-1"))
    outputs = every_output(t)
    for name, text in outputs.items():
        assert is_safe_to_print(text), name
    assert f"S: 220 {shown} ready\n" in outputs["text"]
    assert f"# event: greeting: {shown}\n" in outputs["text"]
    loaded = Transcript.loads(outputs["text"])
    assert loaded.server_bytes() == t.server_bytes()
    assert [r.note for r in loaded.records] == [r.note for r in t.records]


def test_escaped_output_has_no_raw_controls_for_every_byte() -> None:
    data = bytes(range(256)) + "".join(chr(c) for c in range(0x80, 0x800)).encode()
    t = Transcript(keep_secrets=True)
    t.received(data)
    t.sent(data, secrets=((10, 20),))
    for reveal in (False, True):
        for name, text in every_output(t, reveal_secrets=reveal).items():
            assert is_safe_to_print(text), name
    loaded = Transcript.loads(t.render(reveal_secrets=True))
    assert loaded.server_bytes() == data
    assert loaded.client_bytes() == data


@pytest.mark.parametrize("bad", ["\\q", "\\", "\\x1", "\\u12", "\\U00110000"])
def test_unknown_escape_is_an_error(bad: str) -> None:
    with pytest.raises(ValueError, match=r"escape|U\+10FFFF"):
        unescape_bytes(bad)


def test_escaped_surrogate_code_point_in_data_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"transcript line 1: .*lone surrogate"):
        Transcript.loads("C: \\ud800")
