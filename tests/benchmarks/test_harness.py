"""The benchmark harness works, and its checks catch wrong implementations.

Every workload runs once in quick mode. Nothing here asserts a speed: the
figures of a shared 2-core machine are not test material. (The latency_smoke
workload's own check does require that a session through the 10 ms proxy took
*at least* the 2.5 round trips the proxy must add: a lower bound that load can
only make easier to meet.)
"""

from __future__ import annotations

import dataclasses
import imaplib
import json
import poplib
import re
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from benchmarks.harness import (
    FAILED,
    OK,
    UNAVAILABLE,
    Measurement,
    Options,
    Unavailable,
    Workload,
    run_workload,
)
from benchmarks.latency_proxy import LatencyProxy
from benchmarks.replay_server import (
    ReplayServer,
    Rule,
    imap_command,
    pop3_mailbox_rules,
    smtp_sink_rules,
)
from benchmarks.report import format_markdown, format_table, write_json
from benchmarks.run import discover, main
from benchmarks.workloads import import_time, line_split

from tests.lab.rules import LabUnavailable, unavailable

REPO_ROOT = Path(__file__).resolve().parents[2]
QUICK = Options(quick=True, rounds=1)
WORKLOADS, BROKEN = discover()


def _toy(impls: dict[str, Callable[[Any], Any]], **kwargs: Any) -> Workload:
    return Workload(name="toy", implementations=impls, baseline="base", **kwargs)


