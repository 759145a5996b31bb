"""Turning the octets of FETCH data into text and times, quickly.

Three conversions run for almost every message of a listing, so each has a
fast path for the common case and falls back to the slow, general code only
for the rest:

- header text (ENVELOPE subjects and display names): plain ASCII is decoded
  directly; RFC 2047 encoded-words are decoded by a small regex-driven
  decoder (RFC 2047 §2-§6: B and Q encodings, whitespace between adjacent
  encoded-words dropped, unknown charsets left as they were);
- ENVELOPE dates (RFC 5322 §3.3 date-time, as servers copy it from the
  Date header): one regex for the usual shape, :mod:`email.utils` for the
  rest (imported only then);
- INTERNALDATE and SAVEDATE (RFC 9051 date-time: ``"17-Jul-1996 02:44:25
  -0700"``): one regex.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime, timedelta, timezone

from mailwire._charset import text_codec

__all__ = ["decode_header", "decode_header_text", "parse_header_date", "parse_internaldate"]

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_ZONES: dict[str, timezone] = {}

# RFC 2047 §2: =?charset?encoding?encoded-text?= (RFC 2231 §5 adds *lang).
_ENCODED_WORD = re.compile(r"=\?([^?*\s]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"\?=[ \t\r\n]+=\?")


def _zone(text: str) -> timezone:
    zone = _ZONES.get(text)
    if zone is None:
        minutes = int(text[1:3]) * 60 + int(text[3:5])
        offset = timedelta(minutes=-minutes if text[:1] == "-" else minutes)
        zone = UTC if not minutes else timezone(offset)
        if len(_ZONES) < 512:
            _ZONES[text] = zone
    return zone


def _decode_word(match: re.Match[str]) -> str:
    charset, kind, payload = match[1], match[2], match[3]
    codec = text_codec(charset.lower())
    if codec is None or not payload.isascii():
        return match[0]
    try:
        if kind in "bB":
            data = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
        else:
            data = binascii.a2b_qp(payload, header=True)
    except (binascii.Error, ValueError):
        return match[0]
    try:
        return data.decode(codec, "replace")
    except (LookupError, ValueError):  # text_codec's probe passed, this input did not
        return match[0]


def decode_header(text: str) -> str:
    """Header text with RFC 2047 encoded-words decoded.

    Malformed encoded-words and unknown charsets are kept as written, never
    raised on (RFC 2047 §6.3: a client should show what it cannot decode).
    """
    if "=?" not in text:
        return text
    if text[:2] == "=?" and text[-2:] == "?=":
        # The usual case: one encoded-word and nothing else.
        word = _ENCODED_WORD.fullmatch(text)
        if word is not None:
            return _decode_word(word)
    # §6.2: linear white space between adjacent encoded-words is dropped.
    text = _BETWEEN_WORDS.sub("?==?", text)
    return _ENCODED_WORD.sub(_decode_word, text)


def decode_header_text(raw: bytes) -> str:
    """:func:`decode_header` for octets from the wire (read as UTF-8)."""
    return decode_header(raw.decode("utf-8", "replace"))


# RFC 5322 §3.3 with the obsolete forms servers still copy: optional day name,
# one- or two-digit day, optional seconds, a numeric zone or a named one.
_HEADER_DATE = re.compile(
    r"\s*(?:[A-Za-z]{3},?\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4})(?:\s*\([^()]*\))?\s*\Z",
    re.ASCII,
)


_ISO_MONTHS = {
    name: f"{number:02d}"
    for name, number in (
        *((k.title(), v) for k, v in _MONTHS.items()),
        *_MONTHS.items(),
        *((k.lower(), v) for k, v in _MONTHS.items()),
    )
}


# The form nearly every Date header has ("Fri, 2 Sep 2026 06:02:05 +0100"):
# one regex without optional parts, and the C ISO 8601 parser.
_CANONICAL_DATE = re.compile(
    r"(?:[A-Z][a-z][a-z], )?([0-9][0-9]?) ([A-Z][a-z][a-z]) ([0-9]{4}) "
    r"([0-9][0-9]:[0-9][0-9]:[0-9][0-9]) ([+-][0-9]{4})\Z"
)


def parse_header_date(raw: str) -> datetime | None:
    """An RFC 5322 date as an aware ``datetime``, or ``None`` if unreadable."""
    canonical = _CANONICAL_DATE.match(raw)
    if canonical is not None:
        day, month_name, year, hms, zone = canonical.groups()
        month_number = _ISO_MONTHS.get(month_name)
        if month_number is not None:
            if len(day) == 1:
                day = "0" + day
            try:
                return datetime.fromisoformat(f"{year}-{month_number}-{day}T{hms}{zone}")
            except ValueError:
                return None
    match = _HEADER_DATE.match(raw)
    if match is not None and match[6] is not None:
        # The usual shape: let the C ISO 8601 parser build the value.
        iso_month = _ISO_MONTHS.get(match[2])
        if iso_month is not None:
            try:
                return datetime.fromisoformat(
                    f"{match[3]}-{iso_month}-{match[1]:0>2}T{match[4]:0>2}:{match[5]}:{match[6]}{match[7]}"
                )
            except ValueError:
                return None
    if match is not None:
        month = _MONTHS.get(match[2].upper())
        if month is not None:
            try:
                return datetime(
                    int(match[3]),
                    month,
                    int(match[1]),
                    int(match[4]),
                    int(match[5]),
                    int(match[6] or 0),
                    tzinfo=_zone(match[7]),
                )
            except ValueError:
                return None
    return _slow_header_date(raw)


def _slow_header_date(raw: str) -> datetime | None:
    from email.utils import parsedate_to_datetime

    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value.tzinfo is None:
        # RFC 5322 §3.3: "-0000" means no zone information; read it as UTC.
        value = value.replace(tzinfo=UTC)
    return value


# RFC 9051 §9 date-time; a one-digit day comes with a leading space.
_INTERNALDATE = re.compile(
    r" ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\Z", re.ASCII
)


def parse_internaldate(raw: str) -> datetime | None:
    """An IMAP date-time as an aware ``datetime``, or ``None`` if malformed."""
    if len(raw) == 26 and raw[2] == "-" and raw[6] == "-" and raw[11] == " " and raw[20] == " ":
        # "17-Jul-1996 02:44:25 -0700", the layout every server uses
        iso_month = _ISO_MONTHS.get(raw[3:6])
        if iso_month is not None and raw[:2].isdigit():
            try:
                return datetime.fromisoformat(
                    f"{raw[7:11]}-{iso_month}-{raw[:2]}T{raw[12:20]}{raw[21:]}"
                )
            except ValueError:
                return None
    match = _INTERNALDATE.match(raw)
    if match is None:
        return None
    month = _MONTHS.get(match[2].upper())
    if month is None:
        return None
    try:
        return datetime(
            int(match[3]),
            month,
            int(match[1]),
            int(match[4]),
            int(match[5]),
            int(match[6]),
            tzinfo=_zone(match[7]),
        )
    except ValueError:
        return None
