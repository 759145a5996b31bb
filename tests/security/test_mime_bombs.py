"""S29 MIME bombs and S30 quadratic inputs (security.md section (d)).

Nesting and part count are bounded by ``Limits``; lenient parsing stops and
records a defect, strict parsing raises; nothing recurses. Timing checks
compare N with 4N in one run (the median of a few repeats) and bound the
ratio, never an absolute time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest

from mailwire import Limits, NestingTooDeep, TooManyParts, mime


def _nested_multipart(depth: int) -> bytes:
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%06d\r\n\r\n--b%06d\r\n" % (i, i)
        for i in range(depth)
    )
    tail = b"".join(b"\r\n--b%06d--" % i for i in reversed(range(depth)))
    return head + b"\r\nleaf" + tail + b"\r\n"


def _nested_messages(depth: int) -> bytes:
    return b"Content-Type: message/rfc822\r\n\r\n" * depth + b"Subject: leaf\r\n\r\nleaf\r\n"


def _siblings(count: int) -> bytes:
    head = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
    return head + b"--a\r\nx:y\r\n\r\n" * count + b"--a--\r\n"


def _visit(message: mime.Entity) -> tuple[int, list[str]]:
    seen, codes = 0, []
    for entity in message.walk():
        seen += 1
        codes += [d.code for d in entity.defects]
    return seen, codes


@pytest.mark.parametrize("build", [_nested_multipart, _nested_messages])
def test_s29_deep_nesting_lenient_stops_with_a_defect(build: Callable[[int], bytes]) -> None:
    data = build(100_000)
    started = time.perf_counter()
    seen, codes = _visit(mime.parse(data))
    assert time.perf_counter() - started < 5
    assert seen == Limits().max_nesting_depth + 1
    assert "nesting-too-deep" in codes


@pytest.mark.parametrize("build", [_nested_multipart, _nested_messages])
def test_s29_deep_nesting_strict_raises(build: Callable[[int], bytes]) -> None:
    with pytest.raises(NestingTooDeep):
        mime.parse(build(100_000), strict=True)


def test_s29_a_million_siblings() -> None:
    data = _siblings(1_000_000)
    started = time.perf_counter()
    seen, codes = _visit(mime.parse(data))
    assert time.perf_counter() - started < 5
    assert seen == Limits().max_mime_parts
    assert "too-many-parts" in codes
    with pytest.raises(TooManyParts):
        mime.parse(data, strict=True)


def test_s29_limits_are_configurable() -> None:
    seen, _ = _visit(mime.parse(_nested_multipart(50), limits=Limits(max_nesting_depth=10)))
    assert seen == 11


def _commented(n: int) -> bytes:
    return b"To: " + b", ".join(b'"N (%d)" <u@e.org> (c)' % i for i in range(n)) + b"\r\n\r\n"


def _ratio(make: Callable[[int], bytes], work: Callable[[bytes], object], n: int) -> float:
    small, large = make(n), make(4 * n)
    ratios = []
    for _ in range(5):
        started = time.perf_counter()
        work(small)
        middle = time.perf_counter()
        work(large)
        ratios.append((time.perf_counter() - middle) / (middle - started))
    return statistics.median(ratios)


def _addresses(data: bytes) -> object:
    return mime.parse(data).addresses("to")


def _params(data: bytes) -> object:
    return mime.parse(data).params


def _subject(data: bytes) -> object:
    return mime.parse(data).subject


def _boundaries(data: bytes) -> object:
    return [entity.content_type for entity in mime.parse(data).walk()]


@pytest.mark.parametrize(
    ("make", "work", "n"),
    [
        (lambda n: b"To: " + b", ".join(b"user%d@example.org" % i for i in range(n)) + b"\r\n\r\n",
         _addresses, 5_000),
        (_commented, _addresses, 3_000),
        (lambda n: b"Content-Type: text/plain" + b";" * n + b"\r\n\r\n", _params, 50_000),
        (lambda n: b"Content-Type: text/plain" + b"; a=b" * n + b"\r\n\r\n", _params, 10_000),
        (lambda n: b"Subject: " + b" ".join([b"=?utf-8?q?caf=C3=A9?="] * n) + b"\r\n\r\n",
         _subject, 5_000),
        (lambda n: b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--bx\r\n" * n,
         _boundaries, 50_000),
        (lambda n: b"Subject: x\r\n" + b" folded\r\n" * n + b"\r\n", _subject, 20_000),
    ],
    ids=["addresses", "commented-addresses", "semicolons", "parameters", "encoded-words",
         "boundary-prefixes", "folded-lines"],
)  # fmt: skip
def test_s30_linear_time(
    make: Callable[[int], bytes], work: Callable[[bytes], object], n: int
) -> None:
    assert _ratio(make, work, n) < 6
