"""Shared helpers for the IMAP wire-layer tests: the corpus and feeding bytes."""

from __future__ import annotations

import pathlib

from mailwire._buffer import ReceiveBuffer
from mailwire.imap import ResponseReader
from mailwire.imap.events import Response
from mailwire.limits import Limits

SHARED = pathlib.Path(__file__).parents[4] / "shared"
CORPUS = SHARED / "corpora/mailkit/UnitTests/Net/Imap/Resources"


def corpus_files() -> list[pathlib.Path]:
    """Every IMAP reply file of MailKit's corpus (the .msg payloads are not replies)."""
    return sorted(CORPUS.rglob("*.txt"))


def corpus_bytes(path: pathlib.Path | str, tag: bytes = b"A00000001") -> bytes:
    """A corpus file as the server sent it: LF made CRLF, the tag filled in."""
    if isinstance(path, str):
        path = CORPUS / path
    return path.read_bytes().replace(b"\n", b"\r\n").replace(b"A########", tag)


def read_all(pieces: list[bytes], limits: Limits | None = None) -> list[Response]:
    """Feed ``pieces`` one after the other; every response that comes out."""
    limits = limits or Limits()
    buf = ReceiveBuffer(limits)
    reader = ResponseReader(limits)
    out: list[Response] = []
    for piece in pieces:
        if piece:
            buf.feed(piece)
        while (response := reader.read(buf)) is not None:
            out.append(response)
    assert not reader.in_response
    assert len(buf) == 0
    return out


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets."""
    bounds = sorted(min(max(c, 0), len(data)) for c in cuts)
    return [data[a:b] for a, b in zip([0, *bounds], [*bounds, len(data)], strict=True)]
