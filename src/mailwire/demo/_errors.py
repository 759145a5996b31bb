"""Why a lab could not start, in words a learner can act on."""

from __future__ import annotations

__all__ = ["PIP_HINT", "LabError", "LabUnavailable", "require"]

PIP_HINT = 'pip install "mailwire[lab]"'


class LabError(Exception):
    """A lab server was there but did not start or stopped working."""


class LabUnavailable(LabError):
    """Something the lab needs is not installed, or not allowed here.

    Attributes:
        hint: what to do about it (a command line, usually).
    """

    def __init__(self, message: str, hint: str = PIP_HINT) -> None:
        super().__init__(message)
        self.hint = hint


def require(*modules: str) -> None:
    """Import each module or raise LabUnavailable naming the lab extra.

    The servers are not dependencies of mailwire, only of its ``lab`` extra;
    this turns an ImportError deep inside a start-up into one clear message.
    """
    import importlib

    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name.partition(".")[0])
    if missing:
        names = ", ".join(dict.fromkeys(missing))
        raise LabUnavailable(f"the demo's servers are not installed (missing: {names})")
