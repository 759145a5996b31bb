"""Domains for the wire: IDNA A-labels (RFC 5890) through Punycode (RFC 3492).

IDNA2008 style, with the stdlib only: each non-ASCII label is put in NFC
and lower case and encoded with the ``punycode`` codec (the stdlib ``idna``
codec implements IDNA2003, whose mapping turns ``ß`` into ``ss`` and drops
some characters silently). Controls, format characters such as U+200B and
spaces are refused outright: an invisible character must not make a second
spelling of a domain (security.md S46).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata

__all__ = ["domain_to_ascii", "domain_to_unicode"]

_LDH = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\Z")
_ATEXT = r'[^\x00-\x20\x7f()<>\[\]:;@\\,."]'
_DOT_ATOM = re.compile(f"{_ATEXT}+(?:\\.{_ATEXT}+)*\\Z")


_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def _label_to_ascii(label: str) -> str:
    if label.isascii():
        lowered = label.lower()
        # Underscores and the like occur in real host names; allow any atext,
        # refuse only what cannot be a label at all.
        odd = not _LDH.match(lowered) and not lowered.startswith("xn--")
        if odd and (len(label) > 63 or not _DOT_ATOM.match(label)):
            raise ValueError(f"invalid domain label {label!r}")
        return label
    normal = unicodedata.normalize("NFC", label).lower()
    for char in normal:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise ValueError(f"domain label {label!r} holds U+{ord(char):04X}, not allowed")
    encoded = "xn--" + normal.encode("punycode").decode("ascii")
    if len(encoded) > 63:
        raise ValueError(f"domain label {label!r} is too long")
    return encoded


def domain_to_ascii(domain: str) -> str:
    """The domain with every non-ASCII label as an A-label (RFC 5890).

    Domain literals (``[192.0.2.1]``) and ASCII domains pass unchanged.

    Raises:
        ValueError: an empty or over-long label, or a character that cannot
            be part of a domain name (controls, format characters such as
            U+200B, spaces): an invisible character must not make a second
            spelling of a domain (S46).
    """
    if domain.startswith("["):
        return domain
    if not domain or (domain.endswith(".") and domain != "."):
        domain = domain.rstrip(".")
    labels = domain.split(".")
    if not domain or any(not label for label in labels):
        raise ValueError(f"invalid domain {domain!r}")
    result = ".".join(_label_to_ascii(label) for label in labels)
    if len(result) > 253:
        raise ValueError(f"domain {domain[:40]!r}... is too long")
    return result


def domain_to_unicode(domain: str) -> str:
    """The domain with A-labels shown as Unicode; undecodable labels kept."""
    labels = []
    for label in domain.split("."):
        shown = label
        if label[:4].lower() == "xn--":
            with contextlib.suppress(UnicodeError, ValueError):
                shown = label[4:].encode("ascii").decode("punycode")
        labels.append(shown)
    return ".".join(labels)
