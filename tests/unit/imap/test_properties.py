"""Hypothesis: encoder-to-parser round trips, splits, and fuzzing the parser.

- what the encoder writes (astring, quoted, literal, modified UTF-7 names,
  sequence sets, search keys) reads back to the same values through the
  response lexer, an independent piece of code;
- any split of a response stream gives the same responses;
- any bytes give responses or a RemoteProtocolError, never another
  exception; where the fast FETCH path accepts a response, the token parser
  accepts it too and agrees.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailwire._buffer import ReceiveBuffer
from mailwire.errors import RemoteProtocolError
from mailwire.imap import (
    EncodeOptions,
    SequenceSet,
    decode_mailbox_name,
    encode_mailbox_name,
    search,
)
from mailwire.imap._fastfetch import fast_msg_att
from mailwire.imap._fetch import msg_att
from mailwire.imap._frames import Frame, FrameReader
from mailwire.imap._lexer import Decoder
from mailwire.imap._utf7 import decode_utf7, encode_utf7
from mailwire.imap._writer import Arg, AString, encode
from mailwire.imap.commands import Search
from mailwire.limits import Limits

from .helpers import read_all, split_at
from .test_rfc9051_fetch import CASES as FETCH_CASES
from .test_rfc9051_responses import CASES as RESPONSE_CASES

# Text an argument may hold: anything but CR, LF, NUL and lone surrogates.
ARG_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=40
)


def frame_of(wire: bytes) -> Frame:
    """Read a client command back as a frame (synchronizing literals only)."""
    buf = ReceiveBuffer()
    buf.feed(wire)
    frame = FrameReader().read(buf)
    assert frame is not None
    assert len(buf) == 0
    return frame


def decode_args(args: list[Arg], options: EncodeOptions | None = None) -> Decoder:
    wire = encode("T", [AString(b"X"), *args], options).data
    frame = frame_of(wire)
    d = Decoder(frame.text, frame.literals)
    assert d.next() == b"T"
    assert d.next() == b"X"
    return d


@given(ARG_TEXT, st.booleans())
def test_astring_round_trip(text: str, utf8: bool) -> None:
    d = decode_args([AString(text)], EncodeOptions(utf8=utf8))
    assert d.astring().decode("utf-8") == text
    d.end()


@given(ARG_TEXT)
def test_string_round_trip(text: str) -> None:
    """Where the grammar wants a string, it is quoted or a literal, never an atom."""
    d = decode_args([AString(text, atom=False)])
    token = d.peek()
    assert token[:1] == b'"' or token.endswith(b"}\r\n")
    assert d.nstring() == text.encode("utf-8")


@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"), max_size=60))
def test_printable_ascii_is_quoted_or_atom_not_literal(text: str) -> None:
    wire = encode("T", [AString(text)]).data
    assert b"{" not in wire or "{" in text
    d = decode_args([AString(text)])
    assert d.astring() == text.encode("ascii")


@given(st.integers(4097, 6000), st.binary(min_size=1, max_size=20))
@settings(max_examples=20)
def test_long_strings_go_as_literals(size: int, pattern: bytes) -> None:
    data = (pattern * size)[:size].replace(b"\r", b"r").replace(b"\n", b"n").replace(b"\0", b"0")
    d = decode_args([AString(data)])
    assert d.peek() == b"{%d}\r\n" % len(data)
    assert d.astring() == data


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_modified_utf7_round_trip(name: str) -> None:
    raw = encode_utf7(name)
    assert raw.isascii()
    assert decode_utf7(raw) == name
    assert decode_mailbox_name(encode_mailbox_name(name)) == name
    assert decode_mailbox_name(encode_mailbox_name(name, utf8=True)) == name


@given(st.lists(st.integers(1, 2**32 - 1), min_size=1, max_size=50))
def test_sequence_set_round_trip(numbers: list[int]) -> None:
    seq = SequenceSet.from_numbers(numbers)
    back = SequenceSet.parse(str(seq))
    assert back == seq
    assert sorted(set(back)) == sorted(set(numbers))
    assert all(n in back for n in numbers)


# Search keys: a small grammar of keys and the tokens they must read back as.
_simple = st.sampled_from(["ALL", "SEEN", "UNSEEN", "FLAGGED", "DELETED", "ANSWERED", "DRAFT"])


def _string_key(draw_name: str, value: str) -> tuple[search.SearchKey, list[object]]:
    return search.SearchKey(draw_name, (value,)), [draw_name, value]


@st.composite
def search_keys(draw: st.DrawFn, depth: int = 0) -> tuple[object, list[object]]:
    choice = draw(st.integers(0, 5 if depth < 3 else 2))
    if choice == 0:
        name = draw(_simple)
        return name, [name]
    if choice == 1:
        name = draw(st.sampled_from(["FROM", "TO", "SUBJECT", "BODY", "TEXT", "CC", "BCC"]))
        value = draw(ARG_TEXT)
        return search.SearchKey(name, (value,)), [name, value]
    if choice == 2:
        n = draw(st.integers(0, 10**12))
        return search.larger(n), ["LARGER", str(n)]
    if choice == 3:
        key, tokens = draw(search_keys(depth + 1))
        return search.not_(key), ["NOT", *tokens]  # type: ignore[arg-type]
    if choice == 4:
        a, ta = draw(search_keys(depth + 1))
        b, tb = draw(search_keys(depth + 1))
        return search.or_(a, b), ["OR", *ta, *tb]  # type: ignore[arg-type]
    items = draw(st.lists(search_keys(depth + 1), min_size=1, max_size=3))
    return [k for k, _ in items], [tuple(t for _, ts in items for t in ts)]


def _flatten(value: object) -> list[object]:
    if isinstance(value, tuple):
        return [tuple(x for v in value for x in _flatten(v))]
    if isinstance(value, bytes):
        return [value.decode("utf-8")]
    return [str(value)]


@given(st.lists(search_keys(), min_size=1, max_size=4))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_search_keys_round_trip(keys: list[tuple[object, list[object]]]) -> None:
    criteria = [k for k, _ in keys]
    expected = [t for _, ts in keys for t in ts]
    command = Search(criteria, uid=False)  # type: ignore[arg-type]
    frame = frame_of(command.encode("T").data)
    d = Decoder(frame.text, frame.literals)
    values = [x for v in d.rest() for x in _flatten(v)]
    assert values[:2] == ["T", "SEARCH"]
    if values[2] == "CHARSET":
        assert values[3] == "UTF-8"
        values = values[4:]
    else:
        values = values[2:]
    assert values == expected


ALL_CASES = [data for data, _ in RESPONSE_CASES] + [data for data, _ in FETCH_CASES]


@given(st.lists(st.sampled_from(range(len(ALL_CASES))), min_size=1, max_size=8), st.data())
def test_any_split_gives_the_same_responses(indexes: list[int], data: st.DataObject) -> None:
    stream = b"".join(ALL_CASES[i] for i in indexes)
    whole = read_all([stream])
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    assert read_all(split_at(stream, cuts)) == whole


LIMITS = Limits(max_line_length=2000, max_literal_size=200, max_nesting_depth=20)


def _feed_everything(data: bytes, cuts: list[int]) -> None:
    buf = ReceiveBuffer(LIMITS)
    from mailwire.imap import ResponseReader

    reader = ResponseReader(LIMITS)
    try:
        for piece in split_at(data, cuts):
            if piece:
                buf.feed(piece)
            while reader.read(buf) is not None:
                pass
    except RemoteProtocolError:
        pass  # the only exception family allowed (LimitExceeded included)


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=4))
def test_any_bytes_give_responses_or_a_protocol_error(data: bytes, cuts: list[int]) -> None:
    _feed_everything(data, cuts)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(ALL_CASES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 2))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and data:
            del data[min(pos, len(data) - 1)]
        elif op == 1:
            data.insert(pos, draw(st.sampled_from(b'()"{}[] \\0123456789NIL~\r\n\x00\xff')))
        elif data:
            data[min(pos, len(data) - 1)] = draw(st.integers(0, 255))
    return bytes(data)


@given(mutated(), st.lists(st.integers(0, 400), max_size=3))
@settings(max_examples=300)
def test_mutated_responses_give_responses_or_a_protocol_error(data: bytes, cuts: list[int]) -> None:
    _feed_everything(data, cuts)


@given(mutated())
@settings(max_examples=300)
def test_fast_path_never_accepts_what_the_token_parser_refuses(data: bytes) -> None:
    buf = ReceiveBuffer(LIMITS)
    buf.feed(data)
    try:
        frame = FrameReader(LIMITS).read(buf)
    except RemoteProtocolError:
        return
    if frame is None:
        return
    words = frame.text.split(b" ", 3)
    if len(words) < 4 or words[:1] != [b"*"] or not words[1].isdigit() or words[2] != b"FETCH":
        return
    start = len(frame.text) - len(words[3])
    fast = fast_msg_att(frame.text, start, frame.literals, int(words[1]), LIMITS.max_nesting_depth)
    if fast is None:
        return
    d = Decoder(words[3], frame.literals, LIMITS)
    slow = msg_att(d, int(words[1]))
    d.end()
    assert slow == fast
