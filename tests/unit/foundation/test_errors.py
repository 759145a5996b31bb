"""The error tree of ARCHITECTURE.md §3."""

from __future__ import annotations

import inspect

import pytest

import mailwire
from mailwire import errors

TREE = {
    "ProtocolError": "MailwireError",
    "LocalProtocolError": "ProtocolError",
    "RemoteProtocolError": "ProtocolError",
    "LimitExceeded": "RemoteProtocolError",
    "LineTooLong": "LimitExceeded",
    "LiteralTooLarge": "LimitExceeded",
    "NestingTooDeep": "LimitExceeded",
    "TooManyResponses": "LimitExceeded",
    "TooManyParts": "LimitExceeded",
    "CommandError": "MailwireError",
    "SMTPReplyError": "CommandError",
    "SenderRefused": "SMTPReplyError",
    "RecipientRefused": "SMTPReplyError",
    "POP3ErrorReply": "CommandError",
    "IMAPStatusError": "CommandError",
    "AuthenticationError": "CommandError",
    "NotSupportedError": "MailwireError",
    "SecurityError": "MailwireError",
    "ConnectionLost": "MailwireError",
    "OutcomeUnknown": "ConnectionLost",
    "Timeout": "MailwireError",
    "MIMEError": "MailwireError",
}


@pytest.mark.parametrize(("name", "parent"), sorted(TREE.items()))
def test_tree(name: str, parent: str) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, getattr(errors, parent))
    assert getattr(mailwire, name) is cls  # importable from the package too


@pytest.mark.parametrize("name", sorted(TREE))
def test_docstring_says_whether_the_connection_survives(name: str) -> None:
    doc = inspect.getdoc(getattr(errors, name)) or ""
    if name in {"MIMEError", "TooManyParts"}:
        assert "No connection is involved" in doc
    else:
        assert "usable" in doc, name


def test_stdlib_bases() -> None:
    assert issubclass(errors.Timeout, TimeoutError)
    assert issubclass(errors.ConnectionLost, ConnectionError)
    assert issubclass(errors.OutcomeUnknown, ConnectionError)
    with pytest.raises(TimeoutError):
        raise errors.Timeout("late")


def test_smtp_reply_error() -> None:
    exc = errors.SMTPReplyError(451, "try later", (4, 3, 0), command="RCPT TO")
    assert exc.is_transient
    assert str(exc) == "RCPT TO: 451 4.3.0 try later"
    assert not errors.SMTPReplyError(550, "no such user").is_transient
    refused = errors.RecipientRefused(550, "no", refused={"a@x": "550 no"})
    assert refused.refused == {"a@x": "550 no"}
    assert errors.SenderRefused(553, "bad", sender="s@x").sender == "s@x"


def test_pop3_and_imap_errors() -> None:
    exc = errors.POP3ErrorReply("mailbox locked", "IN-USE", command="PASS")
    assert (exc.code, exc.text) == ("IN-USE", "mailbox locked")
    assert str(exc) == "PASS: -ERR [IN-USE] mailbox locked"
    imap = errors.IMAPStatusError("NO", "no such mailbox", "TRYCREATE", command="APPEND")
    assert (imap.status, imap.code) == ("NO", "TRYCREATE")
    assert str(imap) == "APPEND: NO [TRYCREATE] no such mailbox"


def test_outcome_unknown_carries_recipients_and_settled() -> None:
    exc = errors.OutcomeUnknown("lost", recipients=["a@x"], settled=["r1"])
    assert exc.recipients == ["a@x"]
    assert exc.settled == ["r1"]


def test_limit_exceeded_carries_the_limit() -> None:
    assert errors.LineTooLong("long", limit=10).limit == 10
