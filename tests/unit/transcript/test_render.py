"""Rendering: the C:/S: text format, annotated and raw styles, JSON Lines."""

from __future__ import annotations

import json

import pytest

from mailwire.transcript import Direction, Kind, Record, Transcript

from .helpers import smtp_starttls_session, ticking

STARTTLS_TEXT = """\
# connect: mail.example:587
S: 220 mail.example ESMTP ready
# event: greeting 220: GREETING -> READY (RFC 5321 \u00a74.3.1)
C: EHLO client.example
S: 250-mail.example
S: 250-PIPELINING
S: 250 STARTTLS
C: STARTTLS
S: 220 2.0.0 go ahead
# tls: handshake started
# tls: TLSv1.3 TLS_AES_256_GCM_SHA384
C*: EHLO client.example
S*: 250-mail.example
S*: 250 AUTH PLAIN LOGIN
C*: AUTH PLAIN <redacted 28 bytes>
S*: 235 2.7.0 Authentication successful
C*: MAIL FROM:<alice@example.org>
C*: RCPT TO:<bob@example.org>
C*: DATA
S*: 250 2.1.0 ok
S*: 250 2.1.5 ok
S*: 354 go on
C*: Subject: hi
C*:
C*: Hello \\\\o/
C*: .
S*: 250 2.0.0 queued as 1234
C*: QUIT
S*: 221 2.0.0 bye
# close: by us
"""


def body(rendering: str) -> str:
    """The rendering without its legend line."""
    legend, _, rest = rendering.partition("\n")
    assert legend.startswith("# mailwire ")
    return rest


def text_of(*records: tuple[str, bytes]) -> str:
    t = Transcript(keep_secrets=True)
    for direction, data in records:
        if direction == "C":
            t.sent(data)
        else:
            t.received(data)
    return body(t.render())


def test_starttls_session_text_markers_change_after_tls() -> None:
    assert body(smtp_starttls_session().render()) == STARTTLS_TEXT


def test_legend_is_one_comment_line_naming_the_markers() -> None:
    legend = Transcript().render().splitlines()
    assert len(legend) == 1
    assert legend[0].startswith("#")
    assert "C*:" in legend[0]
    assert "in the clear" in legend[0]


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([("C", b"NOOP\r\n")], "C: NOOP\n"),
        ([("C", b"\r\n")], "C:\n"),
        ([("S", b"250 ok\n")], "S: 250 ok\\n\n"),
        ([("S", b"\n")], "S: \\n\n"),
        ([("S", b"250 o\rk\r\n")], "S: 250 o\\rk\n"),
        ([("S", b"250 ok\r\r\n")], "S: 250 ok\\r\n"),
        ([("C", b"QUI")], "C: QUI<no end of line>\n"),
        ([("C", b"QUIT\r")], "C: QUIT\\r<no end of line>\n"),
        ([("C", b"NOOP \r\n")], "C: NOOP\\x20\n"),
        ([("C", b"a\tb\r\n")], "C: a\\tb\n"),
        ([("C", b"back\\slash\r\n")], "C: back\\\\slash\n"),
        ([("C", b"EH"), ("C", b"LO x\r\nNO"), ("C", b"OP\r\n")], "C: EHLO x\nC: NOOP\n"),
        # Lines are shown as they complete, whichever side sent them.
        ([("C", b"EHLO "), ("S", b"220 hi\r\n"), ("C", b"x\r\n")], "S: 220 hi\nC: EHLO x\n"),
        ([("S", b"caf\xc3\xa9 \xe2\x9c\x93\r\n")], "S: caf\u00e9 \u2713\n"),
        ([("C", b"MAIL FROM:<a@example.org>\r\n")], "C: MAIL FROM:<a@example.org>\n"),
    ],
)
def test_line_structure(records: list[tuple[str, bytes]], expected: str) -> None:
    rendered = text_of(*records)
    assert rendered == expected
    loaded = Transcript.loads(rendered)
    for direction, getter in (("C", loaded.client_bytes), ("S", loaded.server_bytes)):
        assert getter() == b"".join(data for d, data in records if d == direction)


def test_event_in_the_middle_of_a_line_keeps_the_line_whole() -> None:
    t = Transcript(keep_secrets=True)
    t.received(b"* 1 EXISTS\r\n* 2 EXI")
    t.event("exists 1")
    t.received(b"STS\r\n")
    assert body(t.render()) == "S: * 1 EXISTS\n# event: exists 1\nS: * 2 EXISTS\n"


def test_open_lines_are_shown_before_close_and_tls() -> None:
    t = Transcript(keep_secrets=True)
    t.received(b"220 go ahead\r\nINJECTED")
    t.tls_established("TLSv1.3")
    t.received(b" more\r\n")
    t.add(Kind.CLOSE, Direction.SERVER, note="EOF")
    assert body(t.render()) == (
        "S: 220 go ahead\nS: INJECTED<no end of line>\n# tls: TLSv1.3\nS*:  more\n# close S: EOF\n"
    )


def test_a_line_is_never_carried_across_the_tls_switch() -> None:
    t = Transcript(keep_secrets=True)
    t.sent(b"half")
    t.tls_active = True  # as if TLS had started without a record of it
    t.sent(b" line\r\n")
    assert body(t.render()) == "C: half<no end of line>\nC*:  line\n"


