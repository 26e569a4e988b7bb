"""Telling people: the in-app inbox always, copies by e-mail and SMS as each account chooses."""


def init_app(app):
    from evalapp.core.worker import periodic
    from evalapp.notifications import views
    from evalapp.notifications.commands import notifications_cli

    app.register_blueprint(views.bp)
    app.cli.add_command(notifications_cli)
    periodic(app, "notifications", "evalapp.notifications.commands:run")
