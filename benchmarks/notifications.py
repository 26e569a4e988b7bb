"""Time telling a 300,000-elector campaign that voting has opened, beside the cheapest way to write the same rows.

Usage (inside .venv, from the checkout):
    python benchmarks/notifications.py [--members 300000] [--send 5000] [--voters 8]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python benchmarks/notifications.py

Builds the city of benchmarks/large_electorate.py (a fresh SQLite file, or a schema of its own in the
PostgreSQL database, dropped at the end), gives every member a roster phone number, half of them
(`--with-accounts`) an account, and one account in twenty an e-mail address, with the SMS gateway and SMTP configured. Then:

  * baseline: the same inbox and delivery rows written by four raw INSERT … SELECT statements in one
    transaction (the cheapest this machine allows), then deleted; after one warm-up run;
  * evalapp: a city-wide campaign opened (the electorate snapshot; the broadcast is written in its
    transaction) and the broadcast written out by `fan_out`, timed apart, while `--voters` threads cast
    ballots through `cast_ballot` in the same database, whose latencies are compared with the same
    threads voting while nothing else runs;
  * sending: `--send` SMS to a local HTTP gateway (signatures checked) by `deliver_due`, the rate.
"""
import argparse
import os
import platform
import random
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from large_electorate import PASSWORD, build_city, database, insert_chunks  # noqa: E402

from evalapp import create_app  # noqa: E402
from evalapp.accounts.models import Account, Role, RoleGrant  # noqa: E402
from evalapp.campaigns.models import ElectorateScope, SubjectKind  # noqa: E402
from evalapp.campaigns.operations import create_campaign, open_voting  # noqa: E402
from evalapp.core.db import db  # noqa: E402
from evalapp.core.timeutil import utcnow  # noqa: E402
from evalapp.notifications import broadcasts, delivery  # noqa: E402
from evalapp.notifications.broadcasts import fan_out  # noqa: E402
from evalapp.notifications.models import (  # noqa: E402
    Broadcast,
    Delivery,
    DeliveryState,
    Notification,
    NotificationSettings,
)
from evalapp.questionnaires.models import ItemKind  # noqa: E402
from evalapp.questionnaires.operations import add_item, create_questionnaire  # noqa: E402
from evalapp.unions.models import Member, Union  # noqa: E402
from evalapp.voting.operations import cast_ballot  # noqa: E402
from tests.sms_gateway import SECRET, Gateway  # noqa: E402  (the tests' gateway: it checks every signature)


def accounts_and_phones(shared_hash, share):
    """Accounts for `share` of the members who have none, roster phones for all, an e-mail address for
    one account in twenty."""
    ids = db.session.scalars(sa.select(Member.id).where(Member.account_id.is_(None))).all()
    ids = ids[:round(len(ids) * share)]
    insert_chunks(Account, [{"username": f"m{m}", "display_name": f"会员{m}", "password_hash": shared_hash,
                             "is_admin": False, "active": True, "must_change_password": False} for m in ids])
    accounts = dict(db.session.execute(sa.select(Account.username, Account.id).where(Account.username.like("m%"))).all())
    db.session.execute(sa.update(Member), [{"id": m, "account_id": accounts[f"m{m}"], "phone": f"139{m:08d}"} for m in ids])
    db.session.execute(sa.update(Member).where(Member.phone.is_(None)).values(phone=sa.literal("138") + sa.func.lpad(
        sa.cast(Member.id, sa.String), 8, "0")) if db.engine.dialect.name == "postgresql" else
        sa.update(Member).where(Member.phone.is_(None)).values(phone=sa.func.printf("138%08d", Member.id)))
    with_mail = db.session.scalars(sa.select(Account.id).where(Account.username.like("m%")).where(Account.id % 20 == 0)).all()
    insert_chunks(NotificationSettings, [{"account_id": a, "email": f"u{a}@example.cn", "sms": True,
                                         "updated_at": utcnow()} for a in with_mail])
    db.session.commit()


