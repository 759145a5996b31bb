"""Raw multipart framing (RFC 2046 §5.1.1): finding the delimiter lines.

A delimiter line is ``--`` + the boundary at the start of a line, then
``--`` for the close delimiter, then only transport padding (spaces and
tabs) up to the line end. The line break before a delimiter belongs to the
delimiter, not to the part above it.

A line that starts with the delimiter but goes on with other characters
(``--B10`` under a boundary ``B1``, security.md S43 iii) is not a delimiter:
it is counted so that the caller can record it, since RFC 2046 §5.1.1 wants
boundaries that never occur in the content.

The scan is a loop of ``bytes.find`` that only moves forward: linear in the
body, and it stops as soon as the part budget is spent (S29), so a million
tiny parts cost no more than the budget.
"""

from __future__ import annotations

import dataclasses
import itertools
import re

__all__ = ["Split", "split"]

_PAD_EOL = re.compile(rb"[ \t]*(?:\r?\n|\Z)")


@dataclasses.dataclass(slots=True)
class Split:
    """Where the parts of one multipart body are.

    Attributes:
        parts: ``(start, end)`` of each part (its headers and body).
        preamble: ``(start, end)`` of the text before the first delimiter.
        epilogue: ``(start, end)`` after the close delimiter (empty when
            there is none).
        found: whether any delimiter was found.
        closed: whether the close delimiter was found.
        truncated: whether scanning stopped at the part budget.
        prefix_lines: lines that begin like a delimiter but are not one.
    """

    parts: list[tuple[int, int]]
    preamble: tuple[int, int]
    epilogue: tuple[int, int]
    found: bool
    closed: bool
    truncated: bool
    prefix_lines: int


def split(data: bytes, start: int, end: int, boundary: bytes, budget: int) -> Split:
    """Find the parts of the multipart body ``data[start:end]``.

    Args:
        data: the message buffer.
        start: offset of the first body byte.
        end: offset just past the body.
        boundary: the boundary parameter's value, as bytes.
        budget: how many parts may still be made; the scan stops after
            ``budget + 1`` so that the caller can tell there were more.

    Returns:
        The :class:`Split`.
    """
    delimiter = b"--" + boundary
    size = len(delimiter)
    hits: list[tuple[int, int, bool]] = []  # (line break before, line end, close)
    pos = start
    prefix_lines = 0
    closed = truncated = False
    find = data.find
    while True:
        at = find(delimiter, pos, end)
        if at < 0:
            break
        if at != start and data[at - 1] != 0x0A:
            pos = at + 1
            continue
        after = at + size
        close = data[after : after + 2] == b"--" and after + 2 <= end
        pad = _PAD_EOL.match(data, after + 2 if close else after, end)
        if pad is None:
            prefix_lines += 1
            pos = after
            continue
        before = at
        if at != start:
            before = at - 1
            if before > start and data[before - 1] == 0x0D:
                before -= 1
        hits.append((before, pad.end(), close))
        if close:
            closed = True
            break
        if len(hits) > budget:
            truncated = True
            break
        pos = pad.end()
    if not hits:
        return Split([], (start, end), (end, end), False, False, False, prefix_lines)
    parts = []
    for (_, line_end, _), (next_before, _, _) in itertools.pairwise(hits):
        parts.append((line_end, max(next_before, line_end)))
    last_end = hits[-1][1]
    if closed:
        epilogue = (last_end, end)
    else:
        epilogue = (end, end)
        if not truncated:
            parts.append((last_end, end))
    if truncated:
        parts = parts[:budget]
    return Split(parts, (start, hits[0][0]), epilogue, True, closed, truncated, prefix_lines)
