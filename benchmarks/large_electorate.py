"""Measure a city-wide evaluation of a government department with a 300,000-member electorate.

Usage (inside .venv):
    python benchmarks/large_electorate.py [--members 300000] [--ballots 5000] [--runs 7]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python benchmarks/large_electorate.py

Without DATABASE_URL a throw-away SQLite file is used. On PostgreSQL the script creates a schema of its
own in that database, migrates it, and drops it at the end, so any database the user may write to will do.

It bulk-inserts a city → 7 counties → 70 towns → ~2,900 grassroots unions tree (about 3,000 unions)
with 300,000 members, chairs for every grassroots union, and some thousands of background campaigns
with their own electorate snapshots, then:
  * opens organisation campaigns over the whole city (the INSERT…SELECT electorate snapshot),
  * casts ballots through the real cast_ballot operation, one transaction each,
  * times, through the web pages: a member's campaign list, campaign page and vote page; the officer's
    turnout page (GROUP BY union); the non-voter list (first page, a deep page, one union) and its CSV,
  * previews and confirms a batch of chair evaluations for about 500 unions, then starts reporting
    for all of them with the batch's bulk action,
and prints medians. With --explain it also prints PostgreSQL's query plans for the member's lookups.
"""
import argparse
import os
import platform
import random
import secrets
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy.pool import NullPool
from werkzeug.security import generate_password_hash

from evalapp import create_app
from evalapp.accounts.models import Account, Role, RoleGrant
from evalapp.campaigns.batches import BatchSpec, apply_to_batch, create_batch, select_unions
from evalapp.campaigns.models import (
    BatchRule,
    Campaign,
    CampaignState,
    ElectorateEntry,
    ElectorateScope,
    SubjectKind,
)
from evalapp.campaigns.operations import campaigns_for, create_campaign, open_voting
from evalapp.core.config import normalise_database_url
from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item, create_questionnaire
from evalapp.unions.models import Member, Union, UnionKind, UnionSector
from evalapp.voting.operations import cast_ballot

PASSWORD = "bench-password-1"
COUNTIES = ["蓬江区", "江海区", "新会区", "台山市", "开平市", "鹤山市", "恩平市"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁谢宋郑唐冯邓许韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈任姚卢傅钟"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国文辉海燕志宏晓东梅琳雪婷欣怡俊宇浩然嘉"
TRADES = ["电子", "五金", "纺织", "食品", "建材", "物流", "机械", "塑料", "家具", "陶瓷"]
SECTORS = [(UnionSector.non_public_enterprise, 0.6), (UnionSector.state_owned_enterprise, 0.12),
           (UnionSector.public_institution, 0.22), (UnionSector.joint, 0.06)]
CHUNK = 20_000


@contextmanager
def database(url, keep=False):
    """Yield the SQLAlchemy URL to use: a temp SQLite file, or a fresh schema in the PostgreSQL database."""
    if not url:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite"
        return
    url = normalise_database_url(url)
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"evalapp_bench_{secrets.token_hex(4)}"
    # No pooled connection between the two uses: the schema is dropped even if PostgreSQL was
    # restarted in between (faults.py does that on purpose).
    admin = sa.create_engine(url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        # The schema's name as application_name too: the run's own PostgreSQL backends can be told apart.
        yield url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}&application_name={schema}"
    finally:
        if keep:
            print(f"kept schema {schema}")
        else:
            _drop_schema(admin, schema)
        admin.dispose()


def _drop_schema(admin, schema, attempts=30):
    for attempt in range(attempts):  # PostgreSQL may still be starting up
        try:
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            print(f"dropped schema {schema}")
            return
        except sa.exc.OperationalError:
            if attempt == attempts - 1:
                print(f"could not drop schema {schema}: drop it by hand")
            time.sleep(1)


def insert_chunks(model, rows):
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(model), rows[start:start + CHUNK])


