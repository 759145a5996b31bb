"""The latency proxy in use: smtplib EHLO + QUIT with and without added delay.

A :class:`~benchmarks.replay_server.ReplayServer` plays an SMTP server
(:func:`~benchmarks.replay_server.smtp_sink_rules`); each implementation opens
an ``smtplib.SMTP`` session, sends EHLO and QUIT, and is timed from connect to
the QUIT reply:

- ``direct``: straight to the replay server;
- ``proxy 0 ms`` (baseline): through a :class:`~benchmarks.latency_proxy.LatencyProxy`
  adding nothing, which shows the proxy's own cost;
- ``proxy RTT 20 ms``: through a proxy adding 10 ms each way, the RTT of
  research/performance.md's W5 figures.

The session waits for 2.5 round trips: the greeting (half a round trip:
the proxy connects upstream as soon as it accepts, and the greeting comes
back through its 10 ms), EHLO and QUIT. The ``RTTs`` column is the session
time divided by the configured RTT: it should read a little above 2.5. The
check asks for the replies 220, 250, 221 and, through the delaying proxy,
for at least 2.5 RTT: a proxy that forgot to delay fails, not passes.
(``local_hostname`` is given so that smtplib does not look up this host's
FQDN, which can take milliseconds without a resolver.)
"""

from __future__ import annotations

import dataclasses
import smtplib
import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import CheckFailed, Measurement, Options, Workload
from benchmarks.latency_proxy import LatencyProxy
from benchmarks.replay_server import ReplayServer, smtp_sink_rules

ONE_WAY = 0.010  # seconds each way: RTT 20 ms
ROUND_TRIPS = 2.5  # greeting (0.5) + EHLO (1) + QUIT (1)


@dataclasses.dataclass
class Lab:
    """The fixture: the replay server and the two proxies in front of it."""

    server: ReplayServer
    proxies: dict[str, LatencyProxy]


@dataclasses.dataclass(frozen=True)
class Session:
    """What one EHLO + QUIT session saw."""

    codes: tuple[int, ...]
    elapsed_ns: int
    min_ns: int  # the delay the path must have added at least


def _setup(options: Options) -> Lab:
    server = ReplayServer(
        smtp_sink_rules(), greeting=b"220 replay.example ESMTP\r\n", max_seconds=600
    )
    server.start()
    proxies: dict[str, LatencyProxy] = {}
    try:
        for name, delay in (("zero", 0.0), ("rtt20", ONE_WAY)):
            proxies[name] = LatencyProxy(server.address, delay=delay, max_seconds=600)
            proxies[name].start()
    except BaseException:
        _teardown(Lab(server, proxies))
        raise
    return Lab(server, proxies)


def _teardown(lab: Lab) -> None:
    for proxy in lab.proxies.values():
        proxy.stop()
    lab.server.stop()


def _describe(lab: Lab) -> str:
    rtt = lab.proxies["rtt20"].rtt
    return (
        f"proxy adds {rtt / 2 * 1e3:g} ms each way (RTT {rtt * 1e3:g} ms); "
        f"EHLO + QUIT waits {ROUND_TRIPS} RTT = {ROUND_TRIPS * rtt * 1e3:g} ms at least"
    )


def session_through(path: str) -> Callable[[Lab], Measurement]:
    """EHLO + QUIT to the server, directly (``path="direct"``) or via a proxy."""

    def run(lab: Lab) -> Measurement:
        if path == "direct":
            host, port = lab.server.address
            rtt = 0.0
        else:
            host, port = lab.proxies[path].address
            rtt = lab.proxies[path].rtt
        t0 = time.perf_counter_ns()
        client = smtplib.SMTP(local_hostname="client.example", timeout=10)
        greeting, _ = client.connect(host, port)
        ehlo, _ = client.ehlo()
        quit_code, _ = client.quit()
        elapsed = time.perf_counter_ns() - t0
        session = Session((greeting, ehlo, quit_code), elapsed, int(ROUND_TRIPS * rtt * 1e9))
        extra = {"RTTs": elapsed / (rtt * 1e9)} if rtt else {}
        return Measurement(ns=elapsed, result=session, extra=extra)

    return run


def _check(lab: Lab, session: Any) -> None:
    if not isinstance(session, Session):
        raise CheckFailed(f"expected a Session, got {type(session).__name__}")
    if session.codes != (220, 250, 221):
        raise CheckFailed(f"replies {session.codes}, expected (220, 250, 221)")
    if session.elapsed_ns < session.min_ns:
        raise CheckFailed(
            f"took {session.elapsed_ns / 1e6:.1f} ms, less than the "
            f"{session.min_ns / 1e6:.1f} ms the proxy must add"
        )
    errors = lab.server.stats()["errors"]
    if errors:
        raise CheckFailed(f"the replay server saw: {errors[0]}")


WORKLOAD = Workload(
    name="latency_smoke",
    description="smtplib EHLO+QUIT through the latency proxy (0 vs 20 ms RTT)",
    implementations={
        "direct": session_through("direct"),
        "proxy 0 ms": session_through("zero"),
        "proxy RTT 20 ms": session_through("rtt20"),
    },
    baseline="proxy 0 ms",
    setup=_setup,
    teardown=_teardown,
    check=_check,
    describe=_describe,
    rounds=5,
    memory=False,  # the proxies' threads would count too
)
