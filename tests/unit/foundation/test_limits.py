"""Limits: positive, immutable, each default explained in the source."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from mailwire import Limits, limits


def test_defaults_match_the_security_catalogue() -> None:
    # security.md §0 proposes these; the reasons are next to each field.
    d = Limits()
    assert d.max_reply_line_length == 8192
    assert d.max_line_length == 1024 * 1024
    assert d.max_literal_size == 64 * 1024 * 1024
    assert d.max_nesting_depth == 100
    assert d.max_mime_parts == 10_000
    assert d.max_sasl_rounds == 5
    assert d.max_reply_lines == 100


def test_every_default_has_a_reason() -> None:
    source = inspect.getsource(limits.Limits)
    lines = source.splitlines()
    for field in dataclasses.fields(Limits):
        index = next(i for i, line in enumerate(lines) if line.strip().startswith(field.name))
        assert lines[index - 1].strip().startswith("#"), f"{field.name} has no comment"


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_values_must_be_positive_ints(bad: object) -> None:
    with pytest.raises(ValueError, match="max_line_length"):
        Limits(max_line_length=bad)  # type: ignore[arg-type]


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Limits().max_line_length = 5  # type: ignore[misc]
    assert Limits(max_line_length=5).max_line_length == 5
