"""Configuration: defaults, then instance/config.py, then environment variables, then tests."""
import os
import secrets
from datetime import timedelta
from pathlib import Path

from limits import parse as parse_limit

from evalapp.core.timeutil import hours_window


def _secret_key(instance_path):
    """Return a persistent random secret key kept in the instance folder."""
    key_file = Path(instance_path) / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load(app, test_config=None):
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    embedded_database = "sqlite:///" + str(Path(app.instance_path) / "evalapp.sqlite")
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=embedded_database,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        WTF_CSRF_TIME_LIMIT=None,
        # Without Flask-Babel, this makes Flask-WTF use each form's Meta.locales (see core.forms.Form).
        WTF_I18N_ENABLED=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        #: werkzeug password-hash method; tests choose a cheaper one.
        # A hash method's name, not a password.
        PASSWORD_HASH_METHOD="scrypt",  # nosec B106
        #: Key for the keyed hash of national ID numbers (falls back to the secret key).
        ID_HASH_KEY=None,
        DISPLAY_TIMEZONE="Asia/Shanghai",
        #: None: in Redis when REDIS_URL is set (shared by every app instance), else in memory.
        RATELIMIT_STORAGE_URI=None,
        #: No X-RateLimit-* headers: browsers ignore them and each costs a second storage round trip
        #: per limited request (every ballot); the 429 page sends Retry-After itself.
        RATELIMIT_HEADERS_ENABLED=False,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        #: SMTP for e-mail copies of inbox notices; no MAIL_SERVER (or no MAIL_FROM): inbox only.
        MAIL_SERVER=None,
        MAIL_PORT=25,
        MAIL_USERNAME=None,
        MAIL_PASSWORD=None,
        MAIL_USE_TLS=False,
        MAIL_FROM=None,
        #: The SMS gateway: a URL that takes signed JSON POSTs (docs/notifications.md); none: no SMS.
        SMS_GATEWAY_URL=None,
        #: The HMAC key both sides hold for the signature header (required with SMS_GATEWAY_URL).
        SMS_GATEWAY_SECRET=None,
        #: How many messages one sender posts to the gateway at a time.
        SMS_CONCURRENCY=8,
        #: Local hours ("22:00-08:00") in which no SMS is sent; they wait for the morning.
        SMS_QUIET_HOURS="22:00-08:00",
        #: Modes of uploaded files and their folders: private to the app's user, or (0640, 0o2750) readable
        #: by a group nginx shares, for X-Accel-Redirect.
        UPLOAD_FILE_MODE=0o600,
        UPLOAD_DIR_MODE=0o700,
        #: The bearer token Prometheus presents at /metrics; none: /metrics answers 404.
        METRICS_TOKEN=None,
        #: Sign-in and activation attempts allowed from one address (a meeting on one Wi-Fi shares one).
        LOGIN_LIMIT_PER_ADDRESS="30 per minute",
        ACTIVATION_LIMIT_PER_ADDRESS="10 per minute",
        #: Remind the electors who have not voted a day before closing (their SMS tells the gateway so).
        REMIND_NON_VOTERS=True,
        #: The site's public address (https://…): every link that leaves the site (mail, QR posters,
        #: activation sheets) starts from it, never from the Host header of the request.
        PUBLIC_URL=None,
        #: Whether this is a production set-up; None: inferred (see is_production).
        PRODUCTION=None,
        #: Redis for rate limits and the job queue; without it both stay inside the web process.
        REDIS_URL=None,
        #: "auto" queues jobs in Redis when REDIS_URL is set; "thread" keeps them in the web process.
        JOBS_BACKEND="auto",
        JOBS_QUEUE="evalapp",
        #: A signed-in session ends after this long without a request (shared office PCs).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=2),
        #: "在本设备上保持登录" keeps a login for this long at most.
        REMEMBER_COOKIE_DURATION=timedelta(days=14),
        #: Cookies only over HTTPS; None: yes exactly when PUBLIC_URL starts with https://. Either way a
        #: cookie set in answer to an HTTPS request (also through the proxy, see PROXY_HOPS) is Secure.
        SESSION_COOKIE_SECURE=None,
        #: Small-group protection: below this many voters (or answers to an item) nothing derived from
        #: the ballots is shown (see results.models.Result.figures_shown). Values under 5 count as 5.
        MIN_GROUP_SIZE=5,
        #: JSON lines for log collectors, or "text" for people reading a terminal.
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(from_environment(with_environment_file(os.environ)))
    else:
        app.config.from_mapping(test_config)
    if app.config.get("PRODUCTION"):
        for key in ("AUDIT_KEY", "ID_HASH_KEY"):
            # Each its own: rotating SECRET_KEY (sessions) must not break the audit chain or the ID hashes.
            if not app.config.get(key) or app.config.get(key) == app.config.get("SECRET_KEY"):
                raise RuntimeError(f"EVALAPP_PRODUCTION is set: {key} must be set, and differ from SECRET_KEY "
                                   "(docs/deployment.md: generate it at install, keep a copy apart)")
    if app.config.get("PRODUCTION") and app.config["SQLALCHEMY_DATABASE_URI"] == embedded_database:
        # An upgrade run without the environment file would otherwise create and migrate a new,
        # empty SQLite database in the instance folder, and say it succeeded.
        raise RuntimeError("EVALAPP_PRODUCTION is set but DATABASE_URL is not: refusing to use the embedded "
                           "SQLite database (load the environment file, e.g. /etc/evalapp/evalapp.env)")
    if app.config["RATELIMIT_STORAGE_URI"] is None:
        # Several app instances must count one visitor's attempts together.
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = (app.config.get("PUBLIC_URL") or "").startswith("https://")
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config.get("REPLICA_DATABASE_URL"):
        # A streaming replica of the primary, for the heavy reads of review reports (core.db).
        binds = dict(app.config.get("SQLALCHEMY_BINDS") or {})
        binds["replica"] = normalise_database_url(app.config["REPLICA_DATABASE_URL"])
        app.config["SQLALCHEMY_BINDS"] = binds
    try:
        hours_window(app.config.get("SMS_QUIET_HOURS"))
    except ValueError as error:
        # A bad value would stop every delivery later, e-mail included: refuse to start instead.
        raise RuntimeError(f"SMS_QUIET_HOURS: {error}") from None
    for key in ("LOGIN_LIMIT_PER_ADDRESS", "ACTIVATION_LIMIT_PER_ADDRESS"):
        try:
            parse_limit(app.config[key])
        except ValueError:
            raise RuntimeError(f"{key}: expected a limit like '60 per minute', not {app.config[key]!r}") from None


