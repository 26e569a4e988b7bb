"""Tally and ballot exports in CSV and XLSX, and the independent script that recomputes a result from them.

Expected figures are computed here from the ballots cast (VOTES) and the questionnaire's option
scores, with textbook formulas, not read from the code under test.
"""
import csv
import io
import math
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist, mean, stdev

import pytest
from openpyxl import load_workbook
from scipy.stats import t as student

from evalapp.core.db import db
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item, create_questionnaire
from evalapp.results.exports import TALLY_HEADER
from evalapp.voting.operations import cast_ballot
from tests.factories import close_and_publish, make_account, make_campaign

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "recompute_result.py"
VOTES = [[1, 1, 1], [1, 2, 2], [2, 1, 3], [2, 3, 1], [3, 3, 2]]


@pytest.fixture
def published(world):
    return make_campaign(world, "published", votes=VOTES)


def read_tally(text):
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    blank = rows.index([])
    return dict(rows[:blank]), [dict(zip(rows[blank + 1], row)) for row in rows[blank + 2:]]


def as_csv(cell, csv_value):
    """An XLSX cell as the CSV wrote it: numbers equal to the CSV's number, None as an empty field."""
    if cell is None:
        return ""
    if isinstance(cell, (int, float)):
        return csv_value if float(csv_value) == pytest.approx(cell, rel=1e-15) else cell
    return cell


def textbook(campaign):
    """Per item (position): counts by option position, rate, Wilson (FPC), mean, t interval (FPC), 0–100 score."""
    population = campaign.electorate_size
    f = lambda n: math.sqrt((population - n) / (population - 1))  # noqa: E731
    expected = {}
    for index, item in enumerate(campaign.questionnaire.items):
        chosen = [item.options[ballot[index] - 1] for ballot in VOTES]
        n = len(chosen)
        k = sum(1 for option in chosen if option.counts_satisfied)
        p, z = k / n, NormalDist().inv_cdf(0.975) * f(n)
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        scores = [float(option.score) for option in chosen]
        t_half = student.ppf(0.975, n - 1) * stdev(scores) / math.sqrt(n) * f(n)
        all_scores = [float(option.score) for option in item.options]
        expected[item.position] = {
            "counts": [sum(1 for option in chosen if option.id == o.id) for o in item.options],
            "rate": p, "rate_low": centre - half, "rate_high": centre + half, "mean": mean(scores),
            "mean_low": mean(scores) - t_half, "mean_high": mean(scores) + t_half,
            "item_score": 100 * (mean(scores) - min(all_scores)) / (max(all_scores) - min(all_scores)),
            "weight": float(item.weight)}
    overall = sum(e["item_score"] * e["weight"] for e in expected.values()) / sum(e["weight"] for e in expected.values())
    return expected, overall


