"""Refusals raised by operations, and the error pages that show them without leaking anything."""
import logging

from flask import g, make_response, render_template, request
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
    @app.teardown_appcontext
    def _end_session_safely(_error):
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier, so called later): with the
        # connection gone, the rollback in remove() raises, and gunicorn would answer with its own
        # bare page instead of ours (or lose the redirect that carries a receipt).
        try:
            db.session.remove()
        except Exception:
            logger.warning("closing the database session failed", exc_info=True)

    @app.errorhandler(Refused)
    def refused(error):
        db.session.rollback()
        return render_template("errors/refused.html", message=error.message), error.status

    for status in (400, 403, 404, 405, 413):
        app.register_error_handler(status, _page_for(status))

    @app.errorhandler(429)
    def too_many(error):
        response = make_response(render_template("errors/refused.html", message=error.description), 429)
        # The limit's whole window: by then the count has certainly started again.
        window = getattr(getattr(error, "limit", None), "limit", None)
        response.headers["Retry-After"] = str(window.get_expiry() if window else RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(500)
    def server_error(error):
        # The traceback goes to the log under the request id; the page shows only the id.
        logger.error("unhandled error", exc_info=getattr(error, "original_exception", None) or error)
        return _server_error_page()

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
        return _server_error_page()


def _page_for(status):
    def handler(_error):
        return render_template("errors/status.html", status=status), status

    return handler


#: On a GET nothing was changed; on a POST the database may have committed before the connection
#: dropped, so the page must not promise either way (a ballot resubmitted is refused, never doubled).
UNAVAILABLE_GET = "系统正在恢复，请稍等几秒后重新打开本页。"
UNAVAILABLE_POST = ("系统正在恢复，您刚才的提交可能没有完成。请稍等几秒后重新打开页面查看：如果尚未完成，再提交一次；"
                    "投票不会被重复记录。")


def _server_error_page():
    return _server_page(500, "服务器出错", "服务器暂时出错，您的操作没有生效，请稍后重试。")


def _database_unavailable(error):
    logger.warning("database unavailable: %s", type(error).__name__)
    text = UNAVAILABLE_GET if request.method in ("GET", "HEAD") else UNAVAILABLE_POST
    response = _server_page(503, "服务暂时不可用", text)
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
