"""Building frozen dataclasses at the speed of plain objects.

A frozen dataclass's ``__init__`` sets each field through
``object.__setattr__``, which costs four times a plain attribute store; for
a FETCH listing that builds ten objects per message, that alone would eat
most of the time budget (performance.md W3). :func:`fast_constructor` makes a
*twin*: a plain class with exactly the same ``__slots__`` and base, whose
``__init__`` stores the fields directly. An instance of the twin is then given
the real class with ``__class__`` assignment, which Python allows between
classes of the same layout. The object that comes out is an ordinary,
complete instance of the frozen dataclass: equal, hashable, immutable and
``repr``'d like one built the normal way.

Only the parsers use these constructors, with every field given
positionally; the classes' own ``__init__`` stays what callers use. If the
layout trick were ever refused (another interpreter), the constructor falls
back to the class itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["fast_constructor"]

T = TypeVar("T")


def fast_constructor(cls: type[T]) -> Callable[..., T]:
    """A positional constructor for the slotted, frozen dataclass ``cls``.

    Arguments are the fields in declaration order; trailing ones may be left
    out and take their defaults (factories are called).
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = [f.name for f in fields]
    env: dict[str, Any] = {"_MISSING": dataclasses.MISSING}
    params = []
    fixups = []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            env[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            env[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            fixups.append(f" if {f.name} is _MISSING: {f.name} = _f_{f.name}()\n")
        else:
            params.append(f.name)
    env["_cls"] = cls
    # The last statement gives the object its real class (see above).
    body = (
        "".join(fixups) + "".join(f" self.{n} = {n}\n" for n in names) + " self.__class__ = _cls\n"
    )
    source = f"def __init__(self, {', '.join(params)}):\n{body}\n"
    exec(source, env)  # noqa: S102 - generated from field names only
    twin = type(
        f"_{cls.__name__}Twin",
        cls.__bases__,
        {"__slots__": cls.__slots__, "__init__": env["__init__"]},  # type: ignore[attr-defined]
    )

    make: Callable[..., T] = twin

    required = sum(
        1
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    try:
        make(*[None] * required)
    except TypeError:
        return cls
    return make