def test_the_tally_csv_carries_the_counts_and_figures_of_the_ballots(published, login):
    response = login("county_officer").get(f"/campaigns/{published.id}/tally.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    facts, rows = read_tally(response.get_data(as_text=True))
    expected, overall = textbook(published)

    assert facts["electorate"] == str(published.electorate_size) and facts["turnout"] == "5"
    assert float(facts["overall_score"]) == pytest.approx(overall)
    assert facts["ballot_digest"] == published.result.ballot_digest
    for position, figures in expected.items():
        item_rows = [row for row in rows if row["item_position"] == str(position)]
        assert [int(row["count"]) for row in item_rows] == figures["counts"]
        for name in ("rate", "rate_low", "rate_high", "mean", "mean_low", "mean_high", "item_score"):
            assert float(item_rows[0][name]) == pytest.approx(figures[name]), (position, name)


def test_the_xlsx_exports_hold_the_same_rows_as_the_csv(published, login):
    client = login("county_officer")
    facts, rows = read_tally(client.get(f"/campaigns/{published.id}/tally.csv").get_data(as_text=True))
    book = load_workbook(io.BytesIO(client.get(f"/campaigns/{published.id}/tally.xlsx").data))
    assert book.sheetnames == ["概况", "计票"]
    assert {name: as_csv(value, facts[name]) for name, value in book["概况"].iter_rows(values_only=True)} == facts
    header, *table = list(book["计票"].iter_rows(values_only=True))
    assert [{name: as_csv(cell, row[name]) for name, cell in zip(header, cells)} for cells, row in zip(table, rows)] == rows
    assert len(table) == len(rows) == 3 + 3 + 5  # two three-level items and a five-point scale
    counts = dict(zip(header, table[0]))
    assert isinstance(counts["count"], int) and isinstance(counts["rate"], float)  # numbers, not text

    ballots_csv = list(csv.reader(io.StringIO(client.get(f"/campaigns/{published.id}/ballots.csv")
                                              .get_data(as_text=True).lstrip("\ufeff"))))
    response = client.get(f"/campaigns/{published.id}/ballots.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data))["选票"]
    xlsx_rows = [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert xlsx_rows[0] == ballots_csv[0]
    assert sorted(map(tuple, xlsx_rows[1:])) == sorted(map(tuple, ballots_csv[1:]))
    assert len({row[0] for row in xlsx_rows[1:]}) == 5


def test_text_that_looks_like_a_formula_stays_text_in_every_export(world, login, tmp_path):
    form = create_questionnaire(world.city, "公式测试")
    add_item(form, ItemKind.satisfaction3, "=HYPERLINK(\"http://evil\",\"点我\")")
    add_item(form, ItemKind.text, "意见", required=False)
    add_item(form, ItemKind.single, "选择", options=[("=1+1", None, False), ("+2", None, False)])
    db.session.commit()
    campaign = make_campaign(world, "open", form=form)
    items = campaign.questionnaire.items
    for index, voter in enumerate(world.members):
        cast_ballot(campaign, voter, {items[0].id: items[0].options[0].id, items[1].id: "@SUM(1+1)*cmd|' /C calc'!A0",
                                      items[2].id: items[2].options[index % 2].id})
    close_and_publish(world, campaign)
    client = login("county_officer")
    for path, sheet in ((f"/campaigns/{campaign.id}/tally.xlsx", "计票"), (f"/campaigns/{campaign.id}/ballots.xlsx", "选票")):
        cells = [cell for row in load_workbook(io.BytesIO(client.get(path).data))[sheet].iter_rows() for cell in row]
        risky = [cell for cell in cells if isinstance(cell.value, str) and cell.value.lstrip("'")[:1] in "=+-@"]
        assert {"'=1+1", "'+2"} <= {cell.value for cell in risky}, path  # option labels too
        assert any(cell.value.startswith("'=HYPERLINK") for cell in risky), path
        assert all(cell.data_type == "s" and cell.value.startswith("'") for cell in risky), path
    tally = client.get(f"/campaigns/{campaign.id}/tally.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in tally and ",=HYPERLINK" not in tally and ",'=1+1," in tally and ",=1+1" not in tally
    ballots = client.get(f"/campaigns/{campaign.id}/ballots.csv").get_data(as_text=True)
    assert ",'@SUM(1+1)" in ballots and ",'=1+1" in ballots and ",=" not in ballots and ",@" not in ballots
    facts, rows = read_tally(tally)
    assert [row["count"] for row in rows if row["item_position"] == "3"] == ["3", "2"]  # unscored choice: counts only
    assert [row["answered"] for row in rows if row["item_position"] == "2"] == ["5"]  # free text: the answers
    # The script handles unscored choices and free text (its digest undoes the quote before "@").
    ballots_file, tally_file = _exports(client, campaign, tmp_path)
    run = _run(ballots_file, tally_file)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"ballot digest: {campaign.result.ballot_digest}" in run.stdout


@pytest.mark.parametrize("username", ["m1", "outsider", "other_officer"])
def test_exports_are_not_found_for_members_and_strangers(published, login, username):
    client = login(username)
    for path in ("tally.csv", "tally.xlsx", "ballots.csv", "ballots.xlsx"):
        assert client.get(f"/campaigns/{published.id}/{path}").status_code == 404, path


def test_the_chair_gets_the_tally_but_not_the_ballots(published, login):
    client = login("chair")
    for path in ("tally.csv", "tally.xlsx"):
        assert client.get(f"/campaigns/{published.id}/{path}").status_code == 200, path
    for path in ("ballots.csv", "ballots.xlsx"):
        assert client.get(f"/campaigns/{published.id}/{path}").status_code == 404, path
    page = client.get(f"/campaigns/{published.id}/result").get_data(as_text=True)
    assert f"/campaigns/{published.id}/tally.xlsx" in page and "ballots.xlsx" not in page


def test_the_managing_officers_get_every_export_and_guessed_ids_are_not_found(published, login):
    for username in ("county_officer", "city_officer"):
        client = login(username)
        page = client.get(f"/campaigns/{published.id}/result").get_data(as_text=True)
        for path in ("tally.csv", "tally.xlsx", "ballots.csv", "ballots.xlsx"):
            assert f"/campaigns/{published.id}/{path}" in page, (username, path)
            assert client.get(f"/campaigns/{published.id}/{path}").status_code == 200, (username, path)
            assert client.get(f"/campaigns/{published.id + 1000}/{path}").status_code == 404, (username, path)
        assert client.get(f"/campaigns/{published.id}/tally.pdf").status_code == 404


def test_under_five_voters_the_tally_has_only_the_facts_and_no_ballots_are_exported(world, login):
    campaign = make_campaign(world, "published", votes=VOTES[:3])
    client = login("county_officer")
    facts, rows = read_tally(client.get(f"/campaigns/{campaign.id}/tally.csv").get_data(as_text=True))
    assert facts["turnout"] == "3" and facts["quorum_met"] == "no" and rows == []
    response = client.get(f"/campaigns/{campaign.id}/ballots.xlsx")
    assert response.status_code == 403 and b"PK" not in response.data[:2]
    assert client.get(f"/campaigns/{campaign.id}/ballots.csv").status_code == 403


def test_without_quorum_five_ballots_are_not_exported_and_the_tally_has_only_the_facts(world, login):
    for i in range(6, 9):  # an electorate of eight: five voters miss the quorum of six
        make_account(f"m{i}", f"会员{i}", member_of=world.union_a)
    db.session.commit()
    campaign = make_campaign(world, "published", votes=VOTES)
    assert campaign.result.turnout == 5 and not campaign.result.quorum_met
    client = login("county_officer")
    facts, rows = read_tally(client.get(f"/campaigns/{campaign.id}/tally.csv").get_data(as_text=True))
    assert (facts["electorate"], facts["quorum_required"], facts["quorum_met"], facts["overall_score"]) == \
        ("8", "6", "no", "") and rows == []
    header, *table = load_workbook(io.BytesIO(client.get(f"/campaigns/{campaign.id}/tally.xlsx").data))["计票"] \
        .iter_rows(values_only=True)
    assert list(header) == TALLY_HEADER and table == []
    for path in ("ballots.csv", "ballots.xlsx"):
        assert client.get(f"/campaigns/{campaign.id}/{path}").status_code == 403, path


def _exports(client, campaign, tmp_path):
    ballots, tally = tmp_path / "ballots.csv", tmp_path / "tally.csv"
    ballots.write_bytes(client.get(f"/campaigns/{campaign.id}/ballots.csv").data)
    tally.write_bytes(client.get(f"/campaigns/{campaign.id}/tally.csv").data)
    return ballots, tally


def _run(ballots, tally):
    return subprocess.run([sys.executable, str(SCRIPT), "--ballots", str(ballots), "--tally", str(tally), "--check"],
                          capture_output=True, text=True)


def test_the_script_recomputes_the_published_result_from_the_exports(published, login, tmp_path):
    ballots, tally = _exports(login("county_officer"), published, tmp_path)
    run = _run(ballots, tally)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"ballot digest: {published.result.ballot_digest}" in run.stdout
    _expected, overall = textbook(published)
    assert f"overall score: {overall:.4f}" in run.stdout
    assert "all published figures agree with the ballots" in run.stdout


def test_the_script_fails_on_a_tampered_export(published, login, tmp_path):
    ballots, tally = _exports(login("county_officer"), published, tmp_path)
    lines = ballots.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    item = published.questionnaire.items[0]
    first, second = str(item.options[0].id), str(item.options[2].id)
    for index, line in enumerate(lines):
        cells = line.split(",")
        if len(cells) > 3 and cells[3] == first:  # turn one 满意 on item 1 into 不满意
            cells[3] = second
            lines[index] = ",".join(cells)
            break
    ballots.write_text("".join(lines), encoding="utf-8-sig")
    run = _run(ballots, tally)
    assert run.returncode == 1
    assert "DIFFERS: ballot digest" in run.stdout and "DIFFERS: item 1" in run.stdout