def raw_baseline(campaign_id):
    """The same rows by four plain INSERT … SELECT in one transaction; seconds, rows. Deleted afterwards."""
    connection = db.session.connection()
    now = utcnow()
    start = time.perf_counter()
    connection.execute(sa.text(
        "INSERT INTO notifications (account_id, kind, text, link, created_at) "
        "SELECT m.account_id, 'baseline', :text, :link, :now FROM electorate_entries e "
        "JOIN members m ON m.id = e.member_id JOIN accounts a ON a.id = m.account_id "
        "WHERE e.campaign_id = :campaign AND a.active"),
        {"text": "“2026年度职工评议”已开始投票，请登录参加评议。", "link": f"/campaigns/{campaign_id}", "now": now,
         "campaign": campaign_id})
    connection.execute(sa.text(
        "INSERT INTO deliveries (notification_id, channel, address, state, attempts, next_attempt_at, created_at) "
        "SELECT n.id, 'email', s.email, 'pending', 0, :now, :now FROM notifications n "
        "JOIN notification_settings s ON s.account_id = n.account_id WHERE n.kind = 'baseline' AND s.email IS NOT NULL"),
        {"now": now})
    connection.execute(sa.text(
        "INSERT INTO deliveries (notification_id, channel, address, state, attempts, next_attempt_at, created_at) "
        "SELECT n.id, 'sms', m.phone, 'pending', 0, :now, :now FROM notifications n "
        "JOIN members m ON m.account_id = n.account_id WHERE n.kind = 'baseline' AND m.phone IS NOT NULL"),
        {"now": now})
    connection.execute(sa.text(
        "INSERT INTO deliveries (channel, address, state, attempts, next_attempt_at, created_at) "
        "SELECT DISTINCT 'sms', m.phone, 'pending', 0, :now, :now FROM electorate_entries e "
        "JOIN members m ON m.id = e.member_id "
        "WHERE e.campaign_id = :campaign AND m.account_id IS NULL AND m.phone IS NOT NULL"),
        {"now": now, "campaign": campaign_id})
    db.session.commit()
    elapsed = time.perf_counter() - start
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "baseline"))
    baseline_ids = sa.select(Notification.id).where(Notification.kind == "baseline").scalar_subquery()
    db.session.execute(sa.delete(Delivery).where(Delivery.notification_id.in_(baseline_ids)
                                                 | (Delivery.notification_id.is_(None) & Delivery.broadcast_id.is_(None))))
    db.session.execute(sa.delete(Notification).where(Notification.kind == "baseline"))
    db.session.commit()
    return elapsed, rows


def voting_threads(app, campaign_id, voter_ids, stop, latencies):
    """Threads casting ballots one transaction each until `stop`, recording (finished at, seconds)."""
    def run(ids):
        with app.app_context():
            from evalapp.campaigns.models import Campaign

            rng = random.Random(ids[0])
            for account_id in ids:
                if stop.is_set():
                    break
                campaign = db.session.get(Campaign, campaign_id)
                items = campaign.questionnaire.items
                account = db.session.get(Account, account_id)
                start = time.perf_counter()
                cast_ballot(campaign, account, {item.id: rng.choice(item.options).id for item in items})
                db.session.commit()
                latencies.append((time.perf_counter(), time.perf_counter() - start))
                db.session.expunge_all()
            db.session.remove()

    return run


def percentile(values, share):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * share))] if values else float("nan")