def _wait_refused(address: tuple[str, int], seconds: float = 5.0) -> bool:
    """Whether connecting to ``address`` is refused within ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            socket.create_connection(address, timeout=1).close()
        except OSError:
            return True
        time.sleep(0.05)
    return False


# ------------------------------------------------------------ workloads --


def test_discovery_finds_the_workloads() -> None:
    assert not BROKEN
    assert {"import_time", "line_split", "latency_smoke"} <= set(WORKLOADS)


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_runs_one_quick_round(name: str) -> None:
    result = run_workload(WORKLOADS[name], QUICK)

    assert result.ok, (result.error, {n: r.reason for n, r in result.implementations.items()})
    if result.skipped:
        # A workload whose server is missing (Dovecot): skipped outside CI, a failure in it.
        unavailable(LabUnavailable(f"benchmark {name}: {result.skipped}"))
    assert result.rounds_done == 1
    for impl in result.implementations.values():
        assert impl.status in {OK, UNAVAILABLE}, impl.reason
        assert len(impl.samples_ns) == (impl.status == OK)
    assert result.implementations[result.baseline].status == OK
    assert result.name in format_table(result)


def test_line_split_check_catches_wrong_lines() -> None:
    def drop_last(stream: line_split.Stream) -> list[bytes]:
        return line_split.bytesio_readline(stream)[:-1]

    def lf_only(stream: line_split.Stream) -> list[bytes]:
        return [line.replace(b"\r\n", b"\n") for line in line_split.bytesio_readline(stream)]

    def one_joined(stream: line_split.Stream) -> list[bytes]:
        lines = line_split.bytesio_readline(stream)
        return [lines[0] + lines[1], *lines[2:]]

    wrong = {"drop last": drop_last, "LF only": lf_only, "one joined": one_joined}
    workload = dataclasses.replace(
        line_split.WORKLOAD, implementations={**line_split.WORKLOAD.implementations, **wrong}
    )
    result = run_workload(workload, QUICK)

    assert not result.ok
    for name in wrong:
        impl = result.implementations[name]
        assert impl.status == FAILED
        assert impl.reason.startswith("check failed")
        assert impl.samples_ns == []
    assert result.implementations["BytesIO.readline"].status == OK
    assert "FAILED: check failed" in format_table(result)


class _CarriageReturnEater:
    """A wrong receive buffer: hands out lines without their CR."""

    def __init__(self) -> None:
        self.data = b""

    def feed(self, data: bytes) -> None:
        self.data += data

    def read_line(self) -> bytes | None:
        end = self.data.find(b"\n")
        if end < 0:
            return None
        line, self.data = self.data[: end + 1], self.data[end + 1 :]
        return line.replace(b"\r", b"")


def test_line_split_check_catches_a_wrong_receive_buffer() -> None:
    result = run_workload(line_split.make_workload(_CarriageReturnEater), QUICK)

    assert result.implementations["ReceiveBuffer"].status == FAILED
    assert result.implementations["ReceiveBuffer+socket"].status == FAILED
    assert result.implementations["makefile.readline"].status == OK


def test_parse_importtime_sums_the_statements_top_level_imports() -> None:
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       100 |        100 |   encodings.utf_8\n"
        "import time:       900 |       1000 | site\n"
        "import time:        50 |         50 |     _socket\n"
        "import time:       300 |        350 |   socket\n"
        "import time:       200 |        550 | smtplib\n"
        "import time:        40 |         40 | poplib\n"
    )
    total, loaded = import_time.parse_importtime(stderr, frozenset({"encodings.utf_8", "site"}))

    assert total == 590
    assert loaded == ("_socket", "socket", "smtplib", "poplib")


def test_import_time_check_rejects_a_failed_import() -> None:
    result = run_workload(
        dataclasses.replace(
            import_time.WORKLOAD,
            implementations={
                "smtplib": import_time.importer(("smtplib",)),
                "no such module": import_time.importer(("no_such_module_here",)),
            },
        ),
        QUICK,
    )

    assert result.implementations["smtplib"].status == OK
    bad = result.implementations["no such module"]
    assert bad.status == FAILED
    assert "ModuleNotFoundError" in bad.reason


# -------------------------------------------------------------- harness --


def test_default_check_compares_with_the_baseline() -> None:
    result = run_workload(
        _toy({"base": lambda _: [1, 2, 3], "same": lambda _: [1, 2, 3], "other": lambda _: [1, 2]}),
        QUICK,
    )

    assert result.implementations["same"].status == OK
    assert result.implementations["other"].status == FAILED
    assert "differs from the baseline" in result.implementations["other"].reason
    assert not result.ok


def test_a_check_returning_false_fails() -> None:
    result = run_workload(
        _toy({"base": lambda _: 1, "two": lambda _: 2}, check=lambda _, r: r == 1), QUICK
    )

    assert result.implementations["base"].status == OK
    assert result.implementations["two"].reason == "check failed: CheckFailed: check returned False"


def test_exceptions_fail_and_unavailable_skips() -> None:
    def boom(_: Any) -> int:
        raise ZeroDivisionError("no")

    def missing(_: Any) -> int:
        raise Unavailable("not written yet")

    result = run_workload(_toy({"base": lambda _: 1, "boom": boom, "missing": missing}), QUICK)

    assert result.implementations["boom"].status == FAILED
    assert result.implementations["boom"].reason == "raised ZeroDivisionError: no"
    assert result.implementations["missing"].status == UNAVAILABLE
    assert result.implementations["missing"].reason == "not written yet"
    skipped_only = run_workload(_toy({"base": lambda _: 1, "missing": missing}), QUICK)
    assert skipped_only.ok
    no_baseline = run_workload(_toy({"base": missing, "other": lambda _: 1}), QUICK)
    assert no_baseline.skipped == "baseline 'base' unavailable: not written yet"
    assert no_baseline.ok
    broken_baseline = run_workload(_toy({"base": boom, "other": lambda _: 1}), QUICK)
    assert broken_baseline.error == "baseline 'base' failed: raised ZeroDivisionError: no"
    assert not broken_baseline.ok


def test_a_result_going_wrong_later_discards_every_sample() -> None:
    calls = {"n": 0}

    def flaky(_: Any) -> int:
        calls["n"] += 1
        return 1 if calls["n"] <= 3 else 2

    result = run_workload(_toy({"base": lambda _: 1, "flaky": flaky}), Options(rounds=5, warmup=1))

    flaky_result = result.implementations["flaky"]
    assert flaky_result.status == FAILED
    assert flaky_result.samples_ns == []
    assert result.ratio("flaky") is None
    assert len(result.implementations["base"].samples_ns) == 5


def test_rounds_alternate_and_rotate() -> None:
    calls: list[str] = []

    def impl(name: str) -> Callable[[Any], int]:
        def call(_: Any) -> int:
            calls.append(name)
            return 0

        return call

    result = run_workload(
        _toy({"base": impl("base"), "b": impl("b"), "c": impl("c")}),
        Options(rounds=4, warmup=2),
    )

    assert calls[:6] == ["base", "b", "c"] * 2  # check pass + one more warm-up
    assert result.order == [
        ["base", "b", "c"],
        ["b", "c", "base"],
        ["c", "base", "b"],
        ["base", "b", "c"],
    ]
    assert calls[6:] == [name for order in result.order for name in order]
    assert result.ratio("base") == 1.0


def test_setup_and_teardown() -> None:
    seen: list[Any] = []

    def setup(options: Options) -> dict[str, bool]:
        return {"quick": options.quick}

    result = run_workload(
        _toy(
            {"base": lambda fx: fx["quick"], "boom": lambda _: 1 / 0},
            setup=setup,
            teardown=seen.append,
            check=lambda fx, r: r is True,
        ),
        QUICK,
    )

    assert seen == [{"quick": True}]  # teardown ran once, with the fixture
    assert result.implementations["base"].status == OK

    def unavailable(_: Options) -> None:
        raise Unavailable("aiosmtpd is not installed")

    skipped = run_workload(_toy({"base": lambda _: 1}, setup=unavailable), QUICK)
    assert skipped.skipped == "aiosmtpd is not installed"
    assert skipped.ok
    assert "skipped" in format_table(skipped)

    def broken(_: Options) -> None:
        raise OSError("port in use")

    failed = run_workload(_toy({"base": lambda _: 1}, setup=broken), QUICK)
    assert failed.error == "setup raised OSError: port in use"
    assert not failed.ok


def test_measurement_extras_memory_and_json(tmp_path: Path) -> None:
    def self_timed(_: Any) -> Measurement:
        return Measurement(ns=5_000_000, result="x", extra={"RTTs": 2.5})

    def allocates(_: Any) -> str:
        block = bytearray(2_000_000)
        return "x" if block else ""

    result = run_workload(
        _toy({"base": self_timed, "big": allocates}, work_bytes=lambda _: 1_000_000),
        Options(rounds=3, memory=True),
    )

    base = result.implementations["base"]
    assert base.samples_ns == [5_000_000] * 3
    assert base.extras == {"RTTs": [2.5, 2.5, 2.5]}
    peak = result.implementations["big"].peak_bytes
    assert peak is not None
    assert peak >= 2_000_000
    table = format_table(result)
    assert "RTTs" in table
    assert "MB/s" in table
    assert "peak mem" in table
    assert "| big |" in format_markdown(result)

    path = write_json([result], tmp_path / "out.json", options=Options(rounds=3))
    doc = json.loads(path.read_text())
    saved = doc["workloads"][0]
    assert saved["implementations"]["base"]["samples_ns"] == [5_000_000] * 3
    assert saved["implementations"]["base"]["ratio_paired"] == 1.0
    assert doc["options"]["rounds"] == 3
    assert "python" in doc["machine"]


def test_time_budget_stops_after_a_round() -> None:
    result = run_workload(_toy({"base": lambda _: 1}), Options(rounds=50, max_seconds=0.0))

    assert result.rounds_done == 1
    assert "time budget" in result.notes


def test_workload_validation() -> None:
    with pytest.raises(ValueError, match="baseline"):
        Workload(name="w", implementations={"a": lambda _: 1}, baseline="b")
    with pytest.raises(ValueError, match="identifier"):
        Workload(name="two words", implementations={"a": lambda _: 1}, baseline="a")
    result = run_workload(_toy({"base": lambda _: 1}), Options(baseline="nope"))
    assert result.error == "unknown baseline 'nope'"


# --------------------------------------------------------- replay server --


def test_replay_server_serves_smtplib() -> None:
    greeting = b"220 replay.example ESMTP\r\n"
    with (
        ReplayServer(smtp_sink_rules(), greeting=greeting) as server,
        smtplib.SMTP(*server.address, local_hostname="client.example") as client,
    ):
        rcpts = ["b@example.net", "c@example.net"]
        refused = client.sendmail("a@example.org", rcpts, b"Subject: x\r\n\r\n.dot\r\n")
        empty = client.sendmail("a@example.org", ["b@example.net"], b"")
        assert client.has_extn("pipelining")

    assert refused == {}
    assert empty == {}
    stats = server.stats()
    assert stats["error_count"] == 0
    assert stats["connections"] == 1


@pytest.mark.parametrize("in_subprocess", [False, True])
def test_replay_server_serves_poplib(in_subprocess: bool) -> None:
    messages = [
        b"Subject: one\r\n\r\n.starts with a dot\r\n.\r\nend\r\n",
        b"Subject: two\r\n\r\n" + b"0123456789" * 7 + b"\r\n" * 3000,
    ]
    rules = pop3_mailbox_rules(messages)
    with ReplayServer(rules, greeting=b"+OK ready\r\n", in_subprocess=in_subprocess) as server:
        client = poplib.POP3(*server.address, timeout=10)
        client.user("user")
        client.pass_("secret")
        assert client.stat() == (2, sum(map(len, messages)))
        for n, message in enumerate(messages, 1):
            _, lines, _ = client.retr(n)
            assert b"\r\n".join(lines) + b"\r\n" == message
        client.quit()

    assert server.stats()["error_count"] == 0
    assert server.stats()["lines"] == 6


def test_replay_server_serves_imaplib_with_literals() -> None:
    body = b"Subject: hi\r\n\r\nhello\r\n"
    rules = [
        imap_command(b"CAPABILITY", b"* CAPABILITY IMAP4rev1\r\n"),
        imap_command(b"LOGIN"),
        imap_command(
            b"SELECT", b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n", b"OK [READ-WRITE] ok"
        ),
        imap_command(b"FETCH", [b"* 1 FETCH (UID 4 BODY[] {%d}\r\n" % len(body), body, b")\r\n"]),
        imap_command(b"LOGOUT", b"* BYE bye\r\n", close=True),
    ]
    with ReplayServer(rules, greeting=b"* OK replay ready\r\n") as server:
        client = imaplib.IMAP4(*server.address)
        client.login("user", "secret")
        client.select("INBOX")
        typ, data = client.uid("FETCH", "4", "(BODY[])")
        client.logout()

    assert typ == "OK"
    assert data[0][1] == body
    assert server.stats()["error_count"] == 0


def test_replay_server_reads_client_literals_and_counts() -> None:
    rules = [
        Rule(
            re.compile(rb"(?P<tag>\S+) APPEND \S+ \{(?P<n>\d+)\}$"),
            b"+ go ahead\r\n",
            read_count_group="n",
            then_reply=lambda m: m["tag"] + b" OK APPEND done\r\n",
        ),
        Rule(b"", b""),  # the CRLF that ends the APPEND command after its literal
        Rule(b"BYE", b"bye\r\n", close=True),
    ]
    message = b"x" * 300_000
    with ReplayServer(rules) as server, socket.create_connection(server.address) as sock:
        sock.sendall(b"a1 APPEND INBOX {%d}\r\n" % len(message))
        assert sock.recv(100) == b"+ go ahead\r\n"
        sock.sendall(message + b"\r\nBYE\r\n")
        received = b""
        while chunk := sock.recv(100):
            received += chunk

    assert received == b"a1 OK APPEND done\r\nbye\r\n"
    assert server.stats()["error_count"] == 0


def test_replay_server_script_mode_records_a_mismatch() -> None:
    script = [Rule(b"EHLO expected.example", b"250 ok\r\n"), Rule(b"QUIT", b"221 bye\r\n")]
    with ReplayServer(script, greeting=b"220 hi\r\n", ordered=True) as server:
        client = smtplib.SMTP(*server.address, local_hostname="other.example")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.ehlo()
        client.close()

    assert server.stats()["error_count"] == 1
    assert "unexpected b'ehlo other.example" in server.stats()["errors"][0]


def test_replay_server_unmatched_lines() -> None:
    rules = [Rule(b"QUIT", b"bye\r\n", close=True)]
    with (
        ReplayServer(rules, unmatched=b"?\r\n") as server,
        socket.create_connection(server.address) as sock,
    ):
        sock.sendall(b"WHAT\r\nQUIT\r\n")
        received = b""
        while chunk := sock.recv(100):
            received += chunk

    assert received == b"?\r\nbye\r\n"
    assert server.stats()["unmatched_lines"] == 1
    assert server.stats()["error_count"] == 0


@pytest.mark.parametrize("in_subprocess", [False, True])
def test_servers_stop_by_themselves(in_subprocess: bool) -> None:
    server = ReplayServer([], max_seconds=0.3, in_subprocess=in_subprocess)
    server.start()
    proxy = LatencyProxy(server.address, delay=0.001, max_seconds=0.3)
    proxy.start()
    try:
        assert _wait_refused(proxy.address)
        assert _wait_refused(server.address)
    finally:
        proxy.stop()
        server.stop()


# --------------------------------------------------------- latency proxy --


@pytest.mark.parametrize(("delay", "in_subprocess"), [(0.0, False), (0.002, False), (0.002, True)])
def test_latency_proxy_passes_bytes_both_ways(delay: float, in_subprocess: bool) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB each way
    rules = [
        Rule(
            re.compile(rb"PUT (?P<n>\d+)$"),
            b"",
            read_count_group="n",
            then_reply=[b"GOT\r\n", payload],
        ),
        Rule(b"QUIT", b"BYE\r\n", close=True),
    ]
    with (
        ReplayServer(rules) as server,
        LatencyProxy(server.address, delay=delay, in_subprocess=in_subprocess) as proxy,
        socket.create_connection(proxy.address, timeout=10) as sock,
    ):
        sock.sendall(b"PUT %d\r\n" % len(payload) + payload + b"QUIT\r\n")
        received = bytearray()
        while chunk := sock.recv(65536):  # EOF after BYE: the close went through too
            received += chunk

    assert bytes(received) == b"GOT\r\n" + payload + b"BYE\r\n"
    assert server.stats()["error_count"] == 0
    stats = proxy.stats()
    assert stats["error_count"] == 0
    assert stats["bytes_to_server"] == len(b"PUT %d\r\n" % len(payload)) + len(payload) + 6
    assert stats["bytes_to_client"] == len(received)


def test_latency_proxy_delays() -> None:
    proxy = LatencyProxy(("127.0.0.1", 9), delay=0.01, delay_to_client=0.03)
    assert (proxy.delay_to_server, proxy.delay_to_client) == (0.01, 0.03)
    assert proxy.rtt == pytest.approx(0.04)
    with pytest.raises(ValueError, match=">= 0"):
        LatencyProxy(("127.0.0.1", 9), delay=-1)


# ---------------------------------------------------------- command line --


def test_run_lists_and_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    assert "line_split" in capsys.readouterr().out

    out_file = tmp_path / "r.json"
    assert main(["line_split", "--quick", "-q", "--json-file", str(out_file), "--markdown"]) == 0
    printed = capsys.readouterr().out
    assert "| makefile.readline |" in printed
    doc = json.loads(out_file.read_text())
    assert [w["name"] for w in doc["workloads"]] == ["line_split"]

    assert main(["no_such_workload"]) == 2
    assert main(["line_split", "--baseline", "nope", "-q", "--quick"]) == 2


def test_run_works_as_a_script() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--list"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "import_time" in done.stdout


def _readme_example(name: str) -> str:
    text = (REPO_ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    after = text.split(f"<!-- example: {name} -->\n```python\n", 1)[1]
    return after.split("```", 1)[0]


def test_readme_workload_example_runs() -> None:
    namespace: dict[str, Any] = {}
    exec(_readme_example("workload"), namespace)

    result = run_workload(namespace["WORKLOAD"], QUICK)

    assert result.ok
    assert result.implementations["bytes.replace"].status == OK


def test_readme_servers_example_runs() -> None:
    exec(_readme_example("servers"), {})
