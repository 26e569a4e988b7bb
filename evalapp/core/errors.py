"""Refusals raised by operations, and the error pages that show them without leaking anything."""
import logging

from flask import g, make_response, render_template
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from evalapp.core.db import db
from evalapp.core.requestlog import current_request_id

logger = logging.getLogger(__name__)

#: How long a browser or client should wait before retrying while the database is away.
RETRY_AFTER_SECONDS = 5


class Refused(Exception):
    """An operation refused to act; the message is shown to the user and nothing was changed."""

    def __init__(self, message, status=409):
        super().__init__(message)
        self.message = message
        self.status = status


def init_app(app):
    @app.errorhandler(Refused)
    def refused(error):
        db.session.rollback()
        return render_template("errors/refused.html", message=error.message), error.status

    for status in (400, 403, 404, 405, 413):
        app.register_error_handler(status, _page_for(status))

    @app.errorhandler(429)
    def too_many(error):
        return render_template("errors/refused.html", message=error.description), 429

    @app.errorhandler(500)
    def server_error(error):
        # The traceback goes to the log under the request id; the page shows only the id.
        logger.error("unhandled error", exc_info=getattr(error, "original_exception", None) or error)
        return _server_page(500, "服务器出错", "服务器暂时出错，您的操作没有生效，请稍后重试。")

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(error):
        return _database_unavailable(error)

    @app.errorhandler(DBAPIError)
    def database_error(error):
        # A dropped connection surfaces as a DBAPIError flagged connection_invalidated.
        if error.connection_invalidated:
            return _database_unavailable(error)
        logger.error("database error", exc_info=error)
        return _server_page(500, "服务器出错", "服务器暂时出错，您的操作没有生效，请稍后重试。")


def _page_for(status):
    def handler(_error):
        return render_template("errors/status.html", status=status), status

    return handler


def _database_unavailable(error):
    logger.warning("database unavailable: %s", type(error).__name__)
    response = _server_page(503, "服务暂时不可用", "系统正在恢复，您的操作没有生效（没有任何内容被保存）。请稍等几秒后重试。")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _server_page(status, title, text):
    """The page for a failure on our side: standalone, so it renders even with the database gone."""
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone: the page must still be shown
        logger.warning("rollback failed while reporting an error", exc_info=True)
    # Nobody can be looked up now: render as anonymous instead of touching the database again.
    from evalapp.core.auth import login_manager

    g._login_user = login_manager.anonymous_user()
    html = render_template("errors/server.html", title=title, text=text, request_id=current_request_id())
    return make_response(html, status)