def build_city(rng, members, unions_per_town, shared_hash):
    """Create the tree, the rosters and a chair for every grassroots union; return (city id, grassroots ids)."""
    city = Union(name="江门市总工会", kind=UnionKind.city, path="", depth=0)
    db.session.add(city)
    db.session.flush()
    city.path = f"/{city.id}/"
    grassroots = []
    number = 0
    for county_name in COUNTIES:
        county = Union(name=f"{county_name}总工会", kind=UnionKind.county, parent_id=city.id, depth=1, path="",
                       sector=UnionSector.joint)
        db.session.add(county)
        db.session.flush()
        county.path = f"{city.path}{county.id}/"
        for t in range(10):
            town = Union(name=f"{county_name}第{t + 1}镇（街）总工会", kind=UnionKind.town, parent_id=county.id,
                         depth=2, path="", sector=UnionSector.joint)
            db.session.add(town)
            db.session.flush()
            town.path = f"{county.path}{town.id}/"
            rows = []
            for _ in range(unions_per_town):
                number += 1
                sector = rng.choices([s for s, _ in SECTORS], [w for _, w in SECTORS])[0]
                rows.append({"name": f"江门{TRADES[number % len(TRADES)]}{number:05d}公司工会", "kind": UnionKind.grassroots,
                             "parent_id": town.id, "path": "", "depth": 3, "sector": sector})
            ids = db.session.scalars(sa.insert(Union).returning(Union.id), rows).all()
            db.session.execute(sa.update(Union), [{"id": i, "path": f"{town.path}{i}/"} for i in ids])
            grassroots.extend(ids)
    # Roster sizes are skewed as in life: many small unions, a few large ones.
    weights = [rng.paretovariate(1.3) for _ in grassroots]
    scale = members / sum(weights)
    sizes = [max(3, round(w * scale)) for w in weights]
    sizes[sizes.index(max(sizes))] -= sum(sizes) - members  # exactly `members` in all
    rows = []
    for union_id, size in zip(grassroots, sizes):
        rows.extend({"union_id": union_id, "name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                     "active": True} for _ in range(size))
    insert_chunks(Member, rows)
    # A chair for every grassroots union: an account for its first member.
    first = db.session.execute(sa.select(Member.union_id, sa.func.min(Member.id)).group_by(Member.union_id)).all()
    accounts = [{"username": f"chair{member_id}", "display_name": f"主席{member_id}", "password_hash": shared_hash,
                 "is_admin": False, "active": True, "must_change_password": False} for _, member_id in first]
    insert_chunks(Account, accounts)
    link_accounts([member_id for _, member_id in first], "chair")
    chair_ids = dict(db.session.execute(sa.select(Member.union_id, Member.account_id).where(
        Member.id.in_([member_id for _, member_id in first]))).all())
    insert_chunks(RoleGrant, [{"account_id": account_id, "union_id": union_id, "role": Role.chair}
                              for union_id, account_id in chair_ids.items()])
    db.session.commit()
    return city.id, grassroots


def link_accounts(member_ids, prefix):
    """Attach the accounts named f"{prefix}{member id}" to their members."""
    accounts = dict(db.session.execute(sa.select(Account.username, Account.id).where(Account.username.like(f"{prefix}%"))).all())
    db.session.execute(sa.update(Member), [{"id": m, "account_id": accounts[f"{prefix}{m}"]} for m in member_ids])


def add_voters(rng, count, shared_hash):
    """Give `count` random members (not chairs) an account; return their account ids."""
    ids = db.session.scalars(sa.select(Member.id).where(Member.account_id.is_(None))).all()
    chosen = rng.sample(ids, count)
    insert_chunks(Account, [{"username": f"voter{m}", "display_name": f"会员{m}", "password_hash": shared_hash,
                             "is_admin": False, "active": True, "must_change_password": False} for m in chosen])
    link_accounts(chosen, "voter")
    db.session.commit()
    return db.session.scalars(sa.select(Account.id).where(Account.username.like("voter%")).order_by(Account.id)).all()


def background_campaigns(rng, officer_id, template_id, grassroots, count):
    """Closed and published past campaigns of single unions, each with its electorate snapshot."""
    if not count:
        return
    now = utcnow()
    chosen = rng.sample(grassroots, min(count, len(grassroots)))
    rows = [{"title": f"往年评议{i}", "union_id": union_id, "subject_kind": SubjectKind.chair, "subject_name": "主席",
             "electorate_scope": ElectorateScope.union, "template_id": template_id, "questionnaire_id": template_id,
             "state": rng.choice([CampaignState.published, CampaignState.archived, CampaignState.closed]),
             "rectification_months": 1, "created_at": now - timedelta(days=400), "created_by_id": officer_id,
             "opened_at": now - timedelta(days=380)} for i, union_id in enumerate(chosen)]
    insert_chunks(Campaign, rows)
    background = sa.select(Campaign.id, Member.id, Member.union_id).join(Member, Member.union_id == Campaign.union_id) \
        .where(Campaign.title.like("往年评议%"))
    db.session.execute(sa.insert(ElectorateEntry).from_select(["campaign_id", "member_id", "union_id"], background))
    db.session.execute(sa.update(Campaign).where(Campaign.title.like("往年评议%")).values(
        electorate_size=sa.select(sa.func.count()).where(ElectorateEntry.campaign_id == Campaign.id).scalar_subquery()))
    db.session.commit()


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def measure(label, fn, runs, results, unit=1000):
    """Run `fn` once to warm up, then `runs` times; record and print the median in ms."""
    fn()
    samples = [timed(fn)[1] for _ in range(runs)]
    results.append((label, statistics.median(samples) * unit, min(samples) * unit, max(samples) * unit))
    print(f"  {label:<52} median {results[-1][1]:8.1f} ms   (min {results[-1][2]:.1f}, max {results[-1][3]:.1f}, n={runs})")


def get_ok(client, path, expect=None):
    def fetch():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if expect:
            assert expect in response.get_data(as_text=True), (path, expect)
        return response
    return fetch


def login(app, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, f"login as {username} failed"
    return client


def explain(sql_label, statement):
    if db.engine.dialect.name != "postgresql":
        return
    plan = db.session.execute(sa.text("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + str(
        statement.compile(db.engine, compile_kwargs={"literal_binds": True})))).scalars().all()
    print(f"  plan of {sql_label}:")
    for line in plan:
        print("    " + line)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=300_000)
    parser.add_argument("--unions-per-town", type=int, default=42, help="grassroots unions per town (70 towns)")
    parser.add_argument("--ballots", type=int, default=5_000)
    parser.add_argument("--background", type=int, default=2_000, help="past single-union campaigns")
    parser.add_argument("--openings", type=int, default=3, help="city-wide campaigns to open (each timed)")
    parser.add_argument("--batch-size", type=int, default=500, help="unions in the batch of chair evaluations")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="print PostgreSQL query plans")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema (drop it yourself)")
    args = parser.parse_args()
    rng = random.Random(2026)

    with database(os.environ.get("DATABASE_URL"), args.keep) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
        results = []
        with app.app_context():
            if sa.inspect(db.engine).get_table_names():
                raise SystemExit("refusing to run: the database is not empty (use a scratch database)")
            upgrade()
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                  f"database {db.engine.dialect.name} {db.engine.dialect.server_version_info or ''}")
            shared_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
            (city_id, grassroots), build_s = timed(build_city, rng, args.members, args.unions_per_town, shared_hash)
            city = db.session.get(Union, city_id)
            officer = Account(username="officer", display_name="市总工会工作人员", password_hash=shared_hash)
            db.session.add(officer)
            db.session.flush()
            db.session.add(RoleGrant(account_id=officer.id, union_id=city.id, role=Role.officer))
            form = create_questionnaire(city, "政府部门服务评议表")
            for prompt in ["服务态度", "办事效率", "依法行政", "政务公开", "回应诉求"]:
                add_item(form, ItemKind.satisfaction3, prompt)
            db.session.commit()
            background_campaigns(rng, officer.id, form.id, grassroots, args.background)
            voter_ids, voters_s = timed(add_voters, rng, args.ballots + 1, shared_hash)
            if db.engine.dialect.name == "postgresql":
                db.session.execute(sa.text("ANALYZE"))  # as autovacuum would have done after the imports
                db.session.commit()
            unions = db.session.scalar(sa.select(sa.func.count()).select_from(Union))
            print(f"setup: {unions:,} unions, {args.members:,} members, {len(grassroots):,} chairs, "
                  f"{args.background:,} past campaigns, {len(voter_ids):,} voter accounts in {build_s + voters_s:.1f} s")

            # Opening: the electorate snapshot of the whole city, each time a fresh campaign.
            print("opening a city-wide organisation campaign (INSERT…SELECT snapshot):")
            opening = []
            for run in range(args.openings):
                campaign = create_campaign(officer, city, form, f"2026年度职工评议政府部门（{run + 1}）",
                                           SubjectKind.organisation, "江门市人力资源和社会保障局", ElectorateScope.subtree,
                                           closes_at=utcnow() + timedelta(days=14))
                db.session.commit()
                start = time.perf_counter()
                open_voting(campaign, officer)
                db.session.commit()
                opening.append(time.perf_counter() - start)
                print(f"  run {run + 1}: {opening[-1]:.2f} s for {campaign.electorate_size:,} electors")
            results.append(("opening (snapshot of the electorate)", statistics.median(opening) * 1000,
                            min(opening) * 1000, max(opening) * 1000))
            campaign_id = campaign.id

            print(f"casting {args.ballots:,} ballots through cast_ballot (one transaction each):")
            items = campaign.questionnaire.items
            start = time.perf_counter()
            for account_id in voter_ids[1:]:
                account = db.session.get(Account, account_id)
                cast_ballot(campaign, account, {item.id: rng.choice(item.options).id for item in items})
                db.session.commit()
            cast_s = time.perf_counter() - start
            print(f"  {args.ballots:,} ballots in {cast_s:.1f} s ({args.ballots / cast_s:,.0f} per second, "
                  f"{cast_s / args.ballots * 1000:.1f} ms each)")
            member_name = db.session.get(Account, voter_ids[0]).username  # has not voted
            member = db.session.get(Account, voter_ids[0])
            if args.explain:
                print("query plans:")
                snapshot = sa.select(ElectorateEntry.campaign_id).where(ElectorateEntry.member_id == member.member.id)
                explain("the member's campaigns (electorate lookup)", snapshot)
            start = time.perf_counter()
            found = campaigns_for(member)
            print(f"campaigns_for(member): {len(found)} campaigns in {(time.perf_counter() - start) * 1000:.1f} ms (cold)")
            some_union = db.session.scalar(sa.select(ElectorateEntry.union_id).where(
                ElectorateEntry.campaign_id == campaign_id).group_by(ElectorateEntry.union_id)
                .order_by(sa.func.count().desc()).limit(1))
            db.session.commit()

        member_client, officer_client = login(app, member_name), login(app, "officer")
        print("pages (through the Flask test client, logged in):")
        measure("member: campaign list (/)", get_ok(member_client, "/", "待您评议"), args.runs, results)
        measure("member: campaign page", get_ok(member_client, f"/campaigns/{campaign_id}", "开始评议"), args.runs, results)
        measure("member: vote page", get_ok(member_client, f"/campaigns/{campaign_id}/vote"), args.runs, results)
        measure("officer: turnout by union (~3,000 unions)", get_ok(officer_client, f"/campaigns/{campaign_id}/turnout",
                                                                    "按工会"), args.runs, results)
        measure("officer: non-voter list, first page (200 names)",
                get_ok(officer_client, f"/campaigns/{campaign_id}/non-voters"), args.runs, results)
        measure("officer: non-voter list, page 1,000 (OFFSET 199,800)",
                get_ok(officer_client, f"/campaigns/{campaign_id}/non-voters?page=1000"), args.runs, results)
        measure("officer: non-voter list of the largest union",
                get_ok(officer_client, f"/campaigns/{campaign_id}/non-voters?union={some_union}"), args.runs, results)
        measure("officer: non-voter CSV, whole city (~295,000 names)",
                get_ok(officer_client, f"/campaigns/{campaign_id}/non-voters.csv"), max(1, args.runs // 2), results)

        with app.app_context():
            city, officer = db.session.get(Union, city_id), db.session.scalar(sa.select(Account).filter_by(username="officer"))
            form = db.session.scalar(sa.select(Campaign).where(Campaign.id == campaign_id)).template
            sizes = sorted(db.session.scalars(sa.select(sa.func.count()).select_from(Member).join(Union).where(
                Union.sector == UnionSector.non_public_enterprise, Member.active.is_(True)).group_by(Member.union_id)),
                reverse=True)
            threshold = sizes[min(args.batch_size, len(sizes)) - 1]
            spec = BatchSpec(title="2026年度非公有制企业工会主席述职评议", template=form, rule=BatchRule.sector,
                             params={"sector": UnionSector.non_public_enterprise.value, "min_members": threshold},
                             title_pattern="2026年度{工会}主席述职评议", opens_at=utcnow() + timedelta(days=7),
                             closes_at=utcnow() + timedelta(days=21))
            print(f"batch of chair evaluations: non-public enterprises with {threshold}+ active members:")
            selection, preview_s = timed(select_unions, officer, city, spec)
            db.session.commit()
            (batch, created), create_s = timed(create_batch, officer, city, spec, secrets.token_hex(16), selection.digest)
            db.session.commit()
            outcome, bulk_s = timed(apply_to_batch, batch, "start_reporting", officer)
            db.session.commit()
            print(f"  preview {preview_s * 1000:.0f} ms ({len(selection.chosen)} chosen, {len(selection.skipped)} skipped); "
                  f"confirm {create_s * 1000:.0f} ms (batch, {len(batch.campaigns)} campaigns, one audit entry); "
                  f"bulk start reporting {bulk_s * 1000:.0f} ms ({outcome.changed} changed)")
            results += [("batch preview (~500 unions)", preview_s * 1000, preview_s * 1000, preview_s * 1000),
                        ("batch confirm (~500 campaigns, one transaction)", create_s * 1000, create_s * 1000, create_s * 1000),
                        ("batch bulk action: start reporting (~500)", bulk_s * 1000, bulk_s * 1000, bulk_s * 1000)]
            batch_id = batch.id
        measure("officer: batch page (~500 campaigns with turnout)",
                get_ok(officer_client, f"/batches/{batch_id}"), args.runs, results)

        print("\nsummary (ms): label | median | min | max")
        for label, median, low, high in results:
            print(f"| {label} | {median:,.0f} | {low:,.0f} | {high:,.0f} |")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
