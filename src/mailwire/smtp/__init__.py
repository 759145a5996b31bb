"""SMTP (RFC 5321) and LMTP (RFC 2033): a sans-I/O core and its pieces.

Work in progress: the reply reader and reply type are in; the command writer,
state table, connection, flows and clients follow (issue 8).
"""

from __future__ import annotations

from mailwire._flow import NEED_DATA
from mailwire.smtp._reader import ReplyReader, parse_enhanced
from mailwire.smtp.events import Reply

__all__ = ["NEED_DATA", "Reply", "ReplyReader", "parse_enhanced"]
