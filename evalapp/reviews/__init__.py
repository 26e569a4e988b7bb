"""The documents superior unions review: a campaign's result PDF and the batch review PDF (a job)."""


def init_app(app):
    from evalapp.reviews import views

    app.register_blueprint(views.bp)
