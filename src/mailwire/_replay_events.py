"""The event loop every ``replay`` shares: drain a core after server bytes.

Each protocol's replay turns what this yields into its own step type; the
rules for an error, for "need more data" and for the server's close are
written once here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from mailwire._flow import NeedData
from mailwire.errors import MailwireError

__all__ = ["CLOSED_NOTE", "core_events"]

CLOSED_NOTE = "the server closed the connection"


def core_events(
    conn: Any, closed: type, after_event: Callable[[], object] | None = None
) -> Iterator[tuple[Any, object | None, str]]:
    """``(state before, event, note)`` for each event ``conn`` has ready.

    ``note`` is empty for an ordinary event. A refused reply yields ``None``
    and the error's text, a close (an instance of ``closed``) the event and
    :data:`CLOSED_NOTE`; both end the loop, as does a need for more data.
    ``after_event`` runs after each successful ``next_event``.
    """
    while True:
        before = conn.state
        try:
            event = conn.next_event()
        except MailwireError as exc:
            yield before, None, f"{type(exc).__name__}: {exc}"
            return
        if after_event is not None:
            after_event()
        if isinstance(event, NeedData):
            return
        if isinstance(event, closed):
            yield before, event, CLOSED_NOTE
            return
        yield before, event, ""
