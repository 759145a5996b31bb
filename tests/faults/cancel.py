"""Cancel an asyncio session at every await point, and judge what is left (issue 7).

Every network wait of an asyncio client is one step of its driver (a write
and its drain, or a read). :class:`CancelProbe` counts those steps and, at
step ``k``, cancels the task running the session right before the step
awaits. :func:`cancel_sweep` first counts a clean session's steps, then runs
it once per ``k``: all of them, or, past ``limit`` (80) steps, the first and
last 20 and a spread between. In the drip mode the proxy hands the server's
bytes over one per write, so the client makes more and smaller reads (how
many depends on scheduling: up to one per byte), and a cancel lands inside
a reply or a body. Each run must show:

- ``CancelledError`` propagating out of the session (never swallowed, never
  turned into another exception);
- the client closed: its driver is closed, and a further call raises a
  ``MailwireError`` at once (not a hang, not a reply meant for the
  cancelled command);
- no leak: no ``ResourceWarning`` (an unclosed transport or socket) and no
  task left behind;
- and, judged by the protocol's own check against the server: nothing that
  completed before the cancel was a false success, nothing was lost.

The step hook replaces the private ``_perform`` method of the client's
``_driver`` on that one instance: the library is not changed.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from mailwire import MailwireError
from tests.faults.common import OTHER, Row, not_mailwire, outcome_of
from tests.support.fault_proxy import Fault, FaultProxy

Problems = list[tuple[str, str]]


class CancelProbe:
    """Cancel the session at driver step ``k`` (``k = 0``: never; just count).

    Attributes:
        k: the step to cancel at.
        steps: how many steps the session began.
        fired: whether step ``k`` was reached (and the task cancelled).
    """

    def __init__(self, k: int, label: str) -> None:
        self.k = k
        self.steps = 0
        self.fired = False
        self.where = f"{label} cancelled at step {k}" if k else f"{label} uncancelled"

    def run(
        self,
        client: Any,
        body: Callable[[Any], Awaitable[None]],
        further: Callable[[], Awaitable[object]],
        close: Callable[[], Awaitable[object]] | None = None,
    ) -> tuple[str, Problems]:
        """Run ``body(client)`` under the probe; then probe with ``further()``."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            outcome, problems = asyncio.run(self._run(client, body, further, close or client.close))
            gc.collect()
        problems += [
            (OTHER, f"{self.where}: {w.category.__name__}: {w.message}")
            for w in caught
            if issubclass(w.category, ResourceWarning)
        ]
        return outcome, problems

    async def _run(
        self,
        client: Any,
        body: Callable[[Any], Awaitable[None]],
        further: Callable[[], Awaitable[object]],
        close: Callable[[], Awaitable[object]],
    ) -> tuple[str, Problems]:
        problems: Problems = []
        driver = client._driver
        perform = driver._perform
        task: asyncio.Task[None] | None = None

        async def counted(*args: Any) -> Any:
            self.steps += 1
            if self.steps == self.k and task is not None:
                self.fired = True
                task.cancel()
            return await perform(*args)

        driver._perform = counted
        task = asyncio.create_task(body(client))
        try:
            await task
            outcome = "ok"
        except asyncio.CancelledError:
            outcome = "Cancelled"
        except Exception as exc:  # judged below
            outcome = outcome_of(exc)
            problems += not_mailwire(exc, self.where)
        where = self.where
        if self.fired and outcome != "Cancelled":
            problems.append((OTHER, f"{where}: the cancel did not propagate ({outcome})"))
        if not self.fired and outcome != "ok":
            problems.append((OTHER, f"{where}: the clean session failed ({outcome})"))
        if outcome != "ok":
            if driver.is_open:
                problems.append((OTHER, f"{where}: the connection is still open"))
            try:
                async with asyncio.timeout(5):  # a hang guard, not a timing check
                    await further()
            except MailwireError:
                pass
            except TimeoutError:
                problems.append((OTHER, f"{where}: a further call hung"))
            except Exception as exc:
                problems.append((OTHER, f"{where}: a further call raised {exc!r}"))
            else:
                problems.append((OTHER, f"{where}: a further call succeeded after the cancel"))
        await close()
        current = asyncio.current_task()
        left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if left:
            problems.append((OTHER, f"{where}: tasks left behind: {left}"))
        return outcome, problems


def steps_to_try(steps: int, limit: int) -> list[int]:
    """Every step when there are at most ``limit``; else the first and last 20 and a spread."""
    if steps <= limit:
        return list(range(1, steps + 1))
    chosen = set(range(1, 21)) | set(range(max(1, steps - 19), steps + 1))
    chosen.update(range(1, steps + 1, max(1, steps // (limit - 40))))
    return sorted(chosen)


def cancel_sweep(
    row: Row,
    upstream_port: int,
    run_one: Callable[[int, CancelProbe], tuple[str, Problems]],
    drip: bool,
    *,
    limit: int = 80,
) -> Row:
    """Count a clean session's steps, then cancel at each one (or a spread of them).

    ``run_one(proxy_port, probe)`` runs one session through a proxy on
    ``upstream_port`` and judges it; with ``drip`` the proxy hands the
    server's bytes over one at a time, so each read is one more await point.
    """
    fault = Fault("s2c", 0, action="drip") if drip else None
    label = f"{row.client} {row.fault}"
    counter = CancelProbe(0, label)
    with FaultProxy(("127.0.0.1", upstream_port), fault, lifetime=30) as proxy:
        outcome, problems = run_one(proxy.port, counter)
    if outcome != "ok" or problems:
        raise AssertionError(f"the clean session failed: {outcome} {problems}")
    row.stream = counter.steps
    for k in steps_to_try(counter.steps, limit):
        probe = CancelProbe(k, label)
        with FaultProxy(("127.0.0.1", upstream_port), fault, lifetime=30) as proxy:
            outcome, problems = run_one(proxy.port, probe)
        if not probe.fired and outcome == "ok" and not problems:
            continue  # fewer steps this time (reads merged): a clean run, no cancel
        row.record(outcome, problems)
    return row
