"""Dates: RFC 5322 §3.3 ``date-time`` read (with the §4.3 obsolete forms)
and written.
"""

from __future__ import annotations

import datetime
import re

__all__ = ["format_date", "parse_date"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DATE = re.compile(
    r"""\s*(?:[A-Za-z]{3,}\s*,\s*)?          # day-of-week (ignored)
    (\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})\s+
    (\d{1,2})\s*:\s*(\d{2})(?:\s*:\s*(\d{2}))?\s*
    ([+-]\d{4}|[A-Za-z]{1,5})?""",
    re.VERBOSE,
)
# §4.3: obsolete zone names; military zones other than Z are unreliable
# (the RFC says to read them as -0000), which gives them no offset here.
_ZONES = {
    "ut": 0, "gmt": 0, "z": 0, "edt": -4, "est": -5, "cdt": -5, "cst": -6,
    "mdt": -6, "mst": -7, "pdt": -7, "pst": -8,
}  # fmt: skip


def parse_date(text: str) -> datetime.datetime | None:
    """Read a date-time; ``None`` when it cannot be read.

    Returns:
        An aware datetime, or a naive one for ``-0000`` and unknown zones
        (RFC 5322 §3.3: the offset is unknown).
    """
    match = _DATE.match(text)
    if match is None:
        return None
    day, month_name, year_text, hour, minute, second, zone = match.groups()
    try:
        month = _MONTHS.index(month_name.lower()) + 1
    except ValueError:
        return None
    year = int(year_text)
    if len(year_text) == 2:  # §4.3: 00-49 are 2000-2049, 50-99 are 1950-1999
        year += 2000 if year < 50 else 1900
    elif len(year_text) == 3:
        year += 1900
    offset: datetime.timedelta | None = None
    if zone is None:
        offset = None
    elif zone[0] in "+-":
        hours, minutes = int(zone[1:3]), int(zone[3:5])
        # -0000 says the zone is unknown (§3.3); past 23:59, or with minutes
        # past 59 (which §3.3 forbids), no offset can be trusted.
        if zone != "-0000" and hours < 24 and minutes < 60:
            sign = -1 if zone[0] == "-" else 1
            offset = sign * datetime.timedelta(hours=hours, minutes=minutes)
    elif zone.lower() in _ZONES:
        offset = datetime.timedelta(hours=_ZONES[zone.lower()])
    try:
        value = datetime.datetime(year, month, int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        return None
    return value if offset is None else value.replace(tzinfo=datetime.timezone(offset))


def format_date(value: datetime.datetime | None = None) -> str:
    """Write a date-time as RFC 5322 §3.3 wants (``Mon, 2 Mar 2026 10:00:00 +0100``).

    Args:
        value: the moment; now, in local time, when ``None``. A naive value
            is taken as local time.
    """
    if value is None:
        value = datetime.datetime.now().astimezone()
    elif value.tzinfo is None:
        value = value.astimezone()
    offset = value.utcoffset() or datetime.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    month = _MONTHS[value.month - 1].capitalize()
    return (
        f"{_DAYS[value.weekday()]}, {value.day} {month} {value.year:04d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} {sign}{hours:02d}{mins:02d}"
    )
