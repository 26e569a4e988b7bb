"""Members' suggestions and chairs' responses."""


def init_app(app):
    from evalapp.feedback import views

    app.register_blueprint(views.bp)
