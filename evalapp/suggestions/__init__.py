"""Members' suggestions and chairs' responses."""


def init_app(app):
    from evalapp.suggestions import listeners, views  # noqa: F401  (listeners add to the home page)

    app.register_blueprint(views.bp)
