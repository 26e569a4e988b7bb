"""Coverage (which unions had to be evaluated this year, and were) and the yearly figures of a subtree."""


def init_app(app):
    from evalapp.coverage import listeners, views  # noqa: F401  (listeners answer the batches)

    app.register_blueprint(views.bp)
