"""Measure one campaign's result PDF (warm, median of N) and the bytes of the voting page.

Usage (inside .venv):  python benchmarks/result_pdf_and_vote_page.py [--runs 20]
Builds the demo federation in a throw-away SQLite database (or in DATABASE_URL's database, which
must be empty), so it never touches instance/.
"""
import argparse
import os
import platform
import statistics
import tempfile
import time

from flask_migrate import upgrade

from evalapp import create_app
from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.core.db import db
from evalapp.demo.seed import DEMO_PASSWORD, load_demo


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
        with app.app_context():
            upgrade()
            load_demo()
            published = db.session.scalar(db.select(Campaign.id).where(Campaign.state == CampaignState.published))
            open_id = db.session.scalar(db.select(Campaign.id).where(Campaign.state == CampaignState.open))
        officer, member = app.test_client(), app.test_client()
        officer.post("/login", data={"username": "officer", "password": DEMO_PASSWORD})
        member.post("/login", data={"username": "member", "password": DEMO_PASSWORD})

        officer.get(f"/campaigns/{published}/result.pdf")  # warm-up: fonts, templates
        timings = []
        for _ in range(args.runs):
            start = time.perf_counter()
            response = officer.get(f"/campaigns/{published}/result.pdf")
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200

        page = member.get(f"/campaigns/{open_id}/vote")
        css = member.get("/static/app.css")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"database {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
        print(f"result PDF: {len(response.data) / 1024:.0f} KiB, warm render median "
              f"{statistics.median(timings) * 1000:.0f} ms over {args.runs} runs "
              f"(min {min(timings) * 1000:.0f}, max {max(timings) * 1000:.0f})")
        print(f"voting page: HTML {len(page.data) / 1024:.1f} KiB + CSS {len(css.data) / 1024:.1f} KiB "
              f"= {(len(page.data) + len(css.data)) / 1024:.1f} KiB uncompressed, no scripts, no other assets")


if __name__ == "__main__":
    main()
