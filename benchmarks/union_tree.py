"""Time `flask rosters import-unions` on a Jiangmen-sized tree, start-up included, in a fresh SQLite file.

Usage (inside .venv, from the checkout):
    python benchmarks/union_tree.py [--grassroots 6900] [--towns 100]

Writes a file of 1 city, 7 counties, ~100 towns and ~6,900 grassroots unions (UTF-8 CSV with the
Chinese headers), migrates a throw-away SQLite database, then runs the command as an operator
would: preview, apply, and the same file again (which must change nothing), each timed as a whole
process.
"""
import argparse
import csv
import os
import subprocess  # nosec B404: runs this checkout's own flask command
import sys
import tempfile
import time
from pathlib import Path

COUNTIES = ["蓬江区", "江海区", "新会区", "台山市", "开平市", "鹤山市", "恩平市"]
SECTORS = ["非公有制企业", "国有企业", "机关事业单位", "区域/行业联合工会", "其他"]
TRADES = ["电子", "五金", "纺织", "食品", "建材", "物流", "机械", "塑料", "家具", "陶瓷"]


def write_tree(path, towns, grassroots):
    """Write the tree file; return the number of unions in it."""
    rows = [("GH-440700", "江门市总工会", "", "市总工会", "其他")]
    town_codes = []
    for c, county in enumerate(COUNTIES, start=1):
        county_code = f"GH-4407{c:02d}"
        rows.append((county_code, f"{county}总工会", "GH-440700", "县（市、区）总工会", "其他"))
        for t in range(towns * c // len(COUNTIES) - towns * (c - 1) // len(COUNTIES)):
            code = f"{county_code}-T{t + 1:03d}"
            rows.append((code, f"{county}第{t + 1}镇（街）总工会", county_code, "镇（街）总工会", "其他"))
            town_codes.append(code)
    for number in range(grassroots):
        rows.append((f"9144070{number:011d}", f"江门{TRADES[number % len(TRADES)]}{number:05d}有限公司工会",
                     town_codes[number % len(town_codes)], "基层工会", SECTORS[number % len(SECTORS)]))
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("工会代码", "工会名称", "上级工会代码", "类型", "所属类型"))
        writer.writerows(rows)
    return len(rows)


def timed(command, env):
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # nosec B603
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--towns", type=int, default=100)
    parser.add_argument("--grassroots", type=int, default=6900)
    args = parser.parse_args()
    flask = str(Path(sys.executable).with_name("flask"))
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "jiangmen-unions.csv"
        count = write_tree(tree, args.towns, args.grassroots)
        env = {**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite",
               "SECRET_KEY": "bench"}  # nosec B105: a throw-away database
        timed([flask, "db", "upgrade"], env)
        print(f"{count:,} unions in {tree.stat().st_size / 1e6:.1f} MB of CSV")
        for label, options in (("preview", []), ("apply", ["--apply"]), ("same file again", ["--apply"])):
            elapsed, output = timed([flask, "rosters", "import-unions", str(tree), *options], env)
            print(f"{label:<16} {elapsed:6.2f} s")
            if label != "preview":
                print("  " + output.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
