"""Request helpers shared by all views: CSRF, template filters, object loading."""
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import Request as FlaskRequest
from flask import (
    Response,
    abort,
    current_app,
    flash,
    has_request_context,
    make_response,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup, escape
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

from evalapp.core.auth import counts_own_attempts
from evalapp.core.config import is_production
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.limits import ANONYMOUS_POSTS_PER_ADDRESS, count_anonymous_post
from evalapp.core.text import css_string
from evalapp.core.timeutil import to_local

csrf = CSRFProtect()


class SecureCookieResponse(Response):
    """Every cookie (session, remember-me, device, any other) is SameSite, and Secure whenever the
    request came over HTTPS: directly, or through the configured proxy (ProxyFix sets the scheme),
    even where the configuration does not demand Secure cookies (no https PUBLIC_URL)."""

    def set_cookie(self, key, value="", *args, secure=False, samesite=None, **kwargs):
        secure = secure or (has_request_context() and request.is_secure)
        super().set_cookie(key, value, *args, secure=secure, samesite=samesite or "Lax", **kwargs)


def init_app(app):
    app.response_class = SecureCookieResponse
    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = Request
    csrf.init_app(app)
    app.jinja_env.filters["local"] = _format_local
    app.jinja_env.filters["percent"] = _format_percent
    app.jinja_env.filters["paragraphs"] = _paragraphs
    app.jinja_env.filters["receipt_groups"] = receipt_groups
    app.jinja_env.filters["css_string"] = css_string  # names in PDF stylesheets (running headers)

    @app.url_defaults
    def _versioned_static(endpoint, values):
        # Static files carry a digest of their content (?v=…): nginx may let browsers keep them for a
        # year, and a new release is still fetched at once.
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version(app.static_folder, values["filename"])
            if version:
                values["v"] = version

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


@functools.cache
def static_version(folder, filename):
    """The first 10 hex digits of the file's SHA-256 (read once per process), or None if it is not there."""
    path = Path(folder) / filename
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    except OSError:
        return None


#: The largest body an anonymous visitor may send: the sign-in forms need a few hundred bytes.
ANONYMOUS_MAX_BODY = 64 * 1024
ANONYMOUS_TOO_LARGE = "提交的内容过大：未登录时每次提交不能超过 64 KB。请先登录，再重新提交。"
ANONYMOUS_TOO_MANY = "提交过于频繁，请稍后再试。"
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def limit_anonymous_bodies(app):
    """Refuse an anonymous visitor's large body before anything reads it, and count their posts.

    Register it right after the request log (so refusals are still logged) and before anything that
    parses forms: MAX_CONTENT_LENGTH (16 MB, for officers' uploads) stays for signed-in accounts only.
    """

    @app.before_request
    def _limit_anonymous_bodies():
        if request.method not in _BODY_METHODS or current_user.is_authenticated:
            return None
        # A body without a declared length (chunked) is cut off by Werkzeug as it is read.
        request.max_content_length = min(ANONYMOUS_MAX_BODY, app.config.get("MAX_CONTENT_LENGTH") or ANONYMOUS_MAX_BODY)
        if (request.content_length or 0) > request.max_content_length:
            return render_template("errors/status.html", status=413, text=ANONYMOUS_TOO_LARGE), 413
        if not counts_own_attempts() and not count_anonymous_post():
            response = make_response(render_template("errors/refused.html", message=ANONYMOUS_TOO_MANY), 429)
            response.headers["Retry-After"] = str(ANONYMOUS_POSTS_PER_ADDRESS.get_expiry())
            return response
        return None


PUBLIC_URL_MISSING = ("未配置本站的公开网址（PUBLIC_URL），不能打印二维码海报和激活单：打印出的网址可能指向别的网站。"
                      "请联系系统管理员设置 PUBLIC_URL（例如 https://pingyi.example.cn）后再打印。")


def public_url_for(endpoint, **values):
    """The absolute URL of `endpoint` for links that leave the site (printed, sent): from PUBLIC_URL.

    Never from the request's Host header, which a visitor chooses. Without PUBLIC_URL, production
    refuses (Refused, shown to the officer); development and tests fall back on the request's host.
    """
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    if is_production(current_app.config):
        raise Refused(PUBLIC_URL_MISSING, 409)
    return url_for(endpoint, _external=True, **values)


def get_or_404(model, ident):
    """Return the object with primary key `ident`, or answer 404."""
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def require(allowed):
    """Answer 404 unless `allowed`: a guessed id must not reveal that the object exists.

    `allowed` is the answer of a model's permission method, `obj.can_<verb>(account)`: the one
    vocabulary described in CONTRIBUTING.md ("Permissions").
    """
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


def receipt_groups(code):
    """A receipt code in groups of four, easy to copy by hand (spaces do not matter when it is checked)."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


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


def in_id_range(number):
    """Whether `number` fits the database's integer columns (PostgreSQL's int4 overflows beyond)."""
    return -MAX_ID - 1 <= number <= MAX_ID


def bounded_int(value):
    """`int` for form fields (coerce=…): a number the database cannot hold is invalid input."""
    number = int(value)
    if not in_id_range(number):
        raise ValueError("number out of range")
    return number


def _saturated_int(value):
    number = int(value)
    # No row has an id beyond the range: the nearest bound names nothing either (a 404 where an
    # object is looked up), and a page number beyond it is clamped like any other too large one.
    return min(max(number, -MAX_ID - 1), MAX_ID)


class _BoundedIntLookups:
    """`get(…, type=int)` and `getlist(…, type=int)` that never return a number the database cannot hold.

    Every integer a view reads from the query string or a form goes through here, so a value such
    as `?union=2147483648` can never reach PostgreSQL and overflow there (a 500): it is clamped to
    the integer range, where it names no object (404) and is the last page of any list.
    """

    def get(self, key, default=None, type=None):
        return super().get(key, default, _saturated_int if type is int else type)

    def getlist(self, key, type=None):
        return super().getlist(key, _saturated_int if type is int else type)


class BoundedMultiDict(_BoundedIntLookups, ImmutableMultiDict):
    pass


class BoundedCombinedMultiDict(_BoundedIntLookups, CombinedMultiDict):
    pass


class Request(FlaskRequest):
    """The app's request: query-string and form values whose integer lookups are range-checked."""

    parameter_storage_class = BoundedMultiDict

    @cached_property
    def values(self):
        return BoundedCombinedMultiDict([self.args] if self.method == "GET" else [self.args, self.form])


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
