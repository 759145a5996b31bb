"""SMTP sending: mailwire (blocking and asyncio) against smtplib and aiosmtplib (W5, issue 8).

Three workloads, each against a :class:`~benchmarks.replay_server.ReplayServer`
in a child process on 127.0.0.1 (:func:`~benchmarks.replay_server.smtp_sink_rules`,
so the server does no protocol work and never competes with the client for
the GIL):

``smtp_pipelining``
    research/performance.md's W5: 50 messages of 10 KiB (5 with ``--quick``),
    5 recipients each, over one connection through a
    :class:`~benchmarks.latency_proxy.LatencyProxy` adding 10 ms each way
    (RTT 20 ms), to a server that advertises PIPELINING. Rows: smtplib's
    ``sendmail`` loop (the baseline), aiosmtplib's (``UNAVAILABLE`` when it is
    not installed: it is no dependency of mailwire; ``pip install aiosmtplib``
    to measure it), mailwire's ``send_message`` loop (MAIL, RCPT x5 and DATA in
    one write: 2 round trips a message), and ``send_messages`` blocking and
    asyncio (the content of one message and the next envelope share a write,
    RFC 2920 §3.1: 1 round trip a message). Each row is timed from the first
    message to the last reply; connect, EHLO and QUIT come outside the clock.
    Extra columns: ``msg/s`` and ``RTT/msg`` (the sending time over the
    configured RTT and the message count).

``smtp_chunking``
    The same, the server advertising CHUNKING as well: the mailwire rows send
    ``BDAT n LAST`` (RFC 3030), the others cannot and use DATA.

``smtp_direct``
    The pipelining workload with no delay (straight to the server): the
    client's own cost per message. performance.md's W5 goal: at least
    smtplib's messages per second.

``smtp_stream``
    One message of 100 MB (4 MB with ``--quick``) streamed from a file,
    straight to the server (no delay), each row in a fresh Python process
    reporting its peak RSS (``VmHWM`` from /proc/self/status; also taken just
    before the send, after the imports and the connect) and its peak of traced
    Python allocations (``tracemalloc``, started at that point). Not
    ``ru_maxrss``: Linux keeps it across ``execve``, so a child started by a
    27 MiB benchmark process reports at least 27 MiB whatever it does.
    smtplib has to read the file into memory; mailwire reads it in
    ``Limits.chunk_size`` pieces. The issue's goal: mailwire under 32 MB.

Checks: every message of every row must be accepted for all 5 recipients
(a ``250`` after the end of data). The messages hold lines starting with a
dot and one lone-dot line, so a client that dot-stuffed wrongly would end the
message early at the server, which would then read the rest as commands and
record errors: each workload's teardown fails on any server error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import pathlib
import random
import re
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import CheckFailed, Measurement, Options, Unavailable, Workload
from benchmarks.latency_proxy import LatencyProxy
from benchmarks.replay_server import ReplayServer, Rule, smtp_sink_rules

MB = 1_000_000
ONE_WAY = 0.010  # seconds each way: RTT 20 ms, performance.md W5
MESSAGES = 50
QUICK_MESSAGES = 5
MESSAGE_SIZE = 10 * 1024
SENDER = "bench@client.example"
RECIPIENTS = [f"rcpt{i}@server.example" for i in range(5)]
LOCAL_NAME = "client.example"
GREETING = b"220 replay.example ESMTP\r\n"
ROOT = pathlib.Path(__file__).resolve().parents[2]
KEYWORDS = (b"PIPELINING", b"8BITMIME", b"SIZE 52428800")
CHUNKING_KEYWORDS = (b"PIPELINING", b"CHUNKING", b"8BITMIME", b"SIZE 52428800")


def make_message(n: int, size: int = MESSAGE_SIZE, seed: int = 2920) -> bytes:
    """A 7-bit message of about ``size`` octets: text lines, some dotted, one lone dot."""
    rnd = random.Random(seed * 1000 + n)
    head = (
        f"From: {SENDER}\r\nTo: {', '.join(RECIPIENTS)}\r\nSubject: benchmark message {n}\r\n"
        f"Message-ID: <{n}.{seed}@client.example>\r\n\r\n"
    ).encode()
    lines = [head]
    total = len(head)
    i = 0
    while total < size - 80:
        text = rnd.randbytes(36).hex().encode()[: rnd.randint(40, 74)]
        line = (b"." if i % 20 == 0 else b"") + text + b"\r\n"
        if i == 30:
            line = b".\r\n"  # a lone dot: stuffed, or the server ends the message here
        lines.append(line)
        total += len(line)
        i += 1
    return b"".join(lines)


@dataclasses.dataclass
class Fixture:
    server: ReplayServer
    proxy: LatencyProxy | None
    address: tuple[str, int]
    messages: list[bytes]
    rtt: float
    chunking: bool
    scratch: pathlib.Path | None = None
    stream_size: int = 0


def _rules(chunking: bool) -> list[Rule]:
    rules = smtp_sink_rules(CHUNKING_KEYWORDS if chunking else KEYWORDS)
    if chunking:
        # RFC 3030 §2: the chunk follows its BDAT line; each BDAT has a reply.
        bdat = re.compile(rb"BDAT (?P<n>\d+)( LAST)?$", re.IGNORECASE)
        rules.insert(0, Rule(bdat, b"", read_count_group="n", then_reply=b"250 2.0.0 OK\r\n"))
    return rules


def _start(options: Options, *, chunking: bool, delay: float | None) -> Fixture:
    server = ReplayServer(_rules(chunking), greeting=GREETING, in_subprocess=True, max_seconds=3600)
    server.start()
    address, proxy, rtt = server.address, None, 0.0
    try:
        if delay is not None:
            proxy = LatencyProxy(address, delay=delay, in_subprocess=True, max_seconds=3600)
            proxy.start()
            address, rtt = proxy.address, 2 * delay
    except BaseException:
        server.stop()
        raise
    count = QUICK_MESSAGES if options.quick else MESSAGES
    return Fixture(server, proxy, address, [make_message(n) for n in range(count)], rtt, chunking)


def _teardown(fixture: Fixture) -> None:
    if fixture.proxy is not None:
        fixture.proxy.stop()
    fixture.server.stop()
    if fixture.scratch is not None:
        for path in fixture.scratch.iterdir():
            path.unlink()
        fixture.scratch.rmdir()
    stats = fixture.server.stats()
    if stats.get("error_count", 0):
        raise CheckFailed(f"the replay server recorded errors: {stats.get('errors')}")


def _describe(fixture: Fixture) -> str:
    sizes = [len(m) for m in fixture.messages]
    what = "PIPELINING and CHUNKING" if fixture.chunking else "PIPELINING"
    path = (
        f"proxy adds {fixture.rtt / 2 * 1e3:g} ms each way (RTT {fixture.rtt * 1e3:g} ms)"
        if fixture.rtt
        else "no proxy, no added delay"
    )
    return (
        f"{len(sizes)} messages of {min(sizes)}-{max(sizes)} octets, {len(RECIPIENTS)} "
        f"recipients each, server offers {what}; {path}; timed from the first MAIL to the "
        "last reply"
    )


# ---------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True)
class Sent:
    """What a row reports: per message, how many recipients the server accepted."""

    accepted: tuple[int, ...]


def _measure(fixture: Fixture, ns: int, sent: Sent) -> Measurement:
    count = len(fixture.messages)
    extra = {"msg/s": count / (ns / 1e9)}
    if fixture.rtt:
        extra["RTT/msg"] = ns / 1e9 / count / fixture.rtt
    return Measurement(ns=ns, result=sent, extra=extra)


def _check(fixture: Fixture, result: Any) -> None:
    if not isinstance(result, Sent):
        raise CheckFailed(f"expected Sent, got {type(result).__name__}")
    want = (len(RECIPIENTS),) * len(fixture.messages)
    if result.accepted != want:
        raise CheckFailed(f"accepted recipients per message {result.accepted}, want {want}")


# ---------------------------------------------------------------- the clients


def smtplib_sendmail(fixture: Fixture) -> Measurement:
    """smtplib: MAIL, each RCPT, DATA and the content, one reply at a time."""
    with smtplib.SMTP(*fixture.address, local_hostname=LOCAL_NAME, timeout=120) as client:
        client.ehlo()
        t0 = time.perf_counter_ns()
        refused = [client.sendmail(SENDER, RECIPIENTS, m) for m in fixture.messages]
        ns = time.perf_counter_ns() - t0
    return _measure(fixture, ns, Sent(tuple(len(RECIPIENTS) - len(r) for r in refused)))


def aiosmtplib_sendmail(fixture: Fixture) -> Measurement:
    """aiosmtplib 5: the same command sequence, awaited (it has no pipelining)."""
    try:
        import aiosmtplib
    except ImportError:
        raise Unavailable("aiosmtplib is not installed (pip install aiosmtplib)") from None

    async def run() -> tuple[int, list[int]]:
        host, port = fixture.address
        client = aiosmtplib.SMTP(
            hostname=host,
            port=port,
            use_tls=False,
            start_tls=False,
            local_hostname=LOCAL_NAME,
            timeout=120,
        )
        await client.connect()
        t0 = time.perf_counter_ns()
        accepted = []
        for message in fixture.messages:
            errors, _ = await client.sendmail(SENDER, RECIPIENTS, message)
            accepted.append(len(RECIPIENTS) - len(errors))
        ns = time.perf_counter_ns() - t0
        await client.quit()
        return ns, accepted

    ns, accepted = asyncio.run(run())
    return _measure(fixture, ns, Sent(tuple(accepted)))


def _mailwire() -> Any:
    try:
        from mailwire import TLSMode, smtp
    except ImportError as exc:  # pragma: no cover
        raise Unavailable(f"mailwire.smtp: {exc}") from None
    return smtp, TLSMode


def _client_args(fixture: Fixture) -> dict[str, Any]:
    _, tls_mode = _mailwire()
    host, port = fixture.address
    return {
        "host": host,
        "port": port,
        "tls": tls_mode.PLAIN,
        "local_hostname": LOCAL_NAME,
        "timeout": 120,
    }


def _options(fixture: Fixture) -> dict[str, Any]:
    return {"use_bdat": True} if fixture.chunking else {}


def mailwire_loop(fixture: Fixture) -> Measurement:
    """``send_message`` per message: the envelope pipelined, the content after 354."""
    smtp, _ = _mailwire()
    with smtp.Client(**_client_args(fixture)) as client:
        t0 = time.perf_counter_ns()
        results = [
            client.send_message(m, sender=SENDER, recipients=RECIPIENTS, **_options(fixture))
            for m in fixture.messages
        ]
        ns = time.perf_counter_ns() - t0
    return _measure(fixture, ns, Sent(tuple(len(r.accepted) for r in results)))


def _batch(fixture: Fixture) -> list[tuple[bytes, str, list[str]]]:
    return [(m, SENDER, RECIPIENTS) for m in fixture.messages]


def mailwire_batch(fixture: Fixture) -> Measurement:
    """``send_messages``: pipelined across messages (RFC 2920 §3.1)."""
    smtp, _ = _mailwire()
    with smtp.Client(**_client_args(fixture)) as client:
        t0 = time.perf_counter_ns()
        results = client.send_messages(_batch(fixture), **_options(fixture))
        ns = time.perf_counter_ns() - t0
    return _measure(fixture, ns, Sent(tuple(len(r.accepted) for r in results)))


def mailwire_async_batch(fixture: Fixture) -> Measurement:
    """``AsyncClient.send_messages``: the same flow on asyncio."""
    smtp, _ = _mailwire()

    async def run() -> tuple[int, list[Any]]:
        async with smtp.AsyncClient(**_client_args(fixture)) as client:
            t0 = time.perf_counter_ns()
            results = await client.send_messages(_batch(fixture), **_options(fixture))
            return time.perf_counter_ns() - t0, results

    ns, results = asyncio.run(run())
    return _measure(fixture, ns, Sent(tuple(len(r.accepted) for r in results)))


IMPLEMENTATIONS: dict[str, Callable[[Fixture], Measurement]] = {
    "smtplib.sendmail": smtplib_sendmail,
    "aiosmtplib.sendmail": aiosmtplib_sendmail,
    "mailwire send_message loop": mailwire_loop,
    "mailwire send_messages": mailwire_batch,
    "mailwire async send_messages": mailwire_async_batch,
}

PIPELINING = Workload(
    name="smtp_pipelining",
    description="SMTP: 50 x 10 KiB x 5 recipients at RTT 20 ms, server with PIPELINING (W5)",
    implementations=IMPLEMENTATIONS,
    baseline="smtplib.sendmail",
    setup=lambda options: _start(options, chunking=False, delay=ONE_WAY),
    teardown=_teardown,
    check=_check,
    describe=_describe,
    rounds=5,
    memory=False,
)

CHUNKING = Workload(
    name="smtp_chunking",
    description="SMTP: the same, server with PIPELINING and CHUNKING; mailwire sends BDAT",
    implementations=IMPLEMENTATIONS,
    baseline="smtplib.sendmail",
    setup=lambda options: _start(options, chunking=True, delay=ONE_WAY),
    teardown=_teardown,
    check=_check,
    describe=_describe,
    rounds=5,
    memory=False,
)

DIRECT = Workload(
    name="smtp_direct",
    description="SMTP: 50 x 10 KiB x 5 recipients straight to the server (client cost)",
    implementations=IMPLEMENTATIONS,
    baseline="smtplib.sendmail",
    setup=lambda options: _start(options, chunking=False, delay=None),
    teardown=_teardown,
    check=_check,
    describe=_describe,
    rounds=9,
    memory=False,
)


# ---------------------------------------------------------------- streaming

_CHILD = r"""
import json, resource, sys, time, tracemalloc
def peak_kib():
    # VmHWM is this process's own high-water mark; ru_maxrss would carry the
    # parent's over fork + exec (Linux keeps it across execve).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kind, host, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sender, recipients = sys.argv[5], sys.argv[6].split(",")
