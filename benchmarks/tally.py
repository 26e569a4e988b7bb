"""Time the tally and statistics of a campaign with a million ballots on PostgreSQL.

Usage (inside .venv):
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python benchmarks/tally.py [--ballots 1000000] [--runs 5]

Works in its own schema (created and dropped), so it never touches other data. The ballots are
written by SQL (generate_series) straight into the tables, six answers each (five three-level
items and one 5-point scale, like the demo's chair questionnaire), then the result is computed
through the application's own functions. Times are medians over --runs warm runs.
"""
import argparse
import os
import platform
import secrets
import statistics
import time

from flask_migrate import upgrade
from sqlalchemy import text

from evalapp import create_app
from evalapp.core.db import db


def build(ballots):
    from evalapp.accounts.models import Role
    from evalapp.accounts.operations import create_account, grant_role
    from evalapp.campaigns.models import SubjectKind
    from evalapp.campaigns.operations import close_voting, create_campaign, open_voting
    from evalapp.questionnaires.models import ItemKind
    from evalapp.questionnaires.operations import add_item, create_questionnaire
    from evalapp.unions.models import UnionKind
    from evalapp.unions.operations import add_member, create_union

    city = create_union("江门市总工会", UnionKind.city)
    officer = create_account("officer", "officer", "bench-password-1")
    grant_role(officer, city, Role.officer)
    add_member(city, "会员")
    form = create_questionnaire(city, "测评表")
    for position in range(5):
        add_item(form, ItemKind.satisfaction3, f"第{position + 1}题", "德能勤绩廉"[position], 1)
    add_item(form, ItemKind.scale, "总体评分", None, 2)
    campaign = create_campaign(officer, city, form, "百万人评议", SubjectKind.organisation, "某局")
    open_voting(campaign, officer)
    db.session.flush()
    items = [(item.id, [option.id for option in item.options]) for item in campaign.questionnaire.items]
    db.session.execute(text(
        "INSERT INTO ballots (id, campaign_id, receipt_hash) "
        "SELECT md5(:salt || g::text), :campaign, md5(:salt || 'r' || g::text) || md5(g::text) "
        "FROM generate_series(1, :n) AS g"), {"salt": secrets.token_hex(4), "campaign": campaign.id, "n": ballots})
    for item_id, options in items:
        # Skewed like real answers: mostly the first option.
        choices = "ARRAY[" + ",".join(str(option) for option in options) + "]"
        db.session.execute(text(
            f"INSERT INTO answers (ballot_id, item_id, option_id, campaign_id) "
            f"SELECT id, :item, ({choices})[1 + least(floor(-ln(random()) * 0.6)::int, {len(options) - 1})], :campaign "
            f"FROM ballots WHERE campaign_id = :campaign"), {"item": item_id, "campaign": campaign.id})
    # Each ballot's summary columns, as cast_ballot would have written them.
    from evalapp.results.statistics import normalised
    values = ",".join(
        f"({option.id}, {normalised(float(option.score), [float(o.score) for o in item.options])}, "
        f"{float(item.weight)}, {option.position})"
        for item in campaign.questionnaire.items for option in item.options)
    db.session.execute(text(
        "UPDATE ballots SET score = s.score, item_sum = s.total, uniform = s.uniform FROM ("
        " SELECT a.ballot_id, sum(v.norm * v.weight) / sum(v.weight) AS score, sum(v.norm) AS total,"
        "        min(v.position) = max(v.position) AS uniform"
        f" FROM answers a JOIN (VALUES {values}) AS v(option_id, norm, weight, position) ON v.option_id = a.option_id"
        " WHERE a.campaign_id = :campaign GROUP BY a.ballot_id) AS s WHERE ballots.id = s.ballot_id"),
        {"campaign": campaign.id})
    # Who voted: one participation per ballot, for members made for the purpose.
    db.session.execute(text(
        "INSERT INTO members (union_id, name, active) SELECT :union, '会员' || g, true FROM generate_series(1, :n) AS g"),
        {"union": city.id, "n": ballots})
    db.session.execute(text(
        "INSERT INTO participations (campaign_id, member_id) "
        "SELECT :campaign, id FROM members WHERE union_id = :union AND name <> '会员' ORDER BY id"),
        {"campaign": campaign.id, "union": city.id})
    campaign.electorate_size = ballots + ballots // 5
    close_voting(campaign, officer)
    db.session.commit()
    db.session.execute(text("ANALYZE ballots"))
    db.session.execute(text("ANALYZE answers"))
    db.session.execute(text("ANALYZE participations"))
    db.session.commit()
    return campaign


def timed(function, runs):
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        value = function()
        timings.append(time.perf_counter() - start)
        db.session.rollback()
    return statistics.median(timings), value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ballots", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (the target of this benchmark)")
    schema = f"bench_tally_{secrets.token_hex(3)}"
    admin = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with admin.app_context():
        db.session.execute(text(f"CREATE SCHEMA {schema}"))
        db.session.commit()
    separator = "&" if "?" in url else "?"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"{url}{separator}options=-csearch_path%3D{schema}",
                      "SECRET_KEY": "bench"})
    try:
        with app.app_context():
            from evalapp.results.operations import ballot_digest, compute_result, tally

            upgrade()
            start = time.perf_counter()
            campaign = build(args.ballots)
            print(f"built {args.ballots:,} ballots × 6 answers in {time.perf_counter() - start:.1f} s")
            campaign_id = campaign.id

            def fresh():
                from evalapp.campaigns.models import Campaign
                return db.session.get(Campaign, campaign_id)

            tally_time, counts = timed(lambda: tally(fresh()), args.runs)
            with db.session.no_autoflush:
                stats_time, _ = timed(lambda: _statistics_only(fresh()), args.runs)
            digest_time, _ = timed(lambda: ballot_digest(fresh()), max(1, args.runs // 2))
            with db.session.no_autoflush:
                full_time, result = timed(lambda: compute_result(fresh()), max(1, args.runs // 2))
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
            print(f"tally (SQL GROUP BY): median {tally_time * 1000:.0f} ms")
            print(f"tally + every statistic except the digest: median {stats_time * 1000:.0f} ms")
            print(f"ballot digest (SHA-256 over every answer, built by PostgreSQL): median {digest_time * 1000:.0f} ms")
            print(f"compute_result (all of it): median {full_time * 1000:.0f} ms; "
                  f"turnout {result.turnout:,}, score {result.overall_score:.2f}")
    finally:
        with admin.app_context():
            db.session.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            db.session.commit()


def _statistics_only(campaign):
    """compute_result without the digest: tally, turnout, intervals, score, grade, alpha, ballot scores, flags."""
    from evalapp.results import operations

    original = operations.ballot_digest
    operations.ballot_digest = lambda _campaign: ""
    try:
        return operations.compute_result(campaign)
    finally:
        operations.ballot_digest = original


if __name__ == "__main__":
    main()