def is_production(config):
    """Whether `config` describes a production set-up (where, for one, nothing is printed without PUBLIC_URL).

    PRODUCTION (or EVALAPP_PRODUCTION) says so explicitly; otherwise a test or debug run never is, and a
    run on PostgreSQL or with Redis is (the embedded default is SQLite without Redis).
    """
    if config.get("PRODUCTION") is not None:
        return bool(config["PRODUCTION"])
    if config.get("TESTING") or config.get("DEBUG"):
        return False
    database = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    return not database.startswith("sqlite") or bool(config.get("REDIS_URL"))


def _flag(value):
    return value.strip().lower() in ("1", "true", "yes", "on")


def _megabytes(value):
    return int(float(value) * 1024 * 1024)


def _mode(value):
    """An octal file mode such as 0640 or 2750; nothing for others to read or write, ever."""
    mode = int(value, 8)
    if mode & 0o007 or mode > 0o7777:
        raise ValueError(f"{value}: others must get no access (e.g. 0640, 2750)")
    return mode


def _minutes(value):
    return timedelta(minutes=int(value))


#: Environment variable → (config key, conversion). Set variables override instance/config.py.
ENVIRONMENT = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "REPLICA_DATABASE_URL": ("REPLICA_DATABASE_URL", str),
    "REDIS_URL": ("REDIS_URL", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "AUDIT_KEY": ("AUDIT_KEY", str),
    "AUDIT_OLD_KEYS": ("AUDIT_OLD_KEYS", str),
    "ID_HASH_KEY": ("ID_HASH_KEY", str),
    "PUBLIC_URL": ("PUBLIC_URL", str),
    "EVALAPP_PRODUCTION": ("PRODUCTION", _flag),
    "PROXY_HOPS": ("PROXY_HOPS", int),
    "MAX_UPLOAD_MB": ("MAX_CONTENT_LENGTH", _megabytes),
    "MAX_ROSTER_UPLOAD_MB": ("ROSTER_MAX_UPLOAD_BYTES", _megabytes),
    "UPLOAD_FOLDER": ("UPLOAD_FOLDER", str),
    "UPLOADS_ACCEL_PREFIX": ("UPLOADS_ACCEL_PREFIX", str),
    "SESSION_IDLE_MINUTES": ("PERMANENT_SESSION_LIFETIME", _minutes),
    "SESSION_COOKIE_SECURE": ("SESSION_COOKIE_SECURE", _flag),
    "MAIL_SERVER": ("MAIL_SERVER", str),
    "MAIL_PORT": ("MAIL_PORT", int),
    "MAIL_USERNAME": ("MAIL_USERNAME", str),
    "MAIL_PASSWORD": ("MAIL_PASSWORD", str),
    "MAIL_USE_TLS": ("MAIL_USE_TLS", _flag),
    "MAIL_FROM": ("MAIL_FROM", str),
    "SMS_GATEWAY_URL": ("SMS_GATEWAY_URL", str),
    "SMS_GATEWAY_SECRET": ("SMS_GATEWAY_SECRET", str),
    "SMS_CONCURRENCY": ("SMS_CONCURRENCY", int),
    "SMS_QUIET_HOURS": ("SMS_QUIET_HOURS", str),
    "REMIND_NON_VOTERS": ("REMIND_NON_VOTERS", _flag),
    "LOGIN_LIMIT_PER_ADDRESS": ("LOGIN_LIMIT_PER_ADDRESS", str),
    "METRICS_TOKEN": ("METRICS_TOKEN", str),
    "UPLOAD_FILE_MODE": ("UPLOAD_FILE_MODE", _mode),
    "UPLOAD_DIR_MODE": ("UPLOAD_DIR_MODE", _mode),
    "ACTIVATION_LIMIT_PER_ADDRESS": ("ACTIVATION_LIMIT_PER_ADDRESS", str),
    "JOBS_BACKEND": ("JOBS_BACKEND", str),
    "JOBS_QUEUE": ("JOBS_QUEUE", str),
    "RATELIMIT_KEY_PREFIX": ("RATELIMIT_KEY_PREFIX", str),
    "MIN_GROUP_SIZE": ("MIN_GROUP_SIZE", int),
    "LOG_FORMAT": ("LOG_FORMAT", str),
    "LOG_LEVEL": ("LOG_LEVEL", str),
}


