"""Differential: mailwire and ``email`` (policy.default) parse every corpus message.

Every message of MimeKit's ``TestData/messages`` and MailKit's
``common/message.N.msg`` is parsed by both. Compared: the content-type tree
(walk order), the decoded payload of every leaf, the From/To/Cc addresses
and the Subject. Where the two differ, the difference is listed here with
the rule that decides it, and the test checks that it is exactly that
difference (so a new one fails).
"""

from __future__ import annotations

import email
import email.message
import email.policy
import pathlib
import re

import pytest

from mailwire import mime
from mailwire.mime.entity import Entity
from tests.unit.mime.corpus import corpus_messages

FILES = corpus_messages()
pytestmark = pytest.mark.skipif(not FILES, reason="shared corpora not beside the checkout")

# Bodies that are not MIME entities, which ``email`` nevertheless parses as
# messages (it walks into every message/* type). We keep them as leaves:
# - message/delivery-status: "per-message and per-recipient fields", groups
#   of header-style fields (RFC 3464 §2.1), not messages;
# - message/disposition-notification: one group of fields (RFC 8098 §3.1);
# - message/feedback-report: one group of fields (RFC 5965 §3);
# - message/partial: a fragment of a message; only the first one starts
#   with headers and none is a message by itself (RFC 2046 §5.2.2);
# - message/external-body: the header of a body stored elsewhere, with no
#   content of its own (RFC 2046 §5.2.3).
OPAQUE = frozenset(
    {
        "message/delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
        "message/partial",
        "message/external-body",
    }
)
# A UTF-8 byte order mark before the first field: ``email`` takes the first
# line for body text (it does not start with a field name) and sees one
# text/plain part; we skip the mark with a defect (RFC 5322 §2.1: a
# message starts with its fields).
BOM_FILES = {"feedback-report.txt"}
# Address fields read differently, with the rule that decides:
ADDRESS_DIFFERENCES = {
    # "From: a@b <c@d>": the angle-addr is the address (RFC 5322 §3.4
    # name-addr); ``email`` keeps the unquoted prefix as the address instead.
    ("issue358.txt", "from"): "unquoted-address-as-name",
    # To: "test" <test@test.com>, =?utf-8?Q?date=3E...?= ...: an encoded-word
    # is a display-name word, never an addr-spec (RFC 2047 §5), so the
    # trailing words are no address; ``email`` makes a mailbox "date" of them.
    ("stack-overflow.txt", "to"): "invalid-address",
}
_QP_TRAILING = re.compile(rb"[ \t]+(?=\r?\n|\Z)")


def _email_walk(message: email.message.Message) -> list[email.message.Message]:
    out, stack = [], [message]
    while stack:
        part = stack.pop()
        out.append(part)
        if part.get_content_type() not in OPAQUE and part.is_multipart():
            payload = part.get_payload()
            assert isinstance(payload, list)
            stack.extend(reversed(payload))
    return out


def _descends(message: email.message.Message) -> bool:
    return any(part.get_content_type() in OPAQUE and part.is_multipart() for part in message.walk())


def _pair(path: pathlib.Path) -> tuple[Entity, email.message.EmailMessage]:
    raw = path.read_bytes()
    theirs = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(theirs, email.message.EmailMessage)
    return mime.parse(raw), theirs


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_content_type_trees_agree(path: pathlib.Path) -> None:
    ours, theirs = _pair(path)
    tree = [entity.content_type for entity in ours.walk()]
    if path.name in BOM_FILES:
        assert [p.get_content_type() for p in theirs.walk()] == ["text/plain"]
        assert tree[0] == "multipart/report"
        assert "byte-order-mark" in [d.code for d in ours.defects]
        return
    assert tree == [part.get_content_type() for part in _email_walk(theirs)]
    if any(kind in OPAQUE for kind in tree):
        # The explanation above still holds: email walks into those bodies.
        assert _descends(theirs)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_decoded_payloads_agree(path: pathlib.Path) -> None:
    if path.name in BOM_FILES:
        pytest.skip("the trees differ (see test_content_type_trees_agree)")
    ours, theirs = _pair(path)
    for entity, part in zip(ours.walk(), _email_walk(theirs), strict=True):
        if entity.is_multipart or entity.parts or entity.content_type in OPAQUE:
            continue
        mine = entity.content()
        expected = part.get_payload(decode=True)
        assert isinstance(expected, bytes)
        if mine != expected and entity.transfer_encoding == "quoted-printable":
            # RFC 2045 §6.7 rule (3): white space at the end of an encoded
            # line was added in transport and is deleted when decoding;
            # ``email`` keeps it. Apart from that the bytes are the same.
            assert _QP_TRAILING.search(entity.body_bytes)
            expected = _QP_TRAILING.sub(b"", expected)
        assert mine == expected, f"{entity.content_type} {entity.transfer_encoding}"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_addresses_and_subject_agree(path: pathlib.Path) -> None:
    ours, theirs = _pair(path)
    if path.name in BOM_FILES:
        pytest.skip("email reads no header fields at all")
    if "subject" in theirs:
        assert ours.subject == str(theirs["subject"])
    for field in ("from", "to", "cc"):
        if field not in theirs:
            continue
        mine = [(a.name, a.addr_spec) for a in ours.addresses(field)]
        try:
            expected = [(a.display_name, a.addr_spec) for a in theirs[field].addresses]
        except AttributeError:
            # email's header object fails on a group followed by a comment
            # ("unlisted-recipients:; (no To-header on input)"); the group is
            # empty (RFC 5322 §3.4), so there is no mailbox.
            assert mine == []
            continue
        difference = ADDRESS_DIFFERENCES.get((path.name, field))
        if difference is None:
            assert mine == expected, field
        else:
            assert mine != expected
            assert difference in [d.code for d in ours.defects]


def test_the_listed_differences_are_all_used() -> None:
    names = {path.name for path in FILES}
    assert {name for name, _ in ADDRESS_DIFFERENCES} <= names
    assert names >= BOM_FILES
