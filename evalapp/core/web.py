"""Request helpers shared by all views: CSRF, template filters, object loading."""
from dataclasses import dataclass

from flask import abort, flash, request, session
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup, escape
from werkzeug.routing import IntegerConverter

from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.text import css_string
from evalapp.core.timeutil import to_local

csrf = CSRFProtect()


def init_app(app):
    app.url_map.converters["int"] = BoundedIntConverter
    csrf.init_app(app)
    app.jinja_env.filters["local"] = _format_local
    app.jinja_env.filters["percent"] = _format_percent
    app.jinja_env.filters["paragraphs"] = _paragraphs
    app.jinja_env.filters["css_string"] = css_string  # names in PDF stylesheets (running headers)

    @app.before_request
    def _refuse_nul_bytes():
        # PostgreSQL cannot store NUL in text; no legitimate form or link carries one.
        if any("\x00" in value for value in request.values.values()) or "\x00" in request.path:
            abort(400)

    @app.after_request
    def _security_headers(response):
        # The session, not current_user: after a commit, asking the account would reload it from the
        # database, and a dropped connection would then turn a stored ballot into an error page.
        if session.get("_user_id") is not None and not response.cache_control.private:
            # Shared office PCs: never let the back button show someone's ballot or receipt again.
            # (Responses that chose private caching themselves, like report pictures, keep it.)
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        )
        return response


def get_or_404(model, ident):
    """Return the object with primary key `ident`, or answer 404."""
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def require(allowed):
    """Answer 404 unless `allowed`: a guessed id must not reveal that the object exists."""
    if not allowed:
        abort(404)


@dataclass
class Outcome:
    """What `perform` did: unpacks as (ok, value); `status` is the refusal's HTTP status."""

    ok: bool
    value: object = None
    status: int = 200
    message: str = ""

    def __iter__(self):
        return iter((self.ok, self.value))


def perform(operation, *args, success=None, announce=True, **kwargs):
    """Run `operation`; commit and flash `success`, or roll back and flash the refusal.

    The view can then re-render its form with what the user typed instead of losing it. With
    `announce` false the refusal is not flashed: the view shows `outcome.message` its own way.
    """
    try:
        value = operation(*args, **kwargs)
    except Refused as refusal:
        db.session.rollback()
        if announce:
            flash(refusal.message, "error")
        return Outcome(False, status=refusal.status, message=refusal.message)
    db.session.commit()
    if success:
        flash(success, "success")
    return Outcome(True, value)


def form_status(form, outcome=None):
    """Return the status for re-rendering a form: 200 fresh, 400 invalid, else the refusal's."""
    if not form.is_submitted():
        return 200
    return outcome.status if outcome is not None and not outcome.ok else 400


#: The largest id the database's integer columns hold: a longer number cannot name anything.
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` limited to the database's integer range, so a huge guessed id is a plain 404."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def page_number(value, last=10**6):
    """Return a page number from a query-string value, clamped to 1…last."""
    return min(max(value or 1, 1), last)


def flash_errors(form):
    """Flash every validation message of `form` (for forms posted from another page)."""
    for messages in form.errors.values():
        for message in messages:
            flash(message, "error")


def _format_local(moment, fmt="%Y-%m-%d %H:%M"):
    return "" if moment is None else to_local(moment).strftime(fmt)


def _format_percent(value, digits=1):
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _paragraphs(text):
    """Render plain text as escaped paragraphs, keeping the author's line breaks."""
    blocks = [block.strip() for block in (text or "").replace("\r\n", "\n").split("\n\n")]
    html = "".join(f"<p>{escape(block).replace(chr(10), Markup('<br>'))}</p>" for block in blocks if block)
    # Every block was escaped above.
    return Markup(html)  # nosec B704