#: The service's settings as the deployment guide installs them: read when EVALAPP_ENV_FILE is not set.
DEFAULT_ENV_FILE = "/etc/evalapp/evalapp.env"


def with_environment_file(environ, default=DEFAULT_ENV_FILE):
    """`environ`, completed by the file EVALAPP_ENV_FILE names (systemd's EnvironmentFile format), or
    by `default` if it exists (so that a command someone forgot to give the settings to does not run
    against a new SQLite database: it reads them, or, unable to read them, stops).

    Commands run by hand (`flask db upgrade`, `flask admin create`) read the service's settings from
    its file this way, never through the shell (`env $(cat …)` puts the secrets in `ps` and breaks on
    spaces). Variables already set win over the file.
    """
    path = environ.get("EVALAPP_ENV_FILE", "").strip() or (default if default and Path(default).exists() else "")
    if not path:
        return environ
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RuntimeError(f"EVALAPP_ENV_FILE: cannot read {path}: {error.strerror}") from None
    values = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        name, equals, value = line.partition("=")
        name = name.strip().removeprefix("export ").strip()
        if not equals or not name.replace("_", "").isalnum():
            raise RuntimeError(f"EVALAPP_ENV_FILE: line {number} of {path} is not NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name] = value
    return {**values, **environ}


def from_environment(environ):
    """The settings given by environment variables (empty ones are ignored); bad values stop the start."""
    settings = {}
    for variable, (key, convert) in ENVIRONMENT.items():
        raw = environ.get(variable, "").strip()
        if not raw:
            continue
        try:
            settings[key] = convert(raw)
        except ValueError as error:
            raise RuntimeError(f"environment variable {variable}={raw!r} is not valid: {error}") from None
    return settings


def normalise_database_url(url):
    """Point plain postgres:// and postgresql:// URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
