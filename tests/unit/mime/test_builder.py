"""The builder: structure, encodings per transport, headers, envelope, streaming."""

from __future__ import annotations

import io
import pathlib
import re

import pytest

from mailwire import MIMEError, mime

SENDER = "Alice <alice@example.org>"


def _lines(data: bytes) -> list[bytes]:
    assert b"\r" not in data.replace(b"\r\n", b"")  # CRLF only (RFC 5322 §2.1)
    assert b"\n" not in data.replace(b"\r\n", b"")
    return data.split(b"\r\n")


def _kinds(data: bytes) -> list[str]:
    return [entity.content_type for entity in mime.parse(data).walk()]


def test_structures() -> None:
    assert _kinds(bytes(mime.Message(sender=SENDER, text="t"))) == ["text/plain"]
    assert _kinds(bytes(mime.Message(sender=SENDER, html="<p>h</p>"))) == ["text/html"]
    both = mime.Message(sender=SENDER, text="t", html="<p>h</p>")
    assert _kinds(bytes(both)) == ["multipart/alternative", "text/plain", "text/html"]
    both.attach(b"GIF89a", filename="logo.gif", inline=True)
    assert _kinds(bytes(both)) == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",  # RFC 2387: the HTML and what it shows
        "text/html",
        "image/gif",
    ]
    both.attach(b"%PDF-1.4", filename="report.pdf")
    assert _kinds(bytes(both))[0] == "multipart/mixed"
    assert _kinds(bytes(both))[-1] == "application/pdf"  # guessed from the name


def test_default_output_is_safe_for_any_smtp_server() -> None:
    message = mime.Message(
        sender=("Jörg", "jörg-ok@bücher.example".replace("jörg-ok", "joerg")),
        to=[("Zoë", "zoe@example.net")],
        subject="Ünïcödé " * 30,
        text="naïve café\n" * 50 + "x" * 2000,
        html="<p>日本語</p>",
    )
    message.attach(bytes(range(256)) * 10, filename="données.bin")
    data = bytes(message)
    assert data.isascii()  # 7-bit only
    lines = _lines(data)
    assert max(map(len, lines)) <= 998  # RFC 5322 §2.1.1
    header = data.split(b"\r\n\r\n", 1)[0]
    assert max(map(len, header.split(b"\r\n"))) <= 78
    parsed = mime.parse(data)
    assert parsed.subject == "Ünïcödé " * 30
    assert parsed.addresses("from")[0].addr_spec == "joerg@xn--bcher-kva.example"
    leaves = [e for e in parsed.walk() if not e.parts]
    assert leaves[0].text() == ("naïve café\n" * 50 + "x" * 2000).replace("\n", "\r\n")
    assert leaves[1].text() == "<p>日本語</p>"
    assert leaves[2].content() == bytes(range(256)) * 10
    assert leaves[2].filename == "données.bin"
    assert {e.transfer_encoding for e in leaves} <= {"7bit", "quoted-printable", "base64"}


def test_eight_bit_and_binary_transports() -> None:
    message = mime.Message(sender=SENDER, text="café", html="<p>café</p>")
    message.attach(b"\x00\xff" * 10, filename="a.bin")
    leaves = [e for e in mime.parse(message.as_bytes(eight_bit=True)).walk() if not e.parts]
    assert [e.transfer_encoding for e in leaves] == ["8bit", "8bit", "base64"]
    leaves = [e for e in mime.parse(message.as_bytes(binary=True)).walk() if not e.parts]
    assert [e.transfer_encoding for e in leaves] == ["8bit", "8bit", "binary"]
    assert leaves[2].content() == b"\x00\xff" * 10


def test_utf8_headers_and_non_ascii_local_parts() -> None:
    message = mime.Message(sender="jörg@bücher.example", to="zoë@example.net", subject="Grüße")
    assert message.requires_smtputf8
    with pytest.raises(ValueError, match="SMTPUTF8"):
        bytes(message)
    data = message.as_bytes(utf8_headers=True)
    assert "Subject: Grüße\r\n".encode() in data  # RFC 6532: as is
    parsed = mime.parse(data)
    assert parsed.addresses("from")[0].addr_spec == "jörg@bücher.example"
    assert message.envelope_sender == "jörg@bücher.example"


def test_envelope_and_bcc() -> None:
    message = mime.Message(
        sender=SENDER,
        to=["b@x.example", "c@y.example"],
        cc="d@z.example",
        bcc=["hidden@w.example", "b@x.example"],
        text="hi",
    )
    assert message.envelope_sender == "alice@example.org"
    assert message.envelope_recipients == [
        "b@x.example",
        "c@y.example",
        "d@z.example",
        "hidden@w.example",
    ]
    assert b"hidden" not in bytes(message)  # S21
    kept = mime.parse(message.as_bytes(include_bcc=True))
    assert [a.addr_spec for a in kept.addresses("bcc")] == ["hidden@w.example", "b@x.example"]


