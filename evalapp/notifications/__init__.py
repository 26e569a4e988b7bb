"""The in-app inbox, with a copy by e-mail when SMTP is configured and the account has an address."""


def init_app(app):
    from evalapp.notifications import views

    app.register_blueprint(views.bp)
