"""Secret ballots and participation."""


def init_app(app):
    from evalapp.voting import listeners, views  # noqa: F401  (listeners add to the campaign pages)

    app.register_blueprint(views.bp)
