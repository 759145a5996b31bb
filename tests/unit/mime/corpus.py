"""Where the shared corpora are, for the MIME tests (shared/ sits beside the checkout)."""

from __future__ import annotations

import pathlib

SHARED = pathlib.Path(__file__).resolve().parents[4] / "shared"
MIMEKIT = SHARED / "corpora/mimekit/UnitTests/TestData"
MAILKIT_MESSAGES = SHARED / "corpora/mailkit/UnitTests/Net/Imap/Resources/common"


def corpus_messages() -> list[pathlib.Path]:
    """Every real message of the two corpora the MIME issue names."""
    files = sorted((MIMEKIT / "messages").glob("*"))
    files += sorted(MAILKIT_MESSAGES.glob("message.*.msg"), key=lambda p: int(p.suffixes[0][1:]))
    return files
