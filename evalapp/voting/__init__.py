"""Secret ballots and participation."""


def init_app(app):
    from evalapp.core.worker import periodic
    from evalapp.notifications.broadcasts import register_audience
    from evalapp.voting import listeners, views  # noqa: F401  (listeners add to the campaign pages)
    from evalapp.voting.reminders import (
        non_voter_accounts,
        non_voter_phones_without_account,
        non_voter_textable_accounts,
    )

    app.register_blueprint(views.bp)
    register_audience(app, "campaign.non_voters", non_voter_accounts, non_voter_phones_without_account,
                      non_voter_textable_accounts)
    periodic(app, "closing_reminders", "evalapp.voting.reminders:remind_closing")