if kind == "smtplib":
    import smtplib
    client = smtplib.SMTP(host, port, local_hostname="client.example", timeout=600)
    client.ehlo()
    before = peak_kib()
    tracemalloc.start()
    t0 = time.perf_counter_ns()
    with open(path, "rb") as f:
        refused = client.sendmail(sender, recipients, f.read())
    ns = time.perf_counter_ns() - t0
    traced = tracemalloc.get_traced_memory()[1]
    client.quit()
    accepted = len(recipients) - len(refused)
else:
    from mailwire import TLSMode, smtp
    with smtp.Client(host, port, tls=TLSMode.PLAIN, local_hostname="client.example",
                     timeout=600) as client:
        before = peak_kib()
        tracemalloc.start()
        t0 = time.perf_counter_ns()
        with open(path, "rb") as f:
            result = client.send_message(f, sender=sender, recipients=recipients)
        ns = time.perf_counter_ns() - t0
        traced = tracemalloc.get_traced_memory()[1]
    accepted = len(result.accepted)
rss = peak_kib()
print(json.dumps({"ns": ns, "rss_kib": rss, "before_kib": before, "traced": traced,
                  "accepted": accepted}))
"""


def _stream_child(kind: str) -> Callable[[Fixture], Measurement]:
    def run(fixture: Fixture) -> Measurement:
        assert fixture.scratch is not None
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
        args = [*map(str, fixture.address), str(fixture.scratch / "big.eml")]
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, kind, *args, SENDER, ",".join(RECIPIENTS)],
            capture_output=True,
            check=True,
            env=env,
            timeout=1200,
        )
        report = json.loads(done.stdout)
        extra = {
            "RSS before MiB": report["before_kib"] / 1024,
            "peak RSS MiB": report["rss_kib"] / 1024,
            "traced peak MiB": report["traced"] / 2**20,
        }
        return Measurement(report["ns"], Sent((report["accepted"],)), extra)

    return run


def _setup_stream(options: Options) -> Fixture:
    fixture = _start(options, chunking=False, delay=None)
    fixture.messages = [b""]  # one message: _check wants one accepted count
    fixture.scratch = pathlib.Path(tempfile.mkdtemp(prefix="mw-smtp-bench-"))
    size = (4 if options.quick else 100) * MB
    plain = b"s" * 76 + b"\r\n"
    block = b"." + b"s" * 75 + b"\r\n" + plain * 39  # every 40th line dotted
    head = f"From: {SENDER}\r\nTo: {RECIPIENTS[0]}\r\nSubject: big\r\n\r\n".encode()
    with open(fixture.scratch / "big.eml", "wb") as f:
        f.write(head)
        written = len(head)
        half = size // 2
        while written < size:
            if half and written >= half:
                f.write(b".\r\n")  # one lone dot in the middle
                written += 3
                half = 0
            f.write(block)
            written += len(block)
    fixture.stream_size = written
    return fixture


def _describe_stream(fixture: Fixture) -> str:
    return (
        f"one message of {fixture.stream_size / MB:.1f} MB from a file, "
        f"{len(RECIPIENTS)} recipients, no added delay; each row in a fresh process"
    )


STREAM = Workload(
    name="smtp_stream",
    description="SMTP: one large message streamed from a file; peak memory of the sender",
    implementations={
        "smtplib.sendmail(f.read()) [child]": _stream_child("smtplib"),
        "mailwire send_message(file) [child]": _stream_child("mailwire"),
    },
    baseline="smtplib.sendmail(f.read()) [child]",
    setup=_setup_stream,
    teardown=_teardown,
    check=_check,
    describe=_describe_stream,
    work_bytes=lambda fixture: fixture.stream_size,
    rounds=3,
    memory=False,
)

WORKLOADS = [PIPELINING, CHUNKING, DIRECT, STREAM]
