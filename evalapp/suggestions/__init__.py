"""Members' suggestions and chairs' responses."""


def init_app(app):
    from evalapp.suggestions import views

    app.register_blueprint(views.bp)
