"""Shared helpers for the IMAP interop tests: both clients behind one interface."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from mailwire import IMAPStatusError, TLSMode
from mailwire.imap.aio import AsyncClient
from mailwire.imap.client import Client
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE, LabUser


class Sync:
    """Run the same calls on either client: ``await`` hidden for the async one."""

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        self.kind = kind
        if kind == "blocking":
            self.client: Any = Client(*args, **kwargs)
            self._runner: asyncio.Runner | None = None
        else:
            self.client = AsyncClient(*args, **kwargs)
            self._runner = asyncio.Runner()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if self._runner is None or not callable(method) or name == "idle":
            return method
        runner = self._runner
        return lambda *a, **k: runner.run(method(*a, **k))

    def run(self, coroutine: Any) -> Any:
        assert self._runner is not None
        return self._runner.run(coroutine)

    def idle_events(self, timeout: float, wanted: int, on_start: Callable[[], None]) -> list[Any]:
        """Run IDLE; call ``on_start`` once idling; collect up to ``wanted`` events."""
        if self._runner is None:
            events: list[Any] = []
            with self.client.idle(timeout=timeout) as session:
                on_start()
                for event in session:
                    events.append(event)
                    if len(events) >= wanted:
                        break
            return events

        async def go() -> list[Any]:
            out: list[Any] = []
            async with self.client.idle(timeout=timeout) as session:
                on_start()
                iterator: AsyncIterator[Any] = session.__aiter__()
                async for event in iterator:
                    out.append(event)
                    if len(out) >= wanted:
                        break
            return out

        return self.run(go())  # type: ignore[no-any-return]

    def __enter__(self) -> Sync:
        self.connect()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc is None:
            self.logout()
        else:
            self.disconnect()
        if self._runner is not None:
            self._runner.close()


@pytest.fixture(params=["blocking", "asyncio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def connect(kind: str, lab: DovecotLab, user: LabUser = ALICE, **kwargs: Any) -> Sync:
    """A logged-in client over implicit TLS."""
    args: dict[str, Any] = {"ssl_context": lab.client_context(), "timeout": 10}
    args.update(kwargs)
    client = Sync(kind, lab.host, lab.imaps_port, **args)
    client.connect()
    client.login(user.name, user.password)
    return client


def unique(prefix: str = "mw") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def make_message(
    subject: str | None = None, body: str = "Hello over IMAP.\r\n", **headers: str
) -> bytes:
    """A message with a unique Message-ID (mailboxes are shared across the session)."""
    lines = [
        "From: seed@example.test",
        "To: alice@example.test",
        f"Subject: {subject or unique('subject')}",
        "Date: Fri, 27 Nov 2026 12:00:00 +0000",
        f"Message-ID: <{uuid.uuid4().hex}@imap.test>",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        body,
    ]
    return "\r\n".join(lines).encode()


@pytest.fixture
def mailbox(kind: str, dovecot_lab: DovecotLab) -> Iterator[str]:
    """A fresh mailbox of ALICE's, deleted afterwards."""
    name = unique("box")
    with Sync(
        "blocking",
        dovecot_lab.host,
        dovecot_lab.imaps_port,
        ssl_context=dovecot_lab.client_context(),
        timeout=10,
    ) as admin:
        admin.login(ALICE.name, ALICE.password)
        admin.create(name)
    yield name
    with Sync(
        "blocking",
        dovecot_lab.host,
        dovecot_lab.imaps_port,
        ssl_context=dovecot_lab.client_context(),
        timeout=10,
    ) as admin:
        admin.login(ALICE.name, ALICE.password)
        with contextlib.suppress(IMAPStatusError):
            admin.delete(name)


__all__ = ["TLSMode", "kind", "mailbox"]
