"""Demo data: a Jiangmen-like federation with campaigns in every state."""


def init_app(app):
    from evalapp.demo import cli

    app.cli.add_command(cli.demo_cli)
