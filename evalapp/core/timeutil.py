"""Times are stored as naive UTC; deadlines are calendar dates in the display time zone."""
import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow():
    """Return the current time as a naive UTC datetime (the storage convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


def display_zone():
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def to_local(moment):
    """Return a stored naive-UTC datetime as an aware datetime in the display zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(display_zone())


def from_local(moment):
    """Return a naive datetime typed in the display zone as naive UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=display_zone()).astimezone(UTC).replace(tzinfo=None)


def utc_bounds(first_day, last_day):
    """Return the naive-UTC [start, end) of the local calendar days first_day..last_day (both included)."""
    return (from_local(datetime.combine(first_day, time())),
            from_local(datetime.combine(last_day + timedelta(days=1), time())))


def local_today(now=None):
    """Return today's calendar date in the display zone."""
    return to_local(now or utcnow()).date()


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


_HOURS_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~至]\s*(\d{1,2}):(\d{2})\s*$")


def hours_window(setting):
    """Parse "22:00-08:00" into (start, end) times; None for "" or "off". Raise ValueError otherwise."""
    text = (setting or "").strip()
    if text.lower() in ("", "off", "none", "0"):
        return None
    match = _HOURS_WINDOW.match(text)
    if not match:
        raise ValueError(f"expected hours like 22:00-08:00, not {setting!r}")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    return time(h1, m1), time(h2, m2)  # time() refuses 24:00 or 08:61 with a ValueError of its own
