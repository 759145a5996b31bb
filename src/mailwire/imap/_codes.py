"""``resp-text``: the response code and text of a status response (RFC 9051 §7.1).

A code is ``[NAME]`` or ``[NAME argument]`` at the start of the text. The
name is case-insensitive and kept upper case; the argument is typed for the
codes of RFC 9051 §7.1, RFC 5530, UIDPLUS (RFC 4315), CONDSTORE/QRESYNC
(RFC 7162), METADATA (RFC 5464), OBJECTID (RFC 8474), APPENDLIMIT (RFC
7889), REFERRAL (RFC 2221) and Gmail's WEBALERT, and kept as text for any
other code. An argument that does not fit its code's grammar does not sink the
response: the code keeps its text, its value is ``None``, and a
``bad-code-argument`` defect is recorded.
"""

from __future__ import annotations

from collections.abc import Callable

from mailwire.imap._lexer import Decoder
from mailwire.imap._seqset import SequenceSet
from mailwire.imap.events import AppendUid, CodeValue, CopyUid, Defect, ResponseCode

__all__ = ["parse_code", "resp_text"]


def _words(arg: str) -> tuple[str, ...]:
    return tuple(word.upper() for word in arg.split())


def _number(arg: str) -> int:
    if not arg.isdigit() or not arg.isascii():
        raise ValueError(arg)
    return int(arg)


def _flags(arg: str) -> tuple[str, ...]:
    d = Decoder(arg.encode("utf-8"))
    flags = d.flag_list()
    d.end()
    return flags


def _charsets(arg: str) -> tuple[str, ...]:
    if not arg:
        return ()
    return Decoder(arg.encode("utf-8")).text_list()


def _appenduid(arg: str) -> AppendUid:
    validity, uids = arg.split(" ")
    return AppendUid(_number(validity), SequenceSet.parse(uids))


def _copyuid(arg: str) -> CopyUid:
    validity, source, destination = arg.split(" ")
    return CopyUid(_number(validity), SequenceSet.parse(source), SequenceSet.parse(destination))


def _paren_id(arg: str) -> str:
    if arg.startswith("(") and arg.endswith(")"):
        return arg[1:-1].strip()
    return arg


def _metadata(arg: str) -> tuple[str, int | None]:
    kind, _, number = arg.partition(" ")
    return kind.upper(), (_number(number) if number else None)


_TYPED: dict[str, Callable[[str], CodeValue]] = {
    "CAPABILITY": _words,
    "PERMANENTFLAGS": _flags,
    "BADCHARSET": _charsets,
    "UIDNEXT": _number,
    "UIDVALIDITY": _number,
    "UNSEEN": _number,
    "HIGHESTMODSEQ": _number,
    "APPENDLIMIT": _number,
    "APPENDUID": _appenduid,
    "COPYUID": _copyuid,
    "MODIFIED": SequenceSet.parse,
    "WEBALERT": str.strip,
    "REFERRAL": str.strip,
    "BADURL": str.strip,
    "MAILBOXID": _paren_id,
    "METADATA": _metadata,
}

# Codes that take no argument (RFC 9051 §7.1, RFC 5530, RFC 7162, RFC 4978,
# RFC 6154, RFC 5267, RFC 9051 UIDNOTSTICKY); an argument sent anyway is kept
# as text.
_BARE = frozenset(
    {
        "ALERT", "PARSE", "READ-ONLY", "READ-WRITE", "TRYCREATE", "UIDNOTSTICKY",
        "UNAVAILABLE", "AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED",
        "PRIVACYREQUIRED", "CONTACTADMIN", "NOPERM", "INUSE", "EXPUNGEISSUED",
        "CORRUPTION", "SERVERBUG", "CLIENTBUG", "CANNOT", "LIMIT", "OVERQUOTA",
        "ALREADYEXISTS", "NONEXISTENT", "NOTSAVED", "HASCHILDREN", "CLOSED",
        "UNKNOWN-CTE", "NOMODSEQ", "COMPRESSIONACTIVE", "USEATTR", "NOUPDATE",
        "UIDREQUIRED", "TOOBIG", "TOOMANY",
    }
)  # fmt: skip


def parse_code(name: str, arg: str | None, defects: list[Defect]) -> ResponseCode:
    """A :class:`ResponseCode` from its name and argument text."""
    name = name.upper()
    reader = _TYPED.get(name)
    if reader is None or (arg is None and name not in {"CAPABILITY", "BADCHARSET"}):
        if name in _BARE or reader is not None:
            return ResponseCode(name, None, arg)
        return ResponseCode(name, arg, arg)
    try:
        value = reader(arg or "")
    except (ValueError, IndexError) as exc:
        defects.append(Defect("bad-code-argument", f"[{name} {arg}]: {exc}"))
        return ResponseCode(name, None, arg)
    return ResponseCode(name, value, arg)


def resp_text(raw: bytes, defects: list[Defect]) -> tuple[ResponseCode | None, str]:
    """``resp-text = ["[" resp-text-code "]" SP] [text]``, from after the SP."""
    if not raw.startswith(b"["):
        return None, raw.decode("utf-8", "replace")
    end = raw.find(b"]")
    if end < 0:
        # No closing bracket: not a code after all, just text.
        defects.append(Defect("unclosed-code", raw[:40].decode("utf-8", "replace")))
        return None, raw.decode("utf-8", "replace")
    inner = raw[1:end].decode("utf-8", "replace")
    name, sep, arg = inner.partition(" ")
    code = parse_code(name, arg if sep else None, defects)
    text = raw[end + 1 :]
    if text.startswith(b" "):
        text = text[1:]
    elif text:
        defects.append(Defect("missing-space", "no space after the response code"))
    return code, text.decode("utf-8", "replace")
