"""Refusals raised by operations, and the error pages that show them without leaking anything."""
from flask import render_template

from evalapp.core.db import db


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

    for status in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(status, _page_for(status))

    @app.errorhandler(429)
    def too_many(error):
        return render_template("errors/refused.html", message=error.description), 429


def _page_for(status):
    def handler(_error):
        if status == 500:
            db.session.rollback()
        return render_template("errors/status.html", status=status), status

    return handler
