"""The union tree and its member rosters."""


def init_app(app):
    from evalapp.notifications.broadcasts import register_phone_book
    from evalapp.unions import credential_events, views  # noqa: F401  (credential_events listens to accounts)
    from evalapp.unions.operations import roster_phones

    app.register_blueprint(views.bp)
    # Members are texted at the number in their union's roster.
    register_phone_book(app, roster_phones)