def vote_while(app, campaign_id, voter_pool, threads, action):
    """Cast ballots from `threads` threads while `action()` runs (or for 3 s if None); return latencies."""
    stop, latencies = threading.Event(), []
    run = voting_threads(app, campaign_id, voter_pool, stop, latencies)
    share = len(voter_pool) // threads
    workers = [threading.Thread(target=run, args=(voter_pool[i * share:(i + 1) * share],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    started = time.perf_counter()
    result = action() if action else time.sleep(3)
    finished = time.perf_counter()
    stop.set()
    for worker in workers:
        worker.join()
    during = [seconds for at, seconds in latencies if started <= at <= finished + 0.001]
    return result, finished - started, during


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=300_000)
    parser.add_argument("--unions-per-town", type=int, default=42)
    parser.add_argument("--send", type=int, default=5_000, help="SMS to send to the local gateway")
    parser.add_argument("--voters", type=int, default=4, help="threads casting ballots during the fan-out")
    parser.add_argument("--with-accounts", type=float, default=0.5,
                        help="share of the members who have activated an account (the others are texted only)")
    args = parser.parse_args()
    rng = random.Random(2026)
    gateway = Gateway().start()

    with database(os.environ.get("DATABASE_URL")) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "SMS_GATEWAY_URL": gateway.url,
                          "SMS_GATEWAY_SECRET": SECRET, "SMS_QUIET_HOURS": "", "MAIL_SERVER": "127.0.0.1",
                          "MAIL_FROM": "noreply@example.cn", "JOBS_BACKEND": "thread"})
        with app.app_context():
            if sa.inspect(db.engine).get_table_names():
                raise SystemExit("refusing to run: the database is not empty (use a scratch database)")
            upgrade()
            load = os.getloadavg()
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load[0]:.2f}, Python "
                  f"{platform.python_version()}, database {db.engine.dialect.name} "
                  f"{db.engine.dialect.server_version_info or ''}")
            shared_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
            start = time.perf_counter()
            city_id, _grassroots = build_city(rng, args.members, args.unions_per_town, shared_hash)
            accounts_and_phones(shared_hash, args.with_accounts)
            with_accounts = db.session.scalar(sa.select(sa.func.count()).select_from(Member)
                                              .where(Member.account_id.is_not(None)))
            city = db.session.get(Union, city_id)
            officer = Account(username="officer", display_name="市总工会工作人员", password_hash=shared_hash)
            db.session.add(officer)
            db.session.flush()
            db.session.add(RoleGrant(account_id=officer.id, union_id=city.id, role=Role.officer))
            form = create_questionnaire(city, "政府部门服务评议表")
            for prompt in ["服务态度", "办事效率", "依法行政"]:
                add_item(form, ItemKind.satisfaction3, prompt)
            db.session.commit()
            if db.engine.dialect.name == "postgresql":
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()
            print(f"setup: {args.members:,} members with phones, {with_accounts:,} of them with an account, "
                  f"in {time.perf_counter() - start:.1f} s")

            # Jobs are run here, by hand, each timed: nothing starts in the background.
            broadcasts.run_in_background = delivery.run_in_background = lambda *args: None
            # A first campaign, open, in which the voting threads cast their ballots.
            voting = create_campaign(officer, city, form, "同时进行的评议", SubjectKind.organisation, "江门市某局",
                                     ElectorateScope.subtree, closes_at=utcnow() + timedelta(days=14))
            db.session.commit()
            open_voting(voting, officer)
            db.session.commit()
            voter_pool = db.session.scalars(sa.select(Member.account_id).where(Member.account_id.is_not(None))
                                            .order_by(Member.id)).all()
            rng.shuffle(voter_pool)

            campaign = create_campaign(officer, city, form, "2026年度职工评议政府部门", SubjectKind.organisation,
                                       "江门市人力资源和社会保障局", ElectorateScope.subtree,
                                       closes_at=utcnow() + timedelta(days=14))
            db.session.commit()
            start = time.perf_counter()
            open_voting(campaign, officer)
            db.session.commit()
            opening_s = time.perf_counter() - start
            broadcast = db.session.scalar(sa.select(Broadcast).where(Broadcast.subject_id == campaign.id))
            db.session.commit()

            raw_baseline(campaign.id)   # a warm-up: the first run reads the tables from disk
            baseline_s, baseline_rows = raw_baseline(campaign.id)
            quiet_pool, busy_pool = voter_pool[:len(voter_pool) // 2], voter_pool[len(voter_pool) // 2:]
            _none, quiet_s, quiet = vote_while(app, voting.id, quiet_pool, args.voters, None)
            reached, fan_out_s, busy = vote_while(app, voting.id, busy_pool, args.voters, lambda: fan_out(broadcast.id))
            queued = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(
                Delivery.state == DeliveryState.pending))
            print(f"opening the campaign (snapshot of {campaign.electorate_size:,} electors, broadcast written): "
                  f"{opening_s:.2f} s")
            print(f"baseline, 4 raw INSERT … SELECT: {baseline_rows:,} notices and all the deliveries in {baseline_s:.2f} s")
            print(f"evalapp fan_out: {reached:,} notices, {queued:,} deliveries queued in {fan_out_s:.2f} s "
                  f"({baseline_s / fan_out_s:.0%} of the baseline's speed)")
            print(f"voting with {args.voters} threads, alone: {len(quiet):,} ballots in {quiet_s:.1f} s, "
                  f"p50 {percentile(quiet, 0.5) * 1000:.1f} ms, p99 {percentile(quiet, 0.99) * 1000:.1f} ms, "
                  f"max {max(quiet) * 1000:.0f} ms")
            print(f"voting during the fan-out: {len(busy):,} ballots in {fan_out_s:.1f} s, "
                  f"p50 {percentile(busy, 0.5) * 1000:.1f} ms, p99 {percentile(busy, 0.99) * 1000:.1f} ms, "
                  f"max {max(busy) * 1000 if busy else float('nan'):.0f} ms")

            # Sending: the first --send SMS, the rest left pending.
            db.session.execute(sa.update(Delivery).where(Delivery.state == DeliveryState.pending).values(
                next_attempt_at=utcnow() + timedelta(days=1)))
            first = sa.select(Delivery.id).where(Delivery.channel == "sms").order_by(Delivery.id).limit(args.send)
            db.session.execute(sa.update(Delivery).where(Delivery.id.in_(first.scalar_subquery()))
                               .values(next_attempt_at=utcnow() - timedelta(minutes=1)))
            db.session.commit()
            app.config["MAIL_SERVER"] = None
            start = time.perf_counter()
            sent, failed = delivery.deliver_due()
            send_s = time.perf_counter() - start
            print(f"sending: {sent:,} SMS to the local gateway in {send_s:.1f} s ({sent / send_s:,.0f}/s, "
                  f"{app.config['SMS_CONCURRENCY']} at a time), {failed} failed, gateway accepted "
                  f"{len(gateway.messages):,}, refused {len(gateway.refused)}")


if __name__ == "__main__":
    main()
