"""Rectification items and their plans."""


#: When the daily deadline reminders go out, Shanghai time.
REMINDER_TIME = (8, 5)


def init_app(app):
    from evalapp.core.worker import periodic
    from evalapp.rectification import cli, listeners, views  # noqa: F401  (listeners open items on publication)

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.rectification_cli)
    periodic(app, "reminders", "evalapp.rectification.reminders:run", daily_at=REMINDER_TIME)
