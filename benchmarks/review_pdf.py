"""Measure the batch review PDF of a superior union over hundreds of published campaigns.

Usage (inside .venv):
    python benchmarks/review_pdf.py [--unions 500] [--voters 6] [--runs 3]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python benchmarks/review_pdf.py

Without DATABASE_URL a throw-away SQLite file is used; on PostgreSQL a schema of its own is created
and dropped (see large_electorate.py). It builds a county with towns and `--unions` grassroots unions,
runs one chair evaluation per union through the real operations (reporting, voting with `--voters`
ballots each, closing, publishing: rectification items open where an item falls under 80 %), then
runs the review job the web page starts (`run_review`) `--runs` times and prints, per run, the time
to gather the figures and the time to render the PDF, and the PDF's pages and size.
"""
import argparse
import os
import platform
import random
import statistics
import subprocess
import tempfile
import time
from datetime import date

import sqlalchemy as sa
from flask_migrate import upgrade
from large_electorate import database

from evalapp import create_app
from evalapp.accounts.models import Account, Role
from evalapp.accounts.operations import create_account, grant_role
from evalapp.campaigns import operations as campaign_ops
from evalapp.campaigns.models import ElectorateScope, SubjectKind
from evalapp.core.db import db
from evalapp.core.storage import storage
from evalapp.core.timeutil import local_today
from evalapp.duty_reports.operations import save_report
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item, create_questionnaire
from evalapp.reviews import review
from evalapp.reviews.models import ReviewStage
from evalapp.unions.models import Union, UnionKind, UnionSector
from evalapp.unions.operations import add_member, create_union
from evalapp.voting.operations import cast_ballot

TOWNS = 20


def build(rng, unions, voters):
    city = create_union("江门市总工会", UnionKind.city)
    county = create_union("新会区总工会", UnionKind.county, city)
    officer = create_account("officer", "区总工会工作人员", "bench-password-1")
    grant_role(officer, county, Role.officer)
    form = create_questionnaire(county, "主席述职测评表", quorum_ratio="1/2")
    for position, dimension in enumerate("德能勤绩廉", start=1):
        add_item(form, ItemKind.satisfaction3, f"第{position}项（{dimension}）", weight=1)
    towns = [create_union(f"第{t + 1}镇总工会", UnionKind.town, county) for t in range(TOWNS)]
    db.session.commit()
    for number in range(unions):
        union = create_union(f"江门{number:04d}公司工会", UnionKind.grassroots, towns[number % TOWNS],
                             sector=UnionSector.non_public_enterprise)
        members = [add_member(union, f"会员{number}-{i}", account=create_account(f"m{number}-{i}", f"会员{i}", "x" * 12))
                   for i in range(voters + 2)]
        campaign = campaign_ops.create_campaign(officer, union, form, "2026年度述职评议", SubjectKind.chair, "",
                                                ElectorateScope.union)
        campaign_ops.start_reporting(campaign, officer)
        grant_role(members[-1].account, union, Role.chair)
        save_report(campaign, members[-1].account, "一年来的工作报告。")
        campaign_ops.open_voting(campaign, officer)
        satisfied = rng.uniform(0.5, 1.0)  # unions differ, so the ranking and the rectifications are real
        for member in members[:voters]:
            items = campaign.questionnaire.items
            choices = {item.id: item.options[0 if rng.random() < satisfied else rng.choice((1, 2))].id for item in items}
            cast_ballot(campaign, member.account, choices)
        campaign_ops.close_voting(campaign, officer)
        campaign_ops.publish(campaign, officer)
        db.session.commit()
    return county, officer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--unions", type=int, default=500)
    parser.add_argument("--voters", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with database(os.environ.get("DATABASE_URL")) as url, tempfile.TemporaryDirectory() as uploads:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                          "UPLOAD_FOLDER": uploads})
        with app.app_context():
            if sa.inspect(db.engine).get_table_names():
                raise SystemExit("refusing to run: the database is not empty (use a scratch database)")
            upgrade()
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                  f"database {db.engine.dialect.name} {db.engine.dialect.server_version_info or ''}")
            started = time.perf_counter()
            county, officer = build(random.Random(2026), args.unions, args.voters)
            county_id, officer_id = county.id, officer.id
            print(f"built {args.unions} published campaigns in {time.perf_counter() - started:.1f} s")
            today = local_today()
            gather, totals = [], []
            for run in range(args.runs):
                # run_review ends its session, as a job does: load afresh every time.
                county, officer = db.session.get(Union, county_id), db.session.get(Account, officer_id)
                started = time.perf_counter()
                review.review_data(county, date(today.year, 1, 1), today)
                gather.append(time.perf_counter() - started)
                job = review.request_review(officer, county, date(today.year, 1, 1), today)
                db.session.commit()
                job_id = job.id
                started = time.perf_counter()
                review.run_review(job_id)
                totals.append(time.perf_counter() - started)
                job = db.session.get(review.ReviewJob, job_id)
                assert job.stage == ReviewStage.done, job.message
                with storage().open(job.file_key) as pdf:
                    info = subprocess.run(["pdfinfo", "-"], input=pdf.read(), capture_output=True, check=True).stdout.decode()
                pages = next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:"))
                print(f"run {run + 1}: gather {gather[-1] * 1000:.0f} ms, whole job {totals[-1]:.2f} s, "
                      f"{pages} pages, {job.file_size / 1024:.0f} KiB")
            print(f"median gather {statistics.median(gather) * 1000:.0f} ms, median job {statistics.median(totals):.2f} s")


if __name__ == "__main__":
    main()
