"""Questionnaire templates: items, options and the rules that grade a result."""


def init_app(app):
    from evalapp.questionnaires import views

    app.register_blueprint(views.bp)
