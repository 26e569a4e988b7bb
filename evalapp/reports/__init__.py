"""PDF reports."""


def init_app(app):
    from evalapp.reports import views

    app.register_blueprint(views.bp)
