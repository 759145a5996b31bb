"""The FETCH fast path and the token parser agree (issue 5).

:mod:`mailwire.imap._fastfetch` has two regex paths: the plain one for
responses without backslashes (after the flags) or literals, which converts
captured groups inline, and the general one. Both must give exactly the
objects the token-based parser of :mod:`mailwire.imap._fetch` gives, which
the table tests check against RFC 9051's examples. Here: the W3 benchmark's
generated listing (shared/bench/imapgen.py, every body shape it makes) and
hand-written responses aimed at the plain path's shortcuts.
"""

from __future__ import annotations

import email.utils
import importlib.util
import sys
from datetime import datetime
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwire._buffer import ReceiveBuffer
from mailwire.imap import FetchData
from mailwire.imap._decode import parse_header_date
from mailwire.imap._fastfetch import fast_msg_att
from mailwire.imap._fetch import msg_att
from mailwire.imap._frames import Frame, FrameReader
from mailwire.imap._lexer import Decoder

from .helpers import SHARED


def _frames(data: bytes) -> list[Frame]:
    buf = ReceiveBuffer()
    buf.feed(data)
    buf.feed(b"")
    reader = FrameReader()
    out = []
    while (frame := reader.read(buf)) is not None:
        out.append(frame)
    return out


def _both(frame: Frame) -> tuple[FetchData | None, FetchData]:
    text = frame.text
    space = text.index(b" ", 2)
    seq = int(text[2:space])
    fast = fast_msg_att(text, space + 7, frame.literals, seq, 100)
    d = Decoder(text[space + 7 :], frame.literals)
    slow = msg_att(d, seq)
    d.end()
    return fast, slow


def _imapgen() -> ModuleType:
    path = SHARED / "bench" / "imapgen.py"
    # shared/ sits beside the checkout; without it this test would prove nothing.
    assert path.is_file(), path
    spec = importlib.util.spec_from_file_location("mailwire_test_imapgen", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # it imports its sibling benchlib
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def test_generated_listing_parses_the_same_on_both_paths() -> None:
    frames = _frames(_imapgen().fetch_lines(1500))
    assert len(frames) == 1500
    taken = 0
    for frame in frames:
        fast, slow = _both(frame)
        assert not slow.defects
        if fast is not None:
            taken += 1
            assert fast == slow, frame.text[:120]
    # 8-bit subjects (literals with non-ASCII) are the only ones it may leave.
    ascii_frames = sum(
        1 for f in frames if all(isinstance(x, bytes) and x.isascii() for x in f.literals)
    )
    assert taken >= ascii_frames


PLAIN = [
    # parameter lists: a NIL value, an empty value, an encoded word, a repeated key
    b'* 1 FETCH (UID 5 BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" NIL "FORMAT" "flowed") '
    b'NIL NIL "7BIT" 10 1 NIL NIL NIL NIL))',
    b'* 2 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "") NIL NIL "7bit" 10 1))',
    b'* 3 FETCH (BODYSTRUCTURE ("APPLICATION" "PDF" ("NAME" "=?UTF-8?Q?caf=C3=A9?=.pdf" '
    b'"name" "b") "<id@x>" "=?UTF-8?B?w6k=?=" "base64" 12 "md5" ("attachment" '
    b'("filename" "a b.pdf")) ("en" "de") "http://x/y"))',
    # mixed-case type names, a description, message/rfc822 inside a multipart
    b'* 4 FETCH (FLAGS (\\Seen) BODYSTRUCTURE (("Text" "Html" NIL NIL "desc" "QUOTED-PRINTABLE" '
    b'5 1 NIL ("INLINE" NIL) NIL NIL)("MESSAGE" "RFC822" ("NAME" "m.eml") NIL NIL "7BIT" 40 '
    b'("Mon, 7 Feb 1994 21:52:25 -0800" "s" (("A" NIL "a" "x")) NIL NIL NIL NIL NIL NIL NIL) '
    b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 3 1) 4 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "b") '
    b'("inline" NIL) "fr" NIL))',
    # an envelope whose Sender and Reply-To differ from From, group syntax, NIL date
    b'* 5 FETCH (ENVELOPE (NIL NIL (("A" NIL "a" "x")) (("B" NIL "b" "x")) (("A" NIL "a" "x")) '
    b'((NIL NIL "grp" NIL)("C" NIL "c" "y")(NIL NIL NIL NIL)) NIL NIL "<r@x>" "<m@x>"))',
    b'* 6 FETCH (ENVELOPE ("Tue, 1 Mar 2022 10:00:00 +0000" "=?utf-8?q?a?= =?utf-8?q?b?=" '
    b"NIL NIL NIL NIL NIL NIL NIL NIL) UID 9)",
    # message/partial has no envelope: it is a leaf
    b'* 7 FETCH (BODYSTRUCTURE ("MESSAGE" "PARTIAL" ("ID" "x" "NUMBER" "1") NIL NIL "7BIT" 9))',
]


@pytest.mark.parametrize("data", PLAIN, ids=range(len(PLAIN)))
def test_plain_path_shortcuts_match_the_token_parser(data: bytes) -> None:
    (frame,) = _frames(data + b"\r\n")
    fast, slow = _both(frame)
    assert fast is not None, "expected the fast path to take this"
    assert fast == slow
    assert dict(fast.bodystructure.params if fast.bodystructure else {}) == dict(
        slow.bodystructure.params if slow.bodystructure else {}
    )


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(-23 * 60 - 59, 23 * 60 + 59),
    st.booleans(),
)
def test_header_dates_read_as_the_standard_library_reads_them(
    when: datetime, offset: int, day_name: bool
) -> None:
    # The canonical RFC 5322 form has its own fast regex; email.utils is the referee.
    when = when.replace(microsecond=0)
    sign = "-" if offset < 0 else "+"
    zone = f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
    text = f"{when:%d %b %Y %H:%M:%S} {zone}".lstrip("0")
    if day_name:
        text = f"{when:%a}, {text}"
    expected = email.utils.parsedate_to_datetime(text)
    assert parse_header_date(text) == expected
    assert parse_header_date(text).utcoffset() == expected.utcoffset()  # type: ignore[union-attr]
