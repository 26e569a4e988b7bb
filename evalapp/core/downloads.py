"""Content-Disposition for downloads named in Chinese (RFC 6266 with RFC 5987's `filename*`).

A header is Latin-1 on the wire: raw UTF-8 in `filename="…"` makes gunicorn answer 500, and nginx
passes it on for browsers to garble. Every download therefore names itself twice: `filename` in
plain ASCII for old clients, `filename*=UTF-8''…` percent-encoded for everyone else.
"""
import re
import unicodedata
from pathlib import PurePath
from urllib.parse import quote

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def ascii_fallback(filename, default="download"):
    """The name's ASCII letters, digits, dots and hyphens (others become _), keeping its extension."""
    path = PurePath(filename or "")
    suffix = _UNSAFE.sub("", unicodedata.normalize("NFKD", path.suffix).encode("ascii", "ignore").decode())
    stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
    stem = _UNSAFE.sub("_", stem).strip("._-") or default
    return stem + suffix


def content_disposition(filename, as_attachment=True, fallback=None):
    """The header's value for a file called `filename` (`fallback`: the ASCII name to offer instead)."""
    kind = "attachment" if as_attachment else "inline"
    plain = fallback or ascii_fallback(filename)
    value = f'{kind}; filename="{plain}"'
    if filename and filename != plain:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value
