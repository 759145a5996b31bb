"""MIME: build messages and parse them (RFC 5322, RFC 2045-2049, 2047, 2231, 2183, 6532).

Three tiers, as in go-message:

- raw framing: header blocks and fields (``_headers``), multipart delimiter
  lines (``_multipart``), parameters (``_params``), encodings;
- entities: :func:`parse` returns an :class:`Entity`, a lazy view over the
  bytes (headers on demand, parts found by scanning for delimiters, payloads
  decoded when asked);
- mail level: :class:`Message` builds and streams a message (text, HTML,
  inline images, attachments) safe for any transport.

Importing this package is cheap: the modules load on first use (PEP 562).

RFCs: 5322 (messages), 2045/2046/2049 (MIME), 2047 (encoded-words), 2231
(parameter values), 2183 (Content-Disposition), 2392 (Content-ID), 2387
(multipart/related), 6532 (UTF-8 headers), 6152/3030 (8BITMIME,
BINARYMIME), 5890/3492 (IDNA A-labels through Punycode).
"""

from __future__ import annotations

import importlib

# Not typing's TYPE_CHECKING: importing typing costs more than this lazy
# package should (performance.md W6); mypy treats the name the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from mailwire.mime._defects import Defect, DuplicateHeaderError, MIMEDefectError
    from mailwire.mime._headers import Headers
    from mailwire.mime.address import Address, Group, parse_address, parse_address_list
    from mailwire.mime.builder import Attachment, Message
    from mailwire.mime.convert import from_email_message, to_email_message
    from mailwire.mime.entity import Entity
    from mailwire.mime.parser import parse

__all__ = [
    "Address",
    "Attachment",
    "Defect",
    "DuplicateHeaderError",
    "Entity",
    "Group",
    "Headers",
    "MIMEDefectError",
    "Message",
    "from_email_message",
    "parse",
    "parse_address",
    "parse_address_list",
    "to_email_message",
]

_WHERE = {
    "Address": "address",
    "Group": "address",
    "parse_address": "address",
    "parse_address_list": "address",
    "Attachment": "builder",
    "Message": "builder",
    "Defect": "_defects",
    "DuplicateHeaderError": "_defects",
    "MIMEDefectError": "_defects",
    "Entity": "entity",
    "Headers": "_headers",
    "from_email_message": "convert",
    "to_email_message": "convert",
    "parse": "parser",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mailwire.mime' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mailwire.mime.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
