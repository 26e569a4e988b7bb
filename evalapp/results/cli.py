"""`flask results verify`: recompute a published result's digest from the database and an export."""
import click
from flask.cli import AppGroup

from evalapp.core.db import db

results_cli = AppGroup("results", help="Published results.")


@results_cli.command("verify")
@click.argument("campaign_id", type=int)
# The export is read as bytes: newlines inside quoted free text must reach the CSV reader unchanged.
@click.option("--export", "export_file", type=click.File("rb"), help="A ballots.csv export to check too.")
def verify_result(campaign_id, export_file):
    """Recompute a published result's ballot digest from the database (and an export); exit 1 on mismatch."""
    from evalapp.campaigns.models import Campaign
    from evalapp.results.exports import digest_of_export
    from evalapp.results.operations import ballot_digest

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.result is None:
        raise click.ClickException(f"campaign {campaign_id} has no published result")
    published = campaign.result.ballot_digest
    checks = {"database": ballot_digest(campaign)}
    if export_file is not None:
        checks["export"] = digest_of_export(export_file.read().decode("utf-8-sig"))
    click.echo(f"published digest  {published}")
    for source, digest in checks.items():
        click.echo(f"from the {source:<8} {digest}  {'matches' if digest == published else 'DIFFERS'}")
    if any(digest != published for digest in checks.values()):
        raise SystemExit(1)
