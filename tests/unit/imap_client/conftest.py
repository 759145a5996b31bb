"""Fixtures shared by the IMAP client tests: which client, which transport."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which client runs the test: ``Client`` or ``AsyncClient``."""
    return str(request.param)


@pytest.fixture(params=["plain", "tls"])
def transport(request: pytest.FixtureRequest) -> str:
    """Plain TCP or implicit TLS to the scripted server."""
    return str(request.param)
