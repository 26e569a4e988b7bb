"""GET /healthz for load balancers and monitoring: 200 when the database (and Redis, if used) answer."""
import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from evalapp.core.auth import public
from evalapp.core.db import db
from evalapp.core.limits import limiter

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@public
@limiter.exempt
def healthz():
    checks = {"database": _check(lambda: db.session.execute(text("SELECT 1")).scalar_one())}
    redis_url = current_app.config.get("REDIS_URL")
    checks["redis"] = _check(lambda: _redis_ping(redis_url)) if redis_url else {"ok": True, "used": False}
    healthy = all(check["ok"] for check in checks.values())
    response = jsonify(status="ok" if healthy else "unavailable", checks=checks)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _check(probe):
    started = time.perf_counter()
    try:
        probe()
    except Exception as error:  # any failure means "not healthy"; the kind is enough to act on
        db.session.rollback()
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _redis_ping(url):
    from evalapp.core.jobs import redis_connection

    redis_connection(url).ping()
