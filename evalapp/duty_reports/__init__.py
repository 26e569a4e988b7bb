"""The chair's duty report: rich text, images, a video, attachments, versions, locked when voting opens."""


def init_app(app):
    from evalapp.duty_reports import listeners, views  # noqa: F401  (listeners add to the home page)

    app.register_blueprint(views.bp)
