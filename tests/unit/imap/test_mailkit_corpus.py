"""Every IMAP reply of MailKit's recorded corpus parses, with no unexplained defect.

The files are real server replies (see shared/corpora/README.md): LF is made
CRLF and the tag placeholder filled in before parsing. Servers that bend the
grammar are accepted, and each bend is recorded as a defect on the response;
:data:`EXPECTED_DEFECTS` says which file shows which bend and why, and every
other file must parse with no defect at all.
"""

from __future__ import annotations

import pathlib
import random

import pytest

from mailwire._buffer import ReceiveBuffer
from mailwire.imap import (
    CapabilityData,
    FetchData,
    ListData,
    NamespaceData,
    StatusData,
    StatusResponse,
    Tagged,
)
from mailwire.imap._fastfetch import fast_msg_att
from mailwire.imap._fetch import msg_att
from mailwire.imap._frames import FrameReader
from mailwire.imap._lexer import Decoder

from .helpers import CORPUS, corpus_bytes, corpus_files, read_all, split_at

# file -> the defect kinds it must show (and why).
EXPECTED_DEFECTS = {
    # `* LIST (\HasNoChildren) "" "Folder2"`: an empty string where RFC 9051
    # §9 (mailbox-list) wants one quoted character or NIL.
    "common/list-nil-folder-delim.txt": {"empty-delimiter"},
    # Domino wraps ENVELOPE in an extra pair of parentheses:
    # `(UID 14935 (ENVELOPE (...)) BODYSTRUCTURE (...))`.
    "domino/fetch-extra-parens.txt": {"extra-parentheses"},
    # Exchange answers MOVE with a bare `[COPYUID 55 31 6]` line, no `* OK`.
    "exchange/issue115.txt": {"missing-star"},
    # The header literal {515} stops before the blank line that ends the
    # header block; a line holding one space follows, and the `)` that
    # closes the FETCH comes on the next line.
    "gmail/headers.1+unsolicited-info.txt": {"line-break-after-literal"},
    # Gmail answers STORE +X-GM-LABELS / X-GM-LABELS with
    # `X-GM-LABELS (\Important "Custom Label" NIL)`: NIL is no astring.
    "gmail/add-labels.txt": {"nil-label"},
    "gmail/set-labels.txt": {"nil-label"},
    # Yandex sends `BODY[2] )`: an item name with no value for an empty part.
    "yandex/getbodypart-missing-content.txt": {"missing-value"},
    # Zoho sends `MODSEQ (-1)` where RFC 7162 wants a positive number.
    "zoho/fetch-negative-modseq-values.txt": {"negative-number"},
}