def test_comments_escape_notes_and_keep_none_apart_from_empty() -> None:
    t = Transcript(keep_secrets=True)
    t.add(Kind.EVENT, note=None)
    t.add(Kind.EVENT, note="")
    t.add(Kind.ERROR, note="OSError: bad\x1b[2J \n")
    t.add(Kind.TIMEOUT, Direction.SERVER, note="30 s ")
    assert body(t.render()) == (
        "# event\n# event:\n# error: OSError: bad\\x1b[2J \\n\n# timeout S: 30 s\\x20\n"
    )
    assert [(r.kind, r.direction, r.note) for r in Transcript.loads(t.render()).records] == [
        (r.kind, r.direction, r.note) for r in t.records
    ]


def test_placeholder_lookalikes_in_the_data_cannot_pass_for_placeholders() -> None:
    data = b"<redacted 5 bytes> <dropped 1 byte> <secret x> <no end of line>\r\n"
    rendered = text_of(("S", data))
    assert "<redacted" not in rendered
    assert "\\x3credacted 5 bytes>" in rendered
    loaded = Transcript.loads(rendered)
    assert loaded.server_bytes() == data
    assert not any(record.sensitive for record in loaded.records)


def test_annotated_has_times_events_and_tls_records() -> None:
    lines = smtp_starttls_session().render("annotated").splitlines()
    assert lines[0].startswith("# mailwire annotated")
    assert lines[1] == "    0.000  # connect: mail.example:587"
    assert lines[2] == "    0.010  S: 220 mail.example ESMTP ready"
    assert "    0.080  # tls-record C: 10 bytes" in lines
    assert "    0.090  # tls-record S: 10 bytes" in lines
    assert any(
        line.endswith("# event: greeting 220: GREETING -> READY (RFC 5321 \u00a74.3.1)")
        for line in lines
    )
    assert any(line.endswith("C*: AUTH PLAIN <redacted 28 bytes>") for line in lines)
    times = [float(line.split()[0]) for line in lines[1:]]
    assert times == sorted(times)


def test_raw_shows_every_record_with_tls_bytes_in_hex() -> None:
    t = smtp_starttls_session()
    lines = t.render("raw").splitlines()
    assert lines[0].startswith("# mailwire raw")
    assert len(lines) == len(t.records) + 1
    tls_record = next(line for line in lines[1:] if " tls-record C " in line)
    assert tls_record.split()[:6] == ["8", "0.080000", "tls-record", "C", "--", "10"]
    assert tls_record.split()[6] == "160301002a0100002603"
    ehlo = lines[1 + next(r.seq for r in t.records if r.tls and r.kind is Kind.DATA)]
    assert "t-" in ehlo
    assert b"EHLO client.example\r\n".hex() in ehlo


def test_unknown_style_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown transcript style"):
        Transcript().render("html")


def test_jsonl_has_one_object_per_record_with_the_documented_fields() -> None:
    t = smtp_starttls_session()
    rows = [json.loads(line) for line in t.to_jsonl().splitlines()]
    assert len(rows) == len(t.records)
    assert set(rows[0]) == {
        "seq",
        "time",
        "kind",
        "direction",
        "tls",
        "sensitive",
        "note",
        "size",
        "data",
        "text",
    }
    greeting = rows[1]
    assert greeting["kind"] == "data"
    assert greeting["direction"] == "S"
    assert greeting["text"] == "220 mail.example ESMTP ready\\r\\n"
    assert greeting["size"] == 30
    assert all(line.isascii() for line in t.to_jsonl().splitlines())


def test_max_data_bytes_drops_data_but_keeps_size() -> None:
    t = Transcript(max_data_bytes=10)
    t.sent(b"EHLO x\r\n")  # 8 bytes: kept
    t.received(b"250-big reply\r\n250 ok\r\n")  # 23 bytes: past the budget
    t.sent(b"Q\r\n")  # 3 bytes: would be 11, dropped too
    t.sent(b"\r\n")  # 2 bytes: fits exactly
    assert t.dropped_bytes == 26
    dropped = t.records[1]
    assert (dropped.data, dropped.size) == (b"", 23)
    assert body(t.render()) == (
        "C: EHLO x\nS: <dropped 23 bytes><no end of line>\nC: <dropped 3 bytes>\n"
    )
    row = json.loads(t.to_jsonl().splitlines()[1])
    assert (row["data"], row["size"]) == (None, 23)
    for exported in (t.render(), t.to_jsonl()):
        loaded = Transcript.loads(exported)
        assert loaded.dropped_bytes == 26
        assert loaded.render() == t.render()
    assert "dropped 23 bytes" in t.render("raw")


def test_repr_shows_no_data() -> None:
    t = smtp_starttls_session()
    assert repr(t) == f"<Transcript {len(t.records)} records, tls=True>"


def test_client_and_server_bytes() -> None:
    t = smtp_starttls_session()
    assert t.client_bytes().startswith(b"EHLO client.example\r\nSTARTTLS\r\nEHLO")
    assert t.server_bytes().endswith(b"221 2.0.0 bye\r\n")
    assert b"AUTH PLAIN ***\r\n" in t.client_bytes(redact=b"***")
    assert b"AUTH PLAIN \r\n" in t.client_bytes(redact=b"")


def test_adjacent_secrets_are_replaced_once() -> None:
    t = Transcript(keep_secrets=True)
    t.sent(b"a")
    t.records.append(
        Record(
            seq=1,
            time=0.0,
            kind=Kind.DATA,
            direction=Direction.CLIENT,
            data=b"x",
            sensitive=True,
            size=1,
        )
    )
    t.sent(b"yz\r\n", secrets=((0, 2),))
    assert t.client_bytes(redact=b"#") == b"a#\r\n"
    assert body(t.render()) == "C: a<redacted 3 bytes>\n"


def test_iterating_a_transcript_gives_its_records() -> None:
    t = ticking()
    t.sent(b"NOOP\r\n")
    assert list(t) == t.records
    assert len(t) == 1
