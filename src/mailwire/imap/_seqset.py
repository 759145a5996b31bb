"""Sequence sets and UID sets (RFC 9051 §9: sequence-set, uid-set).

``2,4:7,9,12:*`` names messages by number or UID. A :class:`SequenceSet` keeps
the ranges as written (in order, ``*`` as ``None``), so it can be sent back
unchanged, and expands lazily: ``1:4294967295`` costs nothing until iterated.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator

__all__ = ["SequenceSet"]

_MAX32 = 2**32 - 1
_ITEM = re.compile(r"(\d+|\*)(?::(\d+|\*))?\Z", re.ASCII)


def _number(text: str) -> int | None:
    if text == "*":
        return None
    value = int(text)
    if not 0 < value <= _MAX32:
        raise ValueError(f"sequence number out of range: {text}")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class SequenceSet:
    """A set of message numbers or UIDs as IMAP writes it.

    Attributes:
        ranges: ``(first, last)`` pairs in the order given; ``None`` stands
            for ``*`` (the largest number in use). A single number ``n`` is
            ``(n, n)``. Ranges are inclusive and may be given in either order
            (``4:2`` is 2, 3 and 4).
    """

    ranges: tuple[tuple[int | None, int | None], ...]

    def __post_init__(self) -> None:
        if not self.ranges:
            raise ValueError("a sequence set needs at least one number")
        for pair in self.ranges:
            for value in pair:
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX32
                ):
                    raise ValueError(f"sequence number out of range: {value!r}")

    @classmethod
    def parse(cls, text: str | bytes) -> SequenceSet:
        """Read the wire form (``"1:3,7,9:*"``).

        Raises:
            ValueError: not a sequence set.
        """
        if isinstance(text, bytes):
            text = text.decode("ascii", "replace")
        ranges: list[tuple[int | None, int | None]] = []
        for item in text.split(","):
            match = _ITEM.match(item)
            if match is None:
                raise ValueError(f"not a sequence set: {text[:60]!r}")
            first = _number(match[1])
            last = first if match[2] is None else _number(match[2])
            ranges.append((first, last))
        return cls(tuple(ranges))

    @classmethod
    def from_numbers(cls, numbers: Iterable[int]) -> SequenceSet:
        """The shortest set for these numbers (sorted, runs joined).

        Raises:
            ValueError: no numbers, or one out of 1..2**32-1.
        """
        ranges: list[tuple[int | None, int | None]] = []
        start = end = -1
        for n in sorted(set(numbers)):
            if n == end + 1:
                end = n
                continue
            if start >= 0:
                ranges.append((start, end))
            start = end = n
        if start >= 0:
            ranges.append((start, end))
        return cls(tuple(ranges))

    @property
    def has_star(self) -> bool:
        """Whether ``*`` occurs (the set cannot be expanded on its own)."""
        return any(a is None or b is None for a, b in self.ranges)

    def expand(self, largest: int | None = None) -> Iterator[int]:
        """Every number in the set, range by range (ascending within a range).

        Args:
            largest: what ``*`` stands for; needed when the set has one.

        Raises:
            ValueError: the set holds ``*`` and ``largest`` is not given.
        """
        for start, stop in self.ranges:
            if (start is None or stop is None) and largest is None:
                raise ValueError("the set holds '*': pass largest=")
            first = largest if start is None else start
            last = largest if stop is None else stop
            assert first is not None
            assert last is not None
            lo, hi = (first, last) if first <= last else (last, first)
            yield from range(lo, hi + 1)

    def count(self) -> int | None:
        """How many numbers :meth:`expand` gives, without making them.

        ``None`` when the set holds ``*``. A server's set is a few bytes that
        can name four billion numbers: read this before expanding one.
        """
        total = 0
        for first, last in self.ranges:
            if first is None or last is None:
                return None
            total += abs(last - first) + 1
        return total

    def __iter__(self) -> Iterator[int]:
        return self.expand()

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        for first, last in self.ranges:
            if first is None or last is None:
                continue
            if min(first, last) <= number <= max(first, last):
                return True
        return False

    def __str__(self) -> str:
        parts = []
        for first, last in self.ranges:
            a = "*" if first is None else str(first)
            parts.append(a if first == last else f"{a}:{'*' if last is None else last}")
        return ",".join(parts)