def rel(path: pathlib.Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def test_corpus_is_there() -> None:
    # shared/ sits beside the checkout; without it the tests below would
    # silently parametrize to nothing.
    assert len(corpus_files()) >= 300, CORPUS


@pytest.mark.parametrize("path", corpus_files(), ids=rel)
def test_every_reply_parses_with_only_explained_defects(path: pathlib.Path) -> None:
    data = corpus_bytes(path)
    responses = read_all([data])
    assert responses
    kinds = {d.kind for r in responses for d in r.defects}
    assert kinds == EXPECTED_DEFECTS.get(rel(path), set())
    # Any split gives the same responses: a few random cuts everywhere, and
    # every byte on its own for the small files.
    rnd = random.Random(rel(path))
    cuts = [rnd.randrange(len(data) + 1) for _ in range(6)]
    assert read_all(split_at(data, cuts)) == responses
    if len(data) < 3000:
        assert read_all([data[i : i + 1] for i in range(len(data))]) == responses


def test_fast_and_token_paths_agree_on_every_corpus_fetch() -> None:
    taken = 0
    total = 0
    for path in corpus_files():
        buf = ReceiveBuffer()
        buf.feed(corpus_bytes(path))
        reader = FrameReader()
        while (frame := reader.read(buf)) is not None:
            words = frame.text.split(b" ", 3)
            if not (len(words) == 4 and words[1].isdigit() and words[2].upper() == b"FETCH"):
                continue
            total += 1
            d = Decoder(words[3], frame.literals)
            slow = msg_att(d, int(words[1]))
            start = len(frame.text) - len(words[3])
            fast = fast_msg_att(frame.text, start, frame.literals, int(words[1]), 100)
            if fast is not None:
                taken += 1
                assert fast == slow, rel(path)
    assert total > 350
    assert taken > total // 2, (taken, total)


def test_lowercase_server() -> None:
    caps = read_all([corpus_bytes("lowercase/capability.txt")])
    assert caps[0] == CapabilityData(("IMAP4REV1", "STARTTLS", "LOGIN", "SPECIAL-USE"))
    listing = read_all([corpus_bytes("lowercase/list.txt")])
    assert [(r.name, r.attributes) for r in listing if isinstance(r, ListData)] == [
        ("INBOX", ("\\HasNoChildren",)),
        ("Trash", ("\\HasNoChildren", "\\Trash")),
    ]
    assert listing[-1] == Tagged("A00000001", "OK", None, "List")


def test_nil_and_empty_delimiters() -> None:
    listing = [
        r
        for r in read_all([corpus_bytes("common/list-nil-folder-delim.txt")])
        if isinstance(r, ListData)
    ]
    assert [(r.name, r.delimiter, [d.kind for d in r.defects]) for r in listing] == [
        ("INBOX", "/", []),
        ("Folder1", None, []),
        ("Folder2", None, ["empty-delimiter"]),
    ]


def test_exchange_bare_copyuid_line() -> None:
    first = read_all([corpus_bytes("exchange/issue115.txt")])[0]
    assert isinstance(first, StatusResponse)
    assert first.status == "OK"
    assert first.code is not None
    assert first.code.name == "COPYUID"
    assert [d.kind for d in first.defects] == ["missing-star"]


def test_domino_extra_parentheses() -> None:
    fetches = [
        r
        for r in read_all([corpus_bytes("domino/fetch-extra-parens.txt")])
        if isinstance(r, FetchData)
    ]
    assert len(fetches) == 29
    assert all(f.envelope is not None and f.bodystructure is not None for f in fetches)
    assert fetches[0].uid == 14935
    assert fetches[0].bodystructure.content_type == "text/plain"  # type: ignore[union-attr]


def test_yandex_empty_section() -> None:
    (fetch, _done) = read_all([corpus_bytes("yandex/getbodypart-missing-content.txt")])
    assert isinstance(fetch, FetchData)
    assert fetch.sections["BODY[2]"] is None
    assert fetch.sections["BODY[2.MIME]"].startswith(b"Content-Disposition: attachment;")  # type: ignore[union-attr]


def test_zoho_negative_modseq() -> None:
    fetches = [
        r
        for r in read_all([corpus_bytes("zoho/fetch-negative-modseq-values.txt")])
        if isinstance(r, FetchData)
    ]
    assert {f.modseq for f in fetches} >= {0, -1}
    assert all(d.kind == "negative-number" for f in fetches for d in f.defects)


def test_gmail_header_literal_and_labels() -> None:
    responses = read_all([corpus_bytes("gmail/headers.1+unsolicited-info.txt")])
    fetch = responses[0]
    assert isinstance(fetch, FetchData)
    assert fetch.gm_labels == ("Trash",)
    assert fetch.sections["BODY[HEADER]"].endswith(b"boundary=Outermost_Trek\r\n")  # type: ignore[union-attr]
    summary = [
        r for r in read_all([corpus_bytes("gmail/search-summary.txt")]) if isinstance(r, FetchData)
    ]
    assert summary[0].gm_labels == ("Test Messages", "\\Important")
    assert summary[0].gm_thrid == 1592225494819146101


GMAIL_FETCHES = sorted(
    int(p.name.split(".")[1])
    for p in CORPUS.glob("gmail/fetch.*.txt")
    if p.name.split(".")[1].isdigit()
)


@pytest.mark.parametrize("n", GMAIL_FETCHES)
def test_gmail_fetch_literal_is_the_appended_message(n: int) -> None:
    path = CORPUS / f"gmail/fetch.{n}.txt"
    fetches = [r for r in read_all([corpus_bytes(path)]) if isinstance(r, FetchData)]
    body = fetches[0].sections["BODY[]"]
    message = (CORPUS / f"common/message.{n - 1}.msg").read_bytes().replace(b"\n", b"\r\n")
    assert body is not None
    assert len(body) == len(message) or n in (3, 8)  # 3 and 8 differ in Message-Id only
    if n not in (3, 8):
        assert body == message


def test_gmail_nil_label() -> None:
    fetches = [
        r for r in read_all([corpus_bytes("gmail/add-labels.txt")]) if isinstance(r, FetchData)
    ]
    assert fetches
    assert all(f.gm_labels == ("\\Important", "Custom Label") for f in fetches)
    assert all([d.kind for d in f.defects] == ["nil-label"] for f in fetches)


def test_status_namespace_and_greetings() -> None:
    (status, _) = read_all([corpus_bytes("common/status-literal-folder.txt")])
    assert isinstance(status, StatusData)
    assert status.mailbox == "Literal Folder Name"
    ns = read_all([corpus_bytes("common/namespace.txt")])[0]
    assert isinstance(ns, NamespaceData)
    greeting = read_all([corpus_bytes("common/preauth-capability-greeting.txt")])[0]
    assert isinstance(greeting, StatusResponse)
    assert greeting.status == "PREAUTH"
