"""evalapp: online duty reports and democratic evaluation for trade unions."""
from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The domain packages, floor by floor (DESIGN.md §6; pyproject.toml's import-linter contract keeps
#: it): each registers its blueprint, commands, periodic jobs and signal receivers (its `init_app`).
DOMAIN_PACKAGES = (
    "notifications",
    "accounts",
    "unions",
    "rosters",
    "questionnaires",
    "campaigns",
    "duty_reports",
    "voting",
    "suggestions",
    "results",
    "rectification",
    "reviews",
    "coverage",
    "demo",
)


def create_app(test_config=None):
    """Build the application: defaults, then instance/config.py, then the environment, then tests."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    from evalapp.core import config

    config.load(app, test_config)

    from evalapp.core import auth, cli, db, errors, health, limits, metrics, requestlog, web

    requestlog.init_app(app)
    web.limit_anonymous_bodies(app)  # before anything can read a body
    db.init_app(app)
    limits.init_app(app)
    auth.init_app(app)
    web.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)

    hops = app.config.get("PROXY_HOPS", 0)
    if hops:
        # Behind a reverse proxy: take the client's address, scheme and host from its headers, so that
        # rate limits count real visitors and QR codes and activation links point at the public site.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from importlib import import_module

    from evalapp import models  # noqa: F401  (every model, so that metadata is complete)

    for name in DOMAIN_PACKAGES:
        import_module(f"evalapp.{name}").init_app(app)
    return app
