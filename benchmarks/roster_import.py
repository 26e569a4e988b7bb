"""Measure a city-scale roster import: preview, first apply, re-import, and an import with changes.

Usage (inside .venv):
    DATABASE_URL=postgresql://postgres@127.0.0.1/evalapp_rosterbench python benchmarks/roster_import.py [--rows 700000]

The database must be empty (it is migrated here); without DATABASE_URL a throw-away SQLite file is
used. Builds a city → 7 counties → 70 towns → 7,000 grassroots unions tree, writes a CSV of valid
synthetic members (correct check digits, Chinese names, mobile numbers) and imports it for the city.
"""
import argparse
import csv
import os
import platform
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from evalapp import create_app
from evalapp.core.db import db
from evalapp.rosters import importer, staging
from evalapp.rosters.models import ImportJob, ImportStage
from evalapp.rosters.operations import queue_local_apply, run_apply, run_preview, start_local_import
from evalapp.unions.models import Member, Union, UnionKind
from evalapp.unions.operations import ID_CHECK_CHARS, ID_WEIGHTS, create_union

COUNTIES = ["蓬江区", "江海区", "新会区", "台山市", "开平市", "鹤山市", "恩平市"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁谢宋郑唐冯邓许韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈任姚卢傅钟"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国文辉海燕志宏晓东梅琳雪婷欣怡俊宇浩然嘉"
TRADES = ["电子", "五金", "纺织", "食品", "建材", "物流", "机械", "塑料", "家具", "陶瓷"]


def id_number(region, index):
    """Return a distinct valid national ID number for each index."""
    born = (date(1960, 1, 1) + timedelta(days=index % 16_000)).strftime("%Y%m%d")  # 1960–2003
    body = f"{region}{born}{index // 16_000:03d}"
    return body + ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS)) % 11]


def build_tree(towns_per_county, unions_per_town):
    """Create the union tree; return the city and the grassroots unions' names (in id order)."""
    city = create_union("江门市总工会", UnionKind.city)
    grassroots = []
    number = 0
    for county_name in COUNTIES:
        county = create_union(f"{county_name}总工会", UnionKind.county, city)
        for t in range(towns_per_county):
            town = create_union(f"{county_name}第{t + 1}镇（街）总工会", UnionKind.town, county)
            rows = []
            for _ in range(unions_per_town):
                number += 1
                rows.append({"name": f"江门{TRADES[number % len(TRADES)]}{number:05d}有限公司工会",
                             "kind": UnionKind.grassroots, "parent_id": town.id, "path": "", "depth": 3})
            ids = db.session.scalars(sa.insert(Union).returning(Union.id), rows).all()
            db.session.execute(sa.update(Union), [{"id": i, "path": f"{town.path}{i}/"} for i in ids])
            grassroots.extend(row["name"] for row in rows)
    db.session.commit()
    return city, grassroots


def write_roster(path, rows, union_names, seed=1, changes=0.0):
    """Write the CSV; with `changes`, a share of people move, change phone or leave (are left out)."""
    rng = random.Random(seed)
    change = random.Random(seed + 1)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "手机号", "身份证号", "工会"])
        for index in range(rows):
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
            phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
            union = union_names[index % len(union_names)]
            number = id_number(f"4407{index % 7 + 3:02d}", index)
            if changes and change.random() < changes:
                kind = change.randrange(3)
                if kind == 0:
                    continue  # left: not in the file
                if kind == 1:
                    union = union_names[(index + 1) % len(union_names)]
                else:
                    phone = f"1{change.choice('3456789')}{change.randrange(10**9):09d}"
            writer.writerow([name, phone, number, union])


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    elapsed = time.perf_counter() - start
    return result, elapsed


def import_once(city_id, path, rows, label):
    job = start_local_import(db.session.get(Union, city_id), path)
    db.session.commit()
    job_id = job.id
    _, preview_s = timed(run_preview, job_id, path=path)
    job = db.session.get(ImportJob, job_id)
    assert job.stage == ImportStage.previewed, job.message
    assert job.counts["errors"] == 0, job.report_data["errors"][:5]
    queue_local_apply(job)
    db.session.commit()
    _, apply_s = timed(run_apply, job_id, path=path)
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.stage == ImportStage.applied, job.message
    counts = job.counts
    print(f"{label:<28} preview {preview_s:6.1f} s ({rows / preview_s:>9,.0f} rows/s)   "
          f"apply {apply_s:6.1f} s ({rows / apply_s:>9,.0f} rows/s)   total {preview_s + apply_s:6.1f} s")
    print(f"{'':<28} " + ", ".join(f"{key} {counts[key]:,}" for key in
                                   ("rows", "new", "updated", "moved", "reactivated", "unchanged", "deactivated")))
    return preview_s, apply_s


def phase_timer():
    """Wrap the import's phases to print where the time goes (file reading + staging, comparing)."""
    phases = {}

    def wrap(module, name):
        original = getattr(module, name)

        def timed_phase(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - start

        setattr(module, name, timed_phase)

    wrap(staging, "fill")
    wrap(importer, "_compare")
    return phases


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=700_000)
    parser.add_argument("--towns-per-county", type=int, default=10)
    parser.add_argument("--unions-per-town", type=int, default=100)
    parser.add_argument("--phases", action="store_true", help="print the time of each phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "JOBS_INLINE": True})
        with app.app_context():
            if sa.inspect(db.engine).get_table_names():
                raise SystemExit("refusing to run: the database is not empty (use a scratch database)")
            upgrade()
            phases = phase_timer() if args.phases else None
            start = time.perf_counter()
            city, union_names = build_tree(args.towns_per_county, args.unions_per_town)
            city_id = city.id
            tree_s = time.perf_counter() - start
            path = Path(folder) / "roster.csv"
            start = time.perf_counter()
            write_roster(path, args.rows, union_names)
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                  f"database {db.engine.dialect.name} {db.engine.dialect.server_version_info or ''}")
            print(f"setup: {len(union_names):,} grassroots unions in {tree_s:.1f} s; {args.rows:,} rows, "
                  f"{path.stat().st_size / 2**20:.0f} MiB CSV in {time.perf_counter() - start:.1f} s")
            runs = [("first import (all new)", path, args.rows)]
            changed = Path(folder) / "roster-changed.csv"
            write_roster(changed, args.rows, union_names, changes=0.03)
            with open(changed, encoding="utf-8") as handle:
                changed_rows = sum(1 for _ in handle) - 1
            runs += [("re-import, same file", path, args.rows), ("re-import, ~3% changed", changed, changed_rows)]
            for label, roster, rows in runs:
                if phases is not None:
                    phases.clear()
                import_once(city_id, roster, rows, label)
                if phases is not None:
                    print(f"{'':<28} phases (preview + apply): " +
                          ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items()))
            members = db.session.scalar(sa.select(sa.func.count()).select_from(Member))
            active = db.session.scalar(sa.select(sa.func.count()).select_from(Member).where(Member.active))
            print(f"members: {members:,} on the rosters, {active:,} active")
            db.engine.dispose()


if __name__ == "__main__":
    main()
