"""Conversions between mailwire messages and :class:`email.message.EmailMessage`.

Both directions go through the bytes, which is the only representation the
two libraries share exactly: ``email`` parses what mailwire wrote or
received, and mailwire parses what ``email``'s generator writes (with CRLF
line ends and no ``>From`` mangling). ``email`` is imported only here, and
only when a conversion is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import email.message

    from mailwire.mime.entity import Entity

__all__ = ["bytes_to_email_message", "from_email_message", "to_email_message"]


def bytes_to_email_message(data: bytes, policy: Any = None) -> email.message.EmailMessage:
    """Parse ``data`` with ``email`` (``policy.default`` when ``policy`` is None)."""
    import email.parser
    import email.policy

    chosen = email.policy.default if policy is None else policy
    message: email.message.EmailMessage = email.parser.BytesParser(policy=chosen).parsebytes(data)
    return message


def to_email_message(entity: Entity, policy: Any = None) -> email.message.EmailMessage:
    """A parsed entity as an ``EmailMessage`` (from its exact bytes).

    Args:
        entity: any entity; a part becomes a message of its own.
        policy: the ``email`` policy (``email.policy.default`` when None).
    """
    return bytes_to_email_message(bytes(entity), policy)


def from_email_message(message: email.message.Message, **parse_options: Any) -> Entity:
    """An ``email`` message as a mailwire :class:`Entity`.

    The message is flattened with CRLF line ends, without ``>From``
    mangling, and parsed.

    Args:
        message: an ``EmailMessage`` or compat32 ``Message``.
        parse_options: passed to :func:`mailwire.mime.parse` (``strict``,
            ``limits``).
    """
    import email.generator
    import io

    from mailwire.mime.parser import parse

    buffer = io.BytesIO()
    policy = message.policy.clone(linesep="\r\n")
    email.generator.BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(message)
    return parse(buffer.getvalue(), **parse_options)
