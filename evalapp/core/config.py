"""Configuration: defaults, then instance/config.py, then environment variables, then tests."""
import os
import secrets
from pathlib import Path


def _secret_key(instance_path):
    """Return a persistent random secret key kept in the instance folder."""
    key_file = Path(instance_path) / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load(app, test_config=None):
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///" + str(Path(app.instance_path) / "evalapp.sqlite"),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        WTF_CSRF_TIME_LIMIT=None,
        # Without Flask-Babel, this makes Flask-WTF use each form's Meta.locales (see core.forms.Form).
        WTF_I18N_ENABLED=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        #: werkzeug password-hash method; tests choose a cheaper one.
        # A hash method's name, not a password.
        PASSWORD_HASH_METHOD="scrypt",  # nosec B106
        #: Key for the keyed hash of national ID numbers (falls back to the secret key).
        ID_HASH_KEY=None,
        DISPLAY_TIMEZONE="Asia/Shanghai",
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        #: SMTP for e-mail copies of inbox notices; no MAIL_SERVER (or no MAIL_FROM): inbox only.
        MAIL_SERVER=None,
        MAIL_PORT=25,
        MAIL_USERNAME=None,
        MAIL_PASSWORD=None,
        MAIL_USE_TLS=False,
        MAIL_FROM=None,
        #: The site's public address (https://…), for links in mail sent outside a request (reminders).
        PUBLIC_URL=None,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        if os.environ.get("DATABASE_URL"):
            app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(os.environ["DATABASE_URL"])
        if os.environ.get("REDIS_URL"):
            app.config["RATELIMIT_STORAGE_URI"] = os.environ["REDIS_URL"]
        if os.environ.get("PROXY_HOPS"):
            app.config["PROXY_HOPS"] = int(os.environ["PROXY_HOPS"])
        if os.environ.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
        for key in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM", "PUBLIC_URL"):
            if os.environ.get(key):
                app.config[key] = os.environ[key]
        if os.environ.get("MAIL_PORT"):
            app.config["MAIL_PORT"] = int(os.environ["MAIL_PORT"])
        if os.environ.get("MAIL_USE_TLS"):
            app.config["MAIL_USE_TLS"] = os.environ["MAIL_USE_TLS"].strip().lower() in ("1", "true", "yes", "on")
    else:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])


def normalise_database_url(url):
    """Point plain postgres:// and postgresql:// URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