def test_date_and_message_id_are_stable() -> None:
    message = mime.Message(sender=SENDER, text="hi")
    first, second = mime.parse(bytes(message)), mime.parse(bytes(message))
    assert first.headers.get("date") == second.headers.get("date")
    assert first.date is not None
    assert first.message_id == message.message_id
    assert re.fullmatch(r"<[0-9a-f]+\.[0-9a-f]{24}@example\.org>", message.message_id)


def test_priority_importance_and_custom_headers() -> None:
    message = mime.Message(
        sender=SENDER, text="x", priority="high", importance="low", headers={"X-Tag": "café"}
    )
    headers = mime.parse(bytes(message)).headers
    assert headers.get("x-priority") == "1 (Highest)"
    assert headers.get("importance") == "low"
    assert headers.get("x-tag") == "café"
    with pytest.raises(ValueError):
        mime.Message(priority="urgent")


def test_attachment_sources(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"from a file")
    message = mime.Message(sender=SENDER, text="see attached")
    message.attach(path)
    message.attach(str(path), filename="copy.txt", content_type="application/octet-stream")
    message.attach(io.BytesIO(b"from a stream"), filename="s.bin")
    for _ in range(2):  # a seekable stream can be serialised again
        parts = mime.parse(bytes(message)).parts
        assert [(p.filename, p.content()) for p in parts[1:]] == [
            ("notes.txt", b"from a file"),
            ("copy.txt", b"from a file"),
            ("s.bin", b"from a stream"),
        ]
        assert parts[1].content_type == "text/plain"


class _Pipe(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        size = min(len(buffer), len(self.data))
        buffer[:size], self.data = self.data[:size], self.data[size:]
        return size


def test_a_stream_that_cannot_seek_is_read_once() -> None:
    message = mime.Message(sender=SENDER)
    message.attach(io.BufferedReader(_Pipe(b"once")), filename="p.bin")
    assert mime.parse(bytes(message)).parts[-1].content() == b"once"
    with pytest.raises(MIMEError):
        bytes(message)


def test_attached_message_goes_unencoded() -> None:
    inner = b"Subject: inner\n\nbody\n"
    message = mime.Message(sender=SENDER, text="fwd")
    message.attach(inner, content_type="message/rfc822", filename="fwd.eml")
    part = mime.parse(bytes(message)).parts[1]
    assert part.transfer_encoding == "7bit"  # RFC 2046 §5.2.1
    assert part.parts[0].subject == "inner"
    message.attach("Subject: é\r\n\r\n".encode(), content_type="message/rfc822")
    with pytest.raises(MIMEError):
        bytes(message)
    assert mime.parse(message.as_bytes(eight_bit=True)).parts[2].transfer_encoding == "8bit"


def test_boundaries_never_occur_in_content_and_are_not_prefixes() -> None:
    message = mime.Message(sender=SENDER, text="t", html="<p>h</p>")
    message.attach(b"x", filename="i.gif", inline=True)
    message.attach(b"y", filename="a.bin")
    data = bytes(message)
    boundaries = [e.params["boundary"] for e in mime.parse(data).walk() if e.is_multipart]
    assert len(boundaries) == 3
    assert len({len(b) for b in boundaries}) == 1  # same length: no prefixes
    for entity in mime.parse(data).walk():
        if not entity.parts:
            assert not any(b.encode() in entity.body_bytes for b in boundaries)


def test_write_to_and_iter_bytes_agree(tmp_path: pathlib.Path) -> None:
    message = mime.Message(sender=SENDER, text="hello")
    message.attach(bytes(300_000), filename="zeros.bin")
    target = tmp_path / "out.eml"
    with target.open("wb") as file:
        written = message.write_to(file)
    assert target.read_bytes() == b"".join(message.iter_bytes()) == bytes(message)
    assert written == target.stat().st_size
    chunks = list(message.iter_bytes(chunk_size=8192))
    assert len(chunks) > 1


def test_big_attachment_streams_in_bounded_memory(tmp_path: pathlib.Path) -> None:
    import tracemalloc

    path = tmp_path / "big.bin"
    with path.open("wb") as file:
        for _ in range(20):
            file.write(bytes(range(256)) * 4096)  # 20 MiB
    message = mime.Message(sender=SENDER, text="big")
    message.attach(path)
    tracemalloc.start()
    total = sum(len(chunk) for chunk in message.iter_bytes())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert total > 27_000_000
    assert peak < 8 * 1024 * 1024  # S32: the attachment is never held whole
