"""Transcript.load / loads: text and JSON Lines, from strings, paths and files."""

from __future__ import annotations

import io
import pathlib

import pytest

from mailwire.transcript import Direction, Kind, Transcript

from .helpers import smtp_starttls_session


def test_hand_written_script_without_legend() -> None:
    script = "# a note written by hand\nS: 220 hi\nC: EHLO x\n\nS: 250 ok\n"
    t = Transcript.loads(script)
    assert t.server_bytes() == b"220 hi\r\n250 ok\r\n"
    assert t.client_bytes() == b"EHLO x\r\n"
    assert all(record.kind is Kind.DATA for record in t.records)
    assert all(record.time == 0.0 for record in t.records)


def test_data_lines_are_read_with_or_without_the_space() -> None:
    t = Transcript.loads("C:EHLO x\nC:  two spaces\nC:\n")
    assert t.client_bytes() == b"EHLO x\r\n two spaces\r\n\r\n"


def test_crlf_file_and_bom_are_accepted() -> None:
    text = smtp_starttls_session().render()
    t = Transcript.loads("\ufeff" + text.replace("\n", "\r\n"))
    assert t.render() == text


def test_tls_state_comes_from_the_markers() -> None:
    t = Transcript.loads(smtp_starttls_session().render())
    assert t.tls_active
    ehlo = [r for r in t.records if r.data == b"EHLO client.example\r\n"]
    assert [r.tls for r in ehlo] == [False, True]
    assert [r.direction for r in ehlo] == [Direction.CLIENT, Direction.CLIENT]


@pytest.mark.parametrize("style", ["text", "jsonl"])
def test_load_from_path_str_path_and_files(tmp_path: pathlib.Path, style: str) -> None:
    original = smtp_starttls_session()
    exported = original.to_jsonl() if style == "jsonl" else original.render()
    path = tmp_path / "session.txt"
    path.write_text(exported, encoding="utf-8")
    from_path = Transcript.load(path)
    from_str = Transcript.load(str(path))
    with path.open(encoding="utf-8") as text_file:
        from_text_file = Transcript.load(text_file)
    from_binary = Transcript.load(io.BytesIO(exported.encode()))
    for loaded in (from_path, from_str, from_text_file, from_binary):
        assert loaded.render() == original.render()
        assert loaded.server_bytes() == original.server_bytes()


def test_jsonl_keeps_times_and_tls_records() -> None:
    original = smtp_starttls_session()
    loaded = Transcript.loads(original.to_jsonl(reveal_secrets=True))
    assert loaded.records == original.records
    assert loaded.render("raw") == original.render("raw")
    assert loaded.render("annotated") == original.render("annotated")


def test_jsonl_redacted_records_come_back_without_data() -> None:
    original = smtp_starttls_session()
    loaded = Transcript.loads(original.to_jsonl())
    for before, after in zip(original.records, loaded.records, strict=True):
        if before.sensitive:
            assert (after.sensitive, after.data, after.size) == (True, b"", before.size)
        else:
            assert after == before


def test_jsonl_record_written_by_hand_with_text_only() -> None:
    t = Transcript.loads('{"kind": "data", "direction": "S", "text": "220 hi\\\\r\\\\n"}\n')
    assert t.server_bytes() == b"220 hi\r\n"
    assert t.records[0].size == 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("C: ok\nX: what\n", "transcript line 2: not a C:/S: line"),
        ("S: 220 \\q\n", "transcript line 1: unknown escape"),
        ('{"kind": "data"}\nnot json\n', "transcript line 2"),
        ('{"kind": "nope"}\n', "transcript line 1"),
        ('{"seq": "1"}\n', "transcript line 1: 'seq'"),
        ('{"tls": 1}\n', "transcript line 1: 'tls'"),
        ('{"data": "!!"}\n', "transcript line 1: 'data' is not base64"),
        ('{"data": "\u00e9"}\n', "transcript line 1: 'data' is not base64"),
        ('{"data": "YWI=", "size": 5}\n', "transcript line 1: 'size' is 5"),
        ("[1, 2]\n", "transcript line 1"),
    ],
)
def test_malformed_input_names_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Transcript.loads(text)


def test_empty_input_is_an_empty_transcript() -> None:
    assert Transcript.loads("").records == []
    assert Transcript.loads(Transcript().render()).records == []
    assert Transcript.loads(Transcript().to_jsonl()).records == []
