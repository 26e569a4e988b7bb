"""Structured logs: one JSON object per line, every line of a request carrying its request id.

The id comes from the reverse proxy's X-Request-ID when it sends a sane one (so proxy and app logs
join up), or is made here; it is sent back in the response and shown on error pages, so a member
who reports "服务器出错" can quote it. Logs never name an account or an address, and casting a
ballot leaves no line at all (docs/secrecy.md): who voted when must not be readable from them.
"""
import json
import logging
import re
import sys
import time
import uuid

from flask import g, has_request_context, request

from evalapp.core import metrics

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
#: Endpoints whose requests are not logged: a ballot's moment must not be recorded, neither by the
#: ballot's own request nor by the receipt page the voter is sent to right after it.
#: The health check is polled every few seconds by the load balancer: its lines would bury the rest.
UNLOGGED_ENDPOINTS = {"voting.vote", "voting.voted", "static", "health.healthz", "metrics.metrics"}
#: Not counted as requests either: monitoring's own polling.
UNCOUNTED_ENDPOINTS = {"health.healthz", "metrics.metrics"}

request_logger = logging.getLogger("evalapp.request")


class JSONFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, logger, message, request id, extra fields."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id and request_id != "-":
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


JSONFormatter.converter = time.gmtime


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the moment (a test's capture included)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def current_request_id():
    return g.get("request_id") if has_request_context() else None


def configure_logging(app):
    """Send evalapp's and the web server's logs to stderr: JSON lines, or plain text if LOG_FORMAT=text."""
    handler = _StderrHandler()
    if app.config.get("LOG_FORMAT", "json") == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler.addFilter(_RequestIdFilter())
    package_logger = logging.getLogger("evalapp")
    # One handler however many apps a process builds (the test suite builds many).
    package_logger.handlers = [handler]
    package_logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    package_logger.propagate = False
    app.logger.handlers = [handler]
    app.logger.propagate = False
    # Flask's development server logs every request too: evalapp's own line (with the request id,
    # and none for a ballot) is the one kept. Its other lines (the address it serves on) stay.
    werkzeug_logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, _NoServerRequestLines) for f in werkzeug_logger.filters):
        werkzeug_logger.addFilter(_NoServerRequestLines())


class _NoServerRequestLines(logging.Filter):
    """Drops werkzeug's per-request line ('127.0.0.1 - - [date] "GET / HTTP/1.1" 200 -')."""

    def filter(self, record):
        return not (isinstance(record.msg, str) and record.msg.startswith("%s - - ["))


def init_app(app):
    if app.config.get("LOG_TO_STDERR", True):
        configure_logging(app)

    @app.before_request
    def _start_request():
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish_request(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        if request.endpoint not in UNCOUNTED_ENDPOINTS:
            metrics.count("requests", f"{response.status_code // 100}xx")
        if request.endpoint not in UNLOGGED_ENDPOINTS and "request_started" in g:
            duration_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
            request_logger.info(
                "%s %s %s", request.method, request.path, response.status_code,
                extra={"fields": {"method": request.method, "path": request.path, "endpoint": request.endpoint,
                                  "status": response.status_code, "duration_ms": duration_ms}},
            )
        return response
