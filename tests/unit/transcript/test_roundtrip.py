"""Property tests: render -> load -> render is exact, and so is JSON Lines."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st

from mailwire.transcript import Direction, Kind, Record, Transcript

from .helpers import every_output, is_safe_to_print

# Pieces that exercise the format's corners, mixed with arbitrary bytes.
PIECES = [
    b"\r",
    b"\n",
    b"\r\n",
    b"a",
    b" ",
    b"\t",
    b"<",
    b">",
    b"\\",
    b"\\x1b",
    b"\xff",
    b"\xc3",
    b"\xc2\x9b",
    b"\x1b",
    b"\x00",
    "\u00e9".encode(),
    "\u202e".encode(),
    "\u00a0".encode(),
    b"<redacted 3 bytes>",
    b"<dropped 1 byte>",
    b"<secret ",
    b"<no end of line>",
    b"#",
    b"C: ",
]
chunks = st.one_of(
    st.binary(max_size=12),
    st.lists(st.sampled_from(PIECES), max_size=8).map(b"".join),
)
directions = st.sampled_from([Direction.CLIENT, Direction.SERVER])
comment_kinds = st.sampled_from([k for k in Kind if k not in (Kind.DATA, Kind.TLS_RECORD)])
notes = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["", " x ", "a\\u1234"]))


@st.composite
def sessions(draw: st.DrawFn) -> Transcript:
    """Arbitrary chunks each way, sensitive or not, in or out of TLS, with comments."""
    t = Transcript(max_data_bytes=None, keep_secrets=True)
    for _ in range(draw(st.integers(0, 25))):
        t.tls_active = draw(st.booleans())
        what = draw(st.sampled_from(["data", "data", "data", "secret", "dropped", "comment"]))
        if what == "comment":
            t.add(draw(comment_kinds), draw(st.sampled_from(list(Direction))), note=draw(notes))
        elif what == "dropped":
            t.records.append(
                Record(
                    seq=len(t.records),
                    time=0.0,
                    kind=Kind.DATA,
                    direction=draw(directions),
                    sensitive=draw(st.booleans()),
                    tls=t.tls_active,
                    size=draw(st.integers(1, 50)),
                )
            )
        else:
            t.add(Kind.DATA, draw(directions), draw(chunks), sensitive=what == "secret")
        if draw(st.integers(0, 9)) == 0:
            t.tls_record(draw(directions), draw(st.binary(min_size=1, max_size=8)))
    return t


def byte_stream(t: Transcript, direction: Direction, reveal: bool) -> list[tuple[Any, ...]]:
    """Per byte: (value or None if not shown, sensitive, tls)."""
    out: list[tuple[Any, ...]] = []
    for r in t.records:
        if r.kind is not Kind.DATA or r.direction is not direction:
            continue
        if (r.sensitive and not reveal) or len(r.data) != r.size:
            out.extend([(None, r.sensitive, r.tls)] * r.size)
        else:
            out.extend((byte, r.sensitive, r.tls) for byte in r.data)
    return out


def comments(t: Transcript) -> list[tuple[Any, ...]]:
    return [
        (r.kind, r.direction, r.note)
        for r in t.records
        if r.kind is not Kind.TLS_RECORD
        and not (r.kind is Kind.DATA and r.direction is not Direction.LOCAL)
    ]


@settings(max_examples=300)
@given(sessions(), st.booleans())
def test_text_round_trip(t: Transcript, reveal: bool) -> None:
    note(repr(t.records))
    rendered = t.render(reveal_secrets=reveal)
    loaded = Transcript.loads(rendered)
    assert loaded.render(reveal_secrets=True) == rendered
    assert loaded.render(reveal_secrets=reveal) == rendered
    for direction in (Direction.CLIENT, Direction.SERVER):
        assert byte_stream(loaded, direction, True) == byte_stream(t, direction, reveal)
    assert comments(loaded) == comments(t)
    if reveal:
        assert loaded.client_bytes() == t.client_bytes()
        assert loaded.server_bytes() == t.server_bytes()
    else:
        assert loaded.client_bytes() == t.client_bytes(redact=b"")
        assert loaded.server_bytes() == t.server_bytes(redact=b"")


@settings(max_examples=200)
@given(sessions(), st.booleans())
def test_every_output_is_safe_to_print(t: Transcript, reveal: bool) -> None:
    for name, text in every_output(t, reveal_secrets=reveal).items():
        assert is_safe_to_print(text), name


MARK = b"\x01SECRET"


@settings(max_examples=200)
@given(sessions(), st.lists(st.binary(min_size=3, max_size=10), min_size=1, max_size=4))
def test_secrets_appear_in_no_output(t: Transcript, secrets: list[bytes]) -> None:
    marked = [MARK + secret for secret in secrets]
    for secret in marked:
        t.add(Kind.DATA, Direction.CLIENT, secret, sensitive=True)
        t.sent(b" between\r\n")
    for name, text in every_output(t).items():
        for secret in marked:
            assert "SECRET" not in text, name
            assert secret.hex() not in text, name
            assert base64.b64encode(secret).decode() not in text, name


records = st.builds(
    Record,
    seq=st.integers(0, 10**6),
    time=st.floats(allow_nan=False, allow_infinity=False),
    kind=st.sampled_from(list(Kind)),
    direction=st.sampled_from(list(Direction)),
    data=st.binary(max_size=20),
    sensitive=st.booleans(),
    note=st.one_of(st.none(), st.text(st.characters(codec=None), max_size=10)),
    tls=st.booleans(),
)


@settings(max_examples=300)
@given(st.lists(records, max_size=10), st.lists(st.integers(0, 100), max_size=10))
def test_jsonl_round_trip(given_records: list[Record], dropped: list[int]) -> None:
    # size follows the data, except for records whose data was dropped
    fixed = []
    for i, record in enumerate(given_records):
        size = len(record.data)
        if i < len(dropped) and dropped[i] % 3 == 0:
            fixed.append(dataclasses.replace(record, data=b"", size=dropped[i]))
        else:
            fixed.append(dataclasses.replace(record, size=size))
    t = Transcript(max_data_bytes=None, keep_secrets=True)
    t.records = fixed
    assert Transcript.loads(t.to_jsonl(reveal_secrets=True)).records == fixed
    redacted = [dataclasses.replace(r, data=b"") if r.sensitive else r for r in fixed]
    loaded = Transcript.loads(t.to_jsonl())
    assert loaded.records == redacted
    assert loaded.to_jsonl() == t.to_jsonl()
