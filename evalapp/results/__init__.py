"""Tallies, statistics and frozen results."""


def init_app(app):
    from evalapp.results import cli, listeners, views  # noqa: F401  (listeners freeze the result on publication)

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.results_cli)
