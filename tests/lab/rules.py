"""When a lab cannot run: skip outside CI, fail in CI, always fail on a broken start.

- A prerequisite is missing (a server not installed, not root for Postfix, a
  pip package absent): the lab raises :class:`LabUnavailable`. Outside CI the
  test is skipped and the reason says what is missing and how to get it; with
  ``CI=true`` the test fails, so a CI machine that lost its servers cannot go
  green by skipping everything.
- The server is there but does not come up: :class:`LabStartError`, with the
  tail of its logs. That is always a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import NoReturn, TypeVar

import pytest

T = TypeVar("T")

INSTALL_HINT = "install them with: sudo bash .ci/install-servers.sh"
PIP_HINT = "install them with: python -m pip install -e . --group test"


class LabUnavailable(Exception):
    """A prerequisite of a lab is missing; ``str()`` says what and how to fix it."""

    def __init__(self, missing: str, hint: str) -> None:
        super().__init__(f"{missing}; {hint}")
        self.missing = missing
        self.hint = hint


class LabStartError(Exception):
    """A lab's server is installed but failed to start; the message has its log tail."""


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """``CI=true`` (GitHub, GitLab and most others set it; ``1`` and ``yes`` count too)."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(exc: LabUnavailable, environ: Mapping[str, str] | None = None) -> NoReturn:
    """Skip the current test, or fail it under CI."""
    if in_ci(environ):
        pytest.fail(f"lab unavailable under CI=true: {exc}", pytrace=False)
    pytest.skip(f"lab unavailable: {exc}")


def start_lab(start: Callable[[], T], environ: Mapping[str, str] | None = None) -> T:
    """Run ``start`` and apply the rule to what it raises."""
    try:
        return start()
    except LabUnavailable as exc:
        unavailable(exc, environ)
    except LabStartError as exc:
        pytest.fail(f"lab failed to start: {exc}", pytrace=False)
