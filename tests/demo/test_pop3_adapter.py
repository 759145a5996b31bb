"""The lab's fixes to Twisted's POP3 server, checked without a network."""

from __future__ import annotations

import base64
import mailbox
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("twisted.mail.pop3")

from mailwire.demo._pop3_server import _mailbox_class, _protocol_class


def protocol() -> Any:
    proto = _protocol_class()()
    proto._at_line_start = True
    return proto


def test_dot_stuffing_survives_chunk_boundaries() -> None:
    # RFC 1939 §3: a line starting with "." is sent with one more ".".
    proto = protocol()
    chunks = [b"Subject: x\n\nfirst\n", b".second\n", b"third\n.", b"fourth\n"]
    sent = b"".join(proto.transformChunk(chunk) for chunk in chunks)
    assert sent == b"Subject: x\r\n\r\nfirst\r\n..second\r\nthird\r\n..fourth\r\n"


def test_first_line_starting_with_a_dot_is_stuffed() -> None:
    assert protocol().transformChunk(b".hidden\n") == b"..hidden\r\n"


def test_mailbox_serves_lf_and_counts_crlf(tmp_path: Path) -> None:
    # Whatever the file holds (CRLF from an SMTP server, LF from Dovecot),
    # Twisted adds the CR itself; LIST must give the size as sent.
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(b"Subject: crlf\r\n\r\nbody\r\n")
    box.add(b"Subject: lf\n\nbody\n")
    pop = _mailbox_class()(tmp_path / "Maildir")
    sizes = pop.listMessages()
    lf, crlf = b"Subject: lf\r\n\r\nbody\r\n", b"Subject: crlf\r\n\r\nbody\r\n"
    assert sorted(sizes) == sorted([len(lf), len(crlf)])
    for index in range(2):
        assert b"\r" not in pop.getMessage(index).read()
    uid = pop.getUidl(0)
    assert uid.decode("ascii") in box
    pop.deleteMessage(0)
    assert pop.listMessages(0) == 0
    pop.undeleteMessages()
    pop.deleteMessage(1)
    pop.sync()
    assert len(box.keys()) == 1


def test_plain_answer_is_rfc4616() -> None:
    # \0user\0password, base64: what fix 5 decodes.
    answer = base64.b64encode(b"\0bob\0p\xc3\xa4ss").decode()
    assert base64.b64decode(answer).split(b"\0") == [b"", b"bob", "päss".encode()]
