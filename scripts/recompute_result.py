#!/usr/bin/env python3
"""Recompute a published evalapp result from its two exports, without evalapp.

    python3 scripts/recompute_result.py --ballots ballots-12.csv --tally tally-12.csv [--check]

`ballots-<id>.csv` is the anonymous ballot export (导出匿名选票), `tally-<id>.csv` the tally export
(导出计票结果), both as downloaded from the result page. From the ballots alone this script counts
the answers, and with the option scores, satisfied flags, weights and the electorate size from the
tally it recomputes turnout, every scored item's satisfaction rate with its Wilson interval and
mean score with its t interval (both with the finite-population correction), the normalised item
scores, the overall weighted score and the ballot digest, as docs/statistics.md defines them. It
prints them; with --check it compares them with the figures the tally publishes and exits 1 on any
difference. It needs Python 3.10+ and SciPy (for the t quantile) only.
"""
import argparse
import csv
import hashlib
import io
import math
import sys
from statistics import NormalDist

from scipy.stats import t as student

BALLOT_HEADER = ["ballot_id", "item_id", "item", "option_id", "option"]
TOLERANCE = 1e-9


def read_text(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return f.read()


def unquote(cell):
    """The export puts one ' before text a spreadsheet could take for a formula (or that starts with ')."""
    return cell[1:] if cell.startswith("'") else cell


def read_ballots(path):
    """Return ({ballot id: [(item id, option id), ...]}, [(item id, text), ...])."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    if next(reader, None) != BALLOT_HEADER:
        sys.exit(f"{path}: not a ballot export (the header differs)")
    ballots, texts = {}, []
    for row in reader:
        ballot_id, item_id, _item, option_id, option = row
        if ballot_id:
            answers = ballots.setdefault(ballot_id, [])
            if item_id:
                answers.append((int(item_id), int(option_id)))
        else:
            texts.append((int(item_id), unquote(option)))
    return ballots, texts


def read_tally(path):
    """Return (facts {name: value}, rows [dict]) of a tally export."""
    rows = list(csv.reader(io.StringIO(read_text(path), newline="")))
    blank = rows.index([])
    facts = {name: value for name, value in rows[:blank]}
    header = rows[blank + 1]
    return facts, [dict(zip(header, row)) for row in rows[blank + 2:]]


def digest(ballots, texts):
    sha = hashlib.sha256()
    for ballot_id in sorted(ballots):
        pairs = ",".join(f"{item}={option}" for item, option in sorted(ballots[ballot_id]))
        sha.update(f"{ballot_id}:{pairs}\n".encode())
    lines = sorted(f"t:{item}={hashlib.sha256(text.encode()).hexdigest()}\n" for item, text in texts)
    for line in lines:
        sha.update(line.encode())
    return sha.hexdigest()


def fpc(n, population):
    return 0.0 if n >= population else math.sqrt((population - n) / (population - 1))


def wilson(k, n, population):
    p = k / n
    z = NormalDist().inv_cdf(0.975) * fpc(n, population)
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def t_interval(scores, population):
    n = len(scores)
    mean = sum(scores) / n
    if n == 1:
        return mean, (mean, mean) if population == 1 else (None, None)
    sd = math.sqrt(sum((x - mean) ** 2 for x in scores) / (n - 1))
    half = student.ppf(0.975, n - 1) * sd / math.sqrt(n) * fpc(n, population)
    return mean, (mean - half, mean + half)


def items_of(rows):
    """Return {item id: {position, kind, scored, weight, options {option id: (score, satisfied)}}}, in tally order."""
    items = {}
    for row in rows:
        item = items.setdefault(int(row["item_id"]), {
            "position": row["item_position"], "kind": row["kind"], "scored": row["scored"] == "yes",
            "weight": float(row["weight"]), "options": {}})
        if row["option_id"]:
            item["options"][int(row["option_id"])] = (float(row["score"]), row["satisfied"] == "yes")
    return items


def recompute(ballots, texts, facts, rows):
    """Return (figures {name: value}, items {item id: {name: value}}) computed from the ballots.

    Every item gets its answer count ("answered": ballots that answered it; for free text, the
    texts) and its count per option; scored items also their rate, mean and 0–100 score.
    """
    population = int(facts["electorate"])
    chosen = {}  # {item id: [(ballot id, option id), ...]}
    for ballot_id, answers in ballots.items():
        for item_id, option_id in answers:
            chosen.setdefault(item_id, []).append((ballot_id, option_id))
    items, weighted = {}, []
    for item_id, item in items_of(rows).items():
        options = item["options"]
        answers = [option for _ballot, option in chosen.get(item_id, []) if option in options]
        if item["kind"] == "text":
            n = sum(1 for text_item, _text in texts if text_item == item_id)
        elif item["kind"] == "multiple":
            n = len({ballot for ballot, option in chosen.get(item_id, []) if option in options})
        else:
            n = len(answers)
        figures = {"position": item["position"], "answered": n, "counts": {o: answers.count(o) for o in options}}
        if item["scored"] and n:
            satisfied = sum(1 for option in answers if options[option][1])
            scores = [options[option][0] for option in answers]
            mean, (mean_low, mean_high) = t_interval(scores, population)
            low_score, high_score = min(s for s, _ in options.values()), max(s for s, _ in options.values())
            span = high_score - low_score
            item_score = 100 * (mean - low_score) / span if span else 100.0
            figures.update(rate=satisfied / n, rate_interval=wilson(satisfied, n, population), mean=mean,
                           mean_interval=(mean_low, mean_high), item_score=item_score)
            weighted.append((item_score, item["weight"]))
        items[item_id] = figures
    total_weight = sum(weight for _score, weight in weighted)
    overall = sum(score * weight for score, weight in weighted) / total_weight if total_weight else None
    turnout = len(ballots)
    return {"turnout": turnout, "quorum_met": turnout >= int(facts["quorum_required"]), "overall_score": overall}, items


def differs(mine, published):
    if mine is None or published in ("", None):
        return (mine is None) != (published in ("", None))
    return abs(mine - float(published)) > TOLERANCE * max(1.0, abs(mine))


def check(figures, items, facts, rows, ballot_digest):
    problems = []
    if ballot_digest != facts["ballot_digest"]:
        problems.append(f"ballot digest: recomputed {ballot_digest}, published {facts['ballot_digest']}")
    if figures["turnout"] != int(facts["turnout"]):
        problems.append(f"turnout: recomputed {figures['turnout']}, published {facts['turnout']}")
    if figures["quorum_met"] != (facts["quorum_met"] == "yes"):
        problems.append(f"quorum met: recomputed {figures['quorum_met']}, published {facts['quorum_met']}")
    if differs(figures["overall_score"], facts["overall_score"]):
        problems.append(f"overall score: recomputed {figures['overall_score']}, published {facts['overall_score']}")
    for row in rows:
        item = items[int(row["item_id"])]
        where = f"item {row['item_position']}"
        if row["option_id"] and item["counts"][int(row["option_id"])] != int(row["count"]):
            problems.append(f"{where}, option {row['option_id']}: recomputed count "
                            f"{item['counts'][int(row['option_id'])]}, published {row['count']}")
        pairs = [("answered", item["answered"], row["answered"])]
        if "rate" in item:
            pairs += [("rate", item["rate"], row["rate"]), ("rate_low", item["rate_interval"][0], row["rate_low"]),
                      ("rate_high", item["rate_interval"][1], row["rate_high"]), ("mean", item["mean"], row["mean"]),
                      ("mean_low", item["mean_interval"][0], row["mean_low"]),
                      ("mean_high", item["mean_interval"][1], row["mean_high"]),
                      ("item_score", item["item_score"], row["item_score"])]
        problems += [f"{where}: {name} recomputed {mine}, published {published}"
                     for name, mine, published in pairs if differs(mine, published)]
    return sorted(set(problems))


def report(figures, items, facts, ballot_digest):
    print(f"campaign {facts['campaign_id']}: electorate {facts['electorate']}, turnout {figures['turnout']}, "
          f"quorum {facts['quorum_required']} {'met' if figures['quorum_met'] else 'not met'}")
    for item in items.values():
        counts = " ".join(f"{option}:{count}" for option, count in item["counts"].items())
        line = f"item {item['position']}: answered {item['answered']}" + (f", counts {counts}" if counts else "")
        if "rate" in item:
            (low, high), (mean_low, mean_high) = item["rate_interval"], item["mean_interval"]
            interval = "" if mean_low is None else f" [{mean_low:.4f}, {mean_high:.4f}]"
            line += (f", satisfied {item['rate']:.4f} [{low:.4f}, {high:.4f}], mean {item['mean']:.4f}{interval}, "
                     f"score {item['item_score']:.2f}")
        print(line)
    overall = figures["overall_score"]
    print(f"overall score: {'—' if overall is None else f'{overall:.4f}'}")
    print(f"ballot digest: {ballot_digest}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", required=True, help="the anonymous ballot export (CSV)")
    parser.add_argument("--tally", required=True, help="the tally export (CSV)")
    parser.add_argument("--check", action="store_true", help="compare with the published figures; exit 1 on a difference")
    args = parser.parse_args()
    ballots, texts = read_ballots(args.ballots)
    facts, rows = read_tally(args.tally)
    ballot_digest = digest(ballots, texts)
    figures, items = recompute(ballots, texts, facts, rows)
    report(figures, items, facts, ballot_digest)
    if not args.check:
        return 0
    problems = check(figures, items, facts, rows, ballot_digest)
    for problem in problems:
        print(f"DIFFERS: {problem}")
    print("all published figures agree with the ballots" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
