"""The pop3 package: what it exports, and what importing it costs."""

from __future__ import annotations

import subprocess
import sys

import mailwire
from mailwire import pop3


def test_import_loads_neither_ssl_nor_asyncio() -> None:
    # ARCHITECTURE.md "Start-up cost": the clients are loaded on first use.
    code = (
        "import sys, mailwire.pop3\n"
        "print(sorted(m for m in ('ssl', 'asyncio', 'hashlib') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_public_names() -> None:
    assert mailwire.pop3 is pop3
    for name in pop3.__all__:
        assert getattr(pop3, name) is not None, name
    assert pop3.NEED_DATA is mailwire.NEED_DATA
    assert pop3.Client.__module__ == "mailwire.pop3.client"
    assert pop3.AsyncClient.__module__ == "mailwire.pop3.aio"
