"""Campaigns: lifecycle, electorate and the duty report."""


def init_app(app):
    from evalapp.campaigns import cli, credentials, listeners, views  # noqa: F401  (credentials, listeners listen)
    from evalapp.campaigns.people import elector_accounts, elector_phones_without_account
    from evalapp.core.worker import periodic
    from evalapp.notifications.broadcasts import register_audience

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.campaigns_cli)
    # Voting opens and closes on time however few people visit (see campaigns.loading).
    periodic(app, "schedule", "evalapp.campaigns.operations:run_schedule")
    register_audience(app, "campaign.electors", elector_accounts, elector_phones_without_account)
