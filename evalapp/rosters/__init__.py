"""Roster import: officers load members from CSV or XLSX files for a union or a whole subtree."""


def init_app(app):
    from evalapp.rosters import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.rosters_cli)
