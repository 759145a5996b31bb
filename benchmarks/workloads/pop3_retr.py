"""POP3 downloads: mailwire (blocking and asyncio) against poplib (W4, issue 4).

Three workloads, each against a :class:`~benchmarks.replay_server.ReplayServer`
in a child process on 127.0.0.1 (so the server never competes with the
client for the GIL), each row timed from the RETR request to the end of the
answer (connect and login come before the clock):

``pop3_retr``
    RETR of one dot-stuffed message of 200 MB (2 MB with ``--quick``), shaped
    as research/performance.md's W4: lines of 76 characters, every 40th
    starting with a dot, one lone-dot line. Rows: ``poplib.retr`` with the
    lines joined (the baseline); mailwire streaming into a file (blocking and
    asyncio) and into memory; the ceiling ``floor:recv_into`` (one reused
    1 MiB buffer, the terminator found, nothing unstuffed or kept). The
    ``[child]`` rows run one retrieval in a fresh Python process and report
    its peak RSS (``VmHWM``), the figure the issue's goal is about.
    Every row is checked: the file or the bytes must have the SHA-256 of the
    message (the floor: the exact byte count of the answer).

``pop3_bulk``
    2,000 messages of about 20 KiB (50 with ``--quick``), PIPELINING offered:
    a ``poplib.retr`` loop against ``retrieve_all`` (pipelined, into hashing
    sinks), ``iter_messages`` and the asyncio client. Checked: every message's
    SHA-256.

``pop3_bulk_rtt``
    The same with 200 messages (10) through a
    :class:`~benchmarks.latency_proxy.LatencyProxy` adding 5 ms each way, where
    pipelining saves a round trip per message.

Measured 2026-11-27 on the project's 2-core VM while other work ran (load
2.4-3.7), ``python -m benchmarks.run pop3_retr pop3_bulk pop3_bulk_rtt
--rounds 7 --memory`` (paired ratios against poplib; they moved by about 1
between runs):

- pop3_retr, 200 MB: poplib 49-52 MB/s (674 MiB traced, 702 MiB RSS in a
  fresh process); mailwire into a file 6.4-6.7x (321-365 MB/s, 6.6 MiB
  traced of which 4 MiB is the transcript's cap), asyncio 5.3-6.2x, into
  memory 5.6x (216 MiB traced: 1.08x the message); in a fresh process
  5.7-6.0x with a peak RSS of 26 MiB. The recv_into ceiling: 40x.
- pop3_bulk, 2,000 x 18 KB: retrieve_all 2.9x, iter_messages 2.7x, asyncio
  3.0x (the Python replay server is much of the time here).
- pop3_bulk_rtt, 200 messages at 10 ms RTT: retrieve_all 21x (blocking and
  asyncio), iter_messages 3.0x.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import pathlib
import poplib
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import CheckFailed, Measurement, Options, Unavailable, Workload
from benchmarks.latency_proxy import LatencyProxy
from benchmarks.replay_server import ReplayServer, Rule, pop3_mailbox_rules

MB = 1_000_000
GREETING = b"+OK replay POP3 ready\r\n"
CAPA = b"+OK\r\nUSER\r\nUIDL\r\nTOP\r\nPIPELINING\r\n.\r\n"
ROOT = pathlib.Path(__file__).resolve().parents[2]


def w4_message(size: int) -> bytes:
    """W4's message: 76-character lines, every 40th dotted, one lone dot."""
    plain = b"m" * 76 + b"\r\n"
    block = b"." + b"m" * 75 + b"\r\n" + plain * 39
    count = max(1, size // len(block))
    half = b"Subject: big\r\n\r\n" + block * (count // 2)
    return half + b".\r\n" + block * (count - count // 2)


def bulk_messages(count: int, seed: int = 1939) -> list[bytes]:
    rnd = random.Random(seed)
    out = []
    for n in range(count):
        lines = [b"Subject: message %d\r\nMessage-ID: <%d@bench>\r\n\r\n" % (n, n)]
        for i in range(rnd.randint(200, 300)):
            text = rnd.randbytes(35).hex().encode()
            lines.append((b"." if i % 17 == 0 else b"") + text + b"\r\n")
        out.append(b"".join(lines))
    return out


@dataclasses.dataclass
class Fixture:
    """The server (and proxy), the expected digests, a scratch directory."""

    server: ReplayServer
    address: tuple[str, int]
    digests: list[str]
    sizes: list[int]
    wire_size: int
    scratch: pathlib.Path
    proxy: LatencyProxy | None = None


def _start(messages: list[bytes], *, delay: float | None = None) -> Fixture:
    rules = [Rule(re.compile(rb"CAPA$", re.I), CAPA), *pop3_mailbox_rules(messages)]
    server = ReplayServer(rules, greeting=GREETING, in_subprocess=True, max_seconds=3600)
    server.start()
    address = server.address
    proxy = None
    if delay is not None:
        proxy = LatencyProxy(address, delay=delay, max_seconds=3600)
        proxy.start()
        address = proxy.address
    first = messages[0]
    stuffed = first.replace(b"\r\n.", b"\r\n..")
    wire = len(b"+OK %d octets\r\n" % len(first)) + len(stuffed) + len(b".\r\n")
    return Fixture(
        server,
        address,
        [hashlib.sha256(m).hexdigest() for m in messages],
        [len(m) for m in messages],
        wire,
        pathlib.Path(tempfile.mkdtemp(prefix="mw-pop3-bench-")),
        proxy,
    )


def _teardown(fixture: Fixture) -> None:
    if fixture.proxy is not None:
        fixture.proxy.stop()
    fixture.server.stop()
    for path in fixture.scratch.iterdir():
        path.unlink()
    fixture.scratch.rmdir()
    errors = fixture.server.stats().get("error_count", 0)
    if errors:
        raise CheckFailed(f"the replay server recorded {errors} errors")


# ---------------------------------------------------------------- clients


def _mailwire() -> Any:
    try:
        from mailwire import TLSMode, pop3
    except ImportError as exc:  # pragma: no cover
        raise Unavailable(f"mailwire.pop3: {exc}") from None
    return pop3, TLSMode


def _client_args(fixture: Fixture, **extra: Any) -> dict[str, Any]:
    _, tls_mode = _mailwire()
    host, port = fixture.address
    return {
        "host": host,
        "port": port,
        "tls": tls_mode.PLAIN,
        "allow_plaintext_auth": True,
        "timeout": 120,
        **extra,
    }


def _poplib(fixture: Fixture) -> poplib.POP3:
    pop = poplib.POP3(*fixture.address, timeout=120)
    pop.user("bench")
    pop.pass_("bench")
    return pop


def _file_digest(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def poplib_retr(fixture: Fixture) -> Measurement:
    pop = _poplib(fixture)
    try:
        t0 = time.perf_counter_ns()
        _, lines, _ = pop.retr(1)
        data = b"\r\n".join(lines) + b"\r\n"
        ns = time.perf_counter_ns() - t0
    finally:
        pop.quit()
    return Measurement(ns, hashlib.sha256(data).hexdigest())


def mailwire_file(fixture: Fixture) -> Measurement:
    pop3, _ = _mailwire()
    path = fixture.scratch / "blocking.eml"
    with pop3.Client(**_client_args(fixture)) as client:
        client.login("bench", "bench")
        with open(path, "wb") as sink:
            t0 = time.perf_counter_ns()
            client.retrieve(1, sink=sink)
            sink.flush()
            ns = time.perf_counter_ns() - t0
    return Measurement(ns, _file_digest(path))


def mailwire_async_file(fixture: Fixture) -> Measurement:
    pop3, _ = _mailwire()
    path = fixture.scratch / "asyncio.eml"

    async def run() -> int:
        async with pop3.AsyncClient(**_client_args(fixture)) as client:
            await client.login("bench", "bench")
            with open(path, "wb") as sink:
                t0 = time.perf_counter_ns()
                await client.retrieve(1, sink=sink)
                sink.flush()
                return time.perf_counter_ns() - t0

    ns = asyncio.run(run())
    return Measurement(ns, _file_digest(path))


def mailwire_bytes(fixture: Fixture) -> Measurement:
    pop3, _ = _mailwire()
    from mailwire import Limits

    limits = Limits(max_literal_size=1 << 30)
    with pop3.Client(**_client_args(fixture, limits=limits)) as client:
        client.login("bench", "bench")
        t0 = time.perf_counter_ns()
        data = client.retrieve(1)
        ns = time.perf_counter_ns() - t0
    return Measurement(ns, hashlib.sha256(data).hexdigest())


def floor_recv_into(fixture: Fixture) -> Measurement:
    """The ceiling: read the answer into one reused buffer, find its end."""
    sock = socket.create_connection(fixture.address, timeout=120)
    with sock, sock.makefile("rb") as reader:
        reader.readline()
        for command in (b"USER bench", b"PASS bench"):
            sock.sendall(command + b"\r\n")
            reader.readline()
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        tail = b""
        total = 0
        t0 = time.perf_counter_ns()
        sock.sendall(b"RETR 1\r\n")
        while True:
            n = sock.recv_into(view)
            if not n:
                break
            total += n
            tail = (tail + bytes(view[max(0, n - 5) : n]))[-5:]
            if tail == b"\r\n.\r\n":
                break
        ns = time.perf_counter_ns() - t0
        sock.sendall(b"QUIT\r\n")
    return Measurement(ns, total)


_CHILD = r"""
import hashlib, json, resource, sys, time
kind, host, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if kind == "poplib":
    import poplib
    pop = poplib.POP3(host, port, timeout=120)
    pop.user("bench"); pop.pass_("bench")
    t0 = time.perf_counter_ns()
    data = b"\r\n".join(pop.retr(1)[1]) + b"\r\n"
    ns = time.perf_counter_ns() - t0
    pop.quit()
    digest = hashlib.sha256(data).hexdigest()
else:
    from mailwire import TLSMode, pop3
    with pop3.Client(host, port, tls=TLSMode.PLAIN, allow_plaintext_auth=True, timeout=120) as c:
        c.login("bench", "bench")
        with open(path, "wb") as sink:
            t0 = time.perf_counter_ns()
            c.retrieve(1, sink=sink)
            sink.flush()
            ns = time.perf_counter_ns() - t0
    digest = None
# VmHWM is this process image's own peak; ru_maxrss would carry over the peak
# of the (large) parent across fork and exec on Linux.
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1])
except OSError:
    pass
print(json.dumps({"ns": ns, "rss_kib": rss, "digest": digest}))
"""


def _child(kind: str) -> Callable[[Fixture], Measurement]:
    def run(fixture: Fixture) -> Measurement:
        path = fixture.scratch / f"child-{kind}.eml"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, kind, *map(str, fixture.address), str(path)],
            capture_output=True,
            check=True,
            env=env,
            timeout=600,
        )
        report = json.loads(done.stdout)
        digest = report["digest"] or _file_digest(path)
        extra = {"child RSS MiB": report["rss_kib"] / 1024}
        return Measurement(report["ns"], digest, extra)

    return run


def _check_one(fixture: Fixture, result: Any) -> None:
    if isinstance(result, int):
        if result != fixture.wire_size:
            raise CheckFailed(f"{result} bytes read, the answer has {fixture.wire_size}")
    elif result != fixture.digests[0]:
        raise CheckFailed("the message content differs (SHA-256)")


def _setup_one(options: Options) -> Fixture:
    return _start([w4_message((2 if options.quick else 200) * MB)])


def _describe_one(fixture: Fixture) -> str:
    size, wire = fixture.sizes[0] / MB, fixture.wire_size / MB
    return f"one message of {size:.1f} MB ({wire:.1f} MB on the wire)"


RETR = Workload(
    name="pop3_retr",
    description="POP3 RETR of one large dot-stuffed message from a loopback replay server",
    implementations={
        "poplib.retr": poplib_retr,
        "mailwire Client sink=file": mailwire_file,
        "mailwire AsyncClient sink=file": mailwire_async_file,
        "mailwire Client bytes": mailwire_bytes,
        "poplib.retr [child]": _child("poplib"),
        "mailwire sink=file [child]": _child("mailwire"),
        "floor:recv_into": floor_recv_into,
    },
    baseline="poplib.retr",
    setup=_setup_one,
    teardown=_teardown,
    check=_check_one,
    describe=_describe_one,
    work_bytes=lambda fixture: fixture.sizes[0],
    rounds=5,
)


# ---------------------------------------------------------------- bulk


def poplib_loop(fixture: Fixture) -> Measurement:
    pop = _poplib(fixture)
    try:
        t0 = time.perf_counter_ns()
        count = pop.stat()[0]
        digests = []
        for n in range(1, count + 1):
            lines = pop.retr(n)[1]
            digests.append(hashlib.sha256(b"\r\n".join(lines) + b"\r\n").hexdigest())
        ns = time.perf_counter_ns() - t0
    finally:
        pop.quit()
    return Measurement(ns, digests)


def _hashing_factory(hashes: dict[int, Any]) -> Callable[[int], Callable[[bytes], None]]:
    def factory(number: int) -> Callable[[bytes], None]:
        digest = hashes[number] = hashlib.sha256()
        return digest.update

    return factory


def mailwire_retrieve_all(fixture: Fixture) -> Measurement:
    pop3, _ = _mailwire()
    hashes: dict[int, Any] = {}
    with pop3.Client(**_client_args(fixture)) as client:
        client.login("bench", "bench")
        t0 = time.perf_counter_ns()
        client.retrieve_all(_hashing_factory(hashes))
        ns = time.perf_counter_ns() - t0
    return Measurement(ns, [hashes[n].hexdigest() for n in sorted(hashes)])


def mailwire_iterate(fixture: Fixture) -> Measurement:
    pop3, _ = _mailwire()
    with pop3.Client(**_client_args(fixture)) as client:
        client.login("bench", "bench")
        t0 = time.perf_counter_ns()
        digests = [hashlib.sha256(m).hexdigest() for _, m in client.iter_messages()]
        ns = time.perf_counter_ns() - t0
    return Measurement(ns, digests)


def mailwire_async_retrieve_all(fixture: Fixture) -> Measurement:
    pop3, _ = _mailwire()
    hashes: dict[int, Any] = {}

    async def run() -> int:
        async with pop3.AsyncClient(**_client_args(fixture)) as client:
            await client.login("bench", "bench")
            t0 = time.perf_counter_ns()
            await client.retrieve_all(_hashing_factory(hashes))
            return time.perf_counter_ns() - t0

    ns = asyncio.run(run())
    return Measurement(ns, [hashes[n].hexdigest() for n in sorted(hashes)])


def _check_bulk(fixture: Fixture, result: Any) -> None:
    if result != fixture.digests:
        wrong = sum(a != b for a, b in zip(result, fixture.digests, strict=False))
        raise CheckFailed(f"{wrong} of {len(fixture.digests)} messages differ (or count differs)")


def _describe_bulk(fixture: Fixture) -> str:
    total = sum(fixture.sizes)
    rtt = f", RTT {fixture.proxy.rtt * 1000:.1f} ms" if fixture.proxy is not None else ""
    return f"{len(fixture.sizes):,} messages, {total / MB:.1f} MB{rtt}"


BULK_IMPLEMENTATIONS: dict[str, Callable[[Fixture], Measurement]] = {
    "poplib.retr loop": poplib_loop,
    "mailwire Client retrieve_all": mailwire_retrieve_all,
    "mailwire Client iter_messages": mailwire_iterate,
    "mailwire AsyncClient retrieve_all": mailwire_async_retrieve_all,
}

BULK = Workload(
    name="pop3_bulk",
    description="POP3 download of many messages over loopback (PIPELINING offered)",
    implementations=BULK_IMPLEMENTATIONS,
    baseline="poplib.retr loop",
    setup=lambda options: _start(bulk_messages(50 if options.quick else 2000)),
    teardown=_teardown,
    check=_check_bulk,
    describe=_describe_bulk,
    work_bytes=lambda fixture: sum(fixture.sizes),
    rounds=7,
)

BULK_RTT = Workload(
    name="pop3_bulk_rtt",
    description="POP3 download of many messages at 10 ms RTT (PIPELINING offered)",
    implementations=BULK_IMPLEMENTATIONS,
    baseline="poplib.retr loop",
    setup=lambda options: _start(bulk_messages(10 if options.quick else 200), delay=0.005),
    teardown=_teardown,
    check=_check_bulk,
    describe=_describe_bulk,
    work_bytes=lambda fixture: sum(fixture.sizes),
    rounds=5,
)

WORKLOADS = [RETR, BULK, BULK_RTT]
