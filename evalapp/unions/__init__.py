"""The union tree and its member rosters."""


def init_app(app):
    from evalapp.unions import credential_events, views  # noqa: F401  (credential_events listens to accounts)

    app.register_blueprint(views.bp)
