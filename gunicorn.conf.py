"""gunicorn settings for evalapp: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every setting can be changed from the environment (GUNICORN_BIND, GUNICORN_WORKERS, …), so one
file serves one machine and a fleet of app nodes alike. See docs/deployment.md.
"""
import multiprocessing
import os


def _env_int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Synchronous workers with a few threads each: requests are short database transactions, and
# threads let a worker keep serving while one request waits on PostgreSQL.
workers = _env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
threads = _env_int("GUNICORN_THREADS", 4)
worker_class = "gthread"
# A request that runs this long is stuck: the worker is killed and replaced (its open transaction
# rolls back, so a ballot is either stored whole or not at all). Long work runs as a job instead.
timeout = _env_int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then, so a slow leak in a library can never take a node down.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 500)
# Request bodies are limited by the app (MAX_CONTENT_LENGTH); these bound the request line and headers.
limit_request_line = 8190
limit_request_fields = 100
# Load the app once in the master, so a broken configuration stops the start instead of looping workers.
preload_app = True
# The reverse proxy on the same machine (or the load balancer) is trusted for X-Forwarded-*;
# evalapp itself reads them only when PROXY_HOPS is set.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# evalapp writes one structured line per request itself (with its request id): no second access log.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
if os.environ.get("LOG_FORMAT", "json") == "json":
    # gunicorn's own lines (workers booting, timeouts) as JSON too, so one collector reads both.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "evalapp.core.requestlog.JSONFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        # gunicorn's defaults point "root" at a "console" handler; replacing the handlers needs a root too.
        "root": {"handlers": ["stderr"], "level": loglevel.upper()},
        "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False}},
    }
proc_name = "evalapp"
# gunicorn's control socket sits at one fixed path per user: two instances on one machine would
# fight over it, and evalapp is managed by signals (HUP to reload, TERM to stop) instead.
control_socket_disable = True


def post_fork(server, worker):
    # Connections opened in the master while preloading must not be shared across processes.
    from evalapp.core.db import db

    with worker.app.wsgi().app_context():
        db.engine.dispose(close=False)
