"""The query parameters of the coverage pages (GET links, no form post): the union, the year and the page."""
import re

from flask import abort

from evalapp.core.errors import Refused
from evalapp.core.web import MAX_ID

FIRST_YEAR = 2000


def parse_union_id(raw):
    """Return the union id in `raw`, None when it is absent; 404 for anything that cannot be an id."""
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"[0-9]{1,10}", raw) or not 0 < int(raw) <= MAX_ID:
        abort(404)
    return int(raw)


def parse_year(raw, this_year):
    """Return the year in `raw` (this year when absent); refuse anything else with a message (400)."""
    if raw is None or raw.strip() == "":
        return this_year
    raw = raw.strip()
    if not re.fullmatch(r"[0-9]{4}", raw) or not FIRST_YEAR <= int(raw) <= this_year + 1:
        raise Refused(f"年度应为 {FIRST_YEAR} 至 {this_year + 1} 之间的四位年份，例如 {this_year}。", 400)
    return int(raw)
