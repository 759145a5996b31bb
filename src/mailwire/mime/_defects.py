"""Defects: what a tolerant parse noticed, and the errors strict mode raises.

A tolerant parse (the default) never raises for malformed input: it picks one
deterministic reading and records a :class:`Defect` on the entity where the
problem lives. A strict parse raises :class:`MIMEDefectError` (or one of the
``LimitExceeded`` errors for S29 bombs) at the first defect instead.
"""

from __future__ import annotations

import dataclasses

from mailwire.errors import MIMEError

__all__ = ["Defect", "DuplicateHeaderError", "MIMEDefectError", "first_of_each"]


@dataclasses.dataclass(frozen=True, slots=True)
class Defect:
    """One problem found in a message, and the reading mailwire chose.

    Attributes:
        code: a stable identifier such as ``"duplicate-header"``,
            ``"missing-close-delimiter"`` or ``"base64-padding"``.
        message: a human-readable explanation naming the rule broken.
        rfc: the rule, for example ``"RFC 2046 §5.1.1"``.
    """

    code: str
    message: str
    rfc: str = ""

    def __str__(self) -> str:
        where = f" ({self.rfc})" if self.rfc else ""
        return f"{self.code}: {self.message}{where}"


def first_of_each(found: list[Defect]) -> list[Defect]:
    """The first defect of each code: one field with a million bad items
    records one defect, not a million (memory stays bounded, S30)."""
    seen: dict[str, Defect] = {}
    for defect in found:
        seen.setdefault(defect.code, defect)
    return list(seen.values())


class MIMEDefectError(MIMEError):
    """Raised in strict mode at the first defect.

    Attributes:
        defect: the :class:`Defect` that a tolerant parse would have recorded.
    """

    def __init__(self, defect: Defect) -> None:
        super().__init__(str(defect))
        self.defect = defect


class DuplicateHeaderError(MIMEDefectError):
    """A field that may occur at most once occurs several times (S42).

    Raised by a strict parse, and by the single-value accessors
    (``Headers.get``, ``Headers.raw``) of a tolerant one, which refuse to pick
    one of the values silently; ``Headers.get_all`` returns all of them.
    """
