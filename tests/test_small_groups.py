"""Small-group protection (issue 14, part 2): below five voters nothing derived from the ballots is shown.

Each test attacks one surface with a published campaign of one to four voters, built as an officer
could build it on purpose: a questionnaire whose quorum is a fifth of the electorate, so that even
one ballot makes a valid result. With one voter, every member of the union would read that
member's whole ballot.

The figures an attacker looks for are taken from the stored result (which keeps them, as the
frozen record computed from the ballots), never written down here: the overall score, the grade,
an item's normalised score and its answer distribution.
"""
import csv
import io
from collections import Counter

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from evalapp.core.db import db
from evalapp.notifications.models import Notification
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item
from evalapp.rectification.models import Rectification
from evalapp.results.models import Result
from evalapp.suggestions import operations as suggestion_ops
from evalapp.voting.operations import cast_ballot
from tests import test_batch_ranking
from tests.builders import compact, pdf_text
from tests.factories import close_and_publish, make_campaign, make_questionnaire

#: What the result says instead of its figures.
REASON = "参评人数不足 5 人，为保护投票秘密，不公布任何统计结果"
#: Item 1 不满意 (under the 80% line: today a rule opens a rectification item), item 2 满意, item 3 4分.
BALLOT = [3, 1, 2]


def small_form(world):
    """The default three items, with a quorum any single ballot meets."""
    return make_questionnaire(world.city, quorum_ratio="1/5")


def publish_small(world, voters, form=None):
    return make_campaign(world, "published", form=form or small_form(world), votes=[BALLOT] * voters)


def leaked_figures(campaign):
    """The figures of the campaign's stored result, as the result page and PDF would print them."""
    result = db.session.scalar(select(Result).where(Result.campaign_id == campaign.id))
    assert result.overall_score is not None and result.grade, "the probe needs a scored, graded result"
    items = {row.position: row for row in result.items}
    return {
        "overall score": f"{result.overall_score:.1f}",
        "grade": result.grade,
        "item 3 score": f"{items[3].normalised_score:.1f}",
        "item 1 distribution": f"不满意 {items[1].option_counts[str(items[1].item.options[2].id)]}",
    }


def assert_nothing_leaks(text, campaign, squeeze=False):
    shown = compact(text) if squeeze else text
    leaks = {name: figure for name, figure in leaked_figures(campaign).items()
             if (compact(figure) if squeeze else figure) in shown}
    assert not leaks, f"derived from the ballots and shown: {leaks}"


# --- The result page and PDF -----------------------------------------------------------------------

@pytest.mark.parametrize("voters", [1, 4])
@pytest.mark.parametrize("username", ["m1", "county_officer", "chair"])
def test_the_result_page_shows_no_figure_of_a_small_group(world, login, voters, username):
    campaign = publish_small(world, voters)
    response = login(username).get(f"/campaigns/{campaign.id}/result")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert_nothing_leaks(page, campaign)
    assert REASON in page
    assert f"实参评 {voters} 人" in page  # turnout is not derived from the ballots: it stays
    assert "与上次评议比较" not in page and "选票平均得分" not in page


def test_the_result_page_of_a_small_group_shows_no_warning_flag(world, login):
    """Three identical free texts earn a warning; with three voters it would tell what each wrote."""
    form = small_form(world)
    add_item(form, ItemKind.text, "其他意见", required=False)
    campaign = make_campaign(world, "open", form=form)
    items = campaign.questionnaire.items
    text_item = items[-1]
    for member in world.members[:3]:
        choices = {item.id: item.options[pos - 1].id for item, pos in zip(items, BALLOT)}
        cast_ballot(campaign, member, choices | {text_item.id: "食堂太贵"})
    close_and_publish(world, campaign)
    page = login("county_officer").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert REASON in page
    assert "需要核实的情况" not in page and "食堂太贵" not in page


@pytest.mark.parametrize("username", ["county_officer", "chair"])
def test_the_result_pdf_shows_no_figure_of_a_small_group(world, login, username, tmp_path):
    campaign = publish_small(world, 2)
    response = login(username).get(f"/campaigns/{campaign.id}/result.pdf")
    assert response.status_code == 200
    path = tmp_path / "result.pdf"
    path.write_bytes(response.data)
    text = pdf_text(path)
    assert_nothing_leaks(text, campaign, squeeze=True)
    assert compact(REASON) in compact(text)


# --- Exports ---------------------------------------------------------------------------------------

def read_tally(text):
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    blank = rows.index([])
    return dict(rows[:blank]), rows[blank + 2:]


@pytest.mark.parametrize("username", ["county_officer", "chair"])
def test_the_tally_export_of_a_small_group_holds_no_figure(world, login, username):
    campaign = publish_small(world, 3)
    client = login(username)
    text = client.get(f"/campaigns/{campaign.id}/tally.csv").get_data(as_text=True)
    facts, rows = read_tally(text)
    assert facts["turnout"] == "3"
    assert facts["overall_score"] == "" and facts["grade"] == ""
    assert rows == []
    book = load_workbook(io.BytesIO(client.get(f"/campaigns/{campaign.id}/tally.xlsx").data))
    xlsx_facts = dict(book["概况"].iter_rows(values_only=True))
    assert xlsx_facts["overall_score"] is None and not xlsx_facts["grade"]
    assert len(list(book["计票"].iter_rows())) == 1  # the header only
    for figure in leaked_figures(campaign).values():
        assert figure not in text


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_the_ballot_export_of_a_small_group_is_refused(world, login, extension):
    campaign = publish_small(world, 4)
    client = login("county_officer")
    response = client.get(f"/campaigns/{campaign.id}/ballots.{extension}")
    assert response.status_code == 403
    assert "为保护投票秘密" in response.get_data(as_text=True)
    assert "导出匿名选票" not in client.get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)


# --- Coverage, batch ranking and the review PDF ----------------------------------------------------

def test_the_coverage_page_shows_no_grade_of_a_small_group(app, world, login, monkeypatch):
    # Make union A (sector "other", six members) one that must be evaluated.
    monkeypatch.setitem(app.config, "COVERAGE_RULES", {"kinds": [], "sectors": ["other"], "min_members": 1})
    campaign = publish_small(world, 2)
    page = login("county_officer").get(f"/coverage?union={world.county.id}&show=covered").get_data(as_text=True)
    assert campaign.title in page and world.union_a.name in page
    assert leaked_figures(campaign)["grade"] not in page
    assert "不公布" in page


#: Four unions' published surveys under the town; 北方公司工会 has two voters (see test_batch_ranking).
batch_results = test_batch_ranking.batch_results


def test_the_batch_ranking_page_leaves_a_small_group_out(world, login, batch_results):
    batch = test_batch_ranking.batch_of(world, batch_results.values())
    north = batch_results["北方公司工会"]
    page = login("county_officer").get(f"/batches/{batch.id}").get_data(as_text=True)
    ranking = page[page.index("评议结果排名"):page.index("<h2>评议活动</h2>")]
    assert f"/campaigns/{north.id}/result" not in ranking
    assert f"{north.result.ballot_score_mean:.1f}" not in ranking
    assert "未参加排名：北方公司工会" in ranking and "参评少于 5 人" in ranking


def test_the_review_pdf_shows_no_score_or_grade_of_a_small_group(world, login, batch_results, tmp_path):
    from tests.test_batch_ranking import UNIONS
    from tests.test_review_reports import download, request_review

    client = login("county_officer")
    text = download(client, request_review(client, world.town), tmp_path)
    north = batch_results["北方公司工会"]
    # The ranking row's first line (long names wrap inside their cells; the union appears again in the
    # integrity section further down).
    north_line = next(line for line in text.splitlines() if "北方公司工" in line and "名次" not in line)
    assert f"{north.result.overall_score:.1f}" not in north_line
    assert f"{north.result.ballot_score_mean:.1f}" not in north_line
    assert north.result.grade not in north_line and "不公布" in north_line
    # The grade totals count only the results that show their grade.
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if "无效（未达法定人数）" in line and "优秀" in line)
    counts = next(line for line in lines[header + 1:] if line.strip()).split()
    shown = Counter(c.result.grade for name, c in batch_results.items() if len(UNIONS[name]) >= 5)
    assert [int(n) for n in counts[4:8]] == [shown[g] for g in ("优秀", "良好", "合格", "不合格")]


# --- Comparisons with a previous campaign -----------------------------------------------------------

def test_a_later_campaign_shows_no_change_against_a_small_earlier_one(world, login):
    form = small_form(world)
    earlier = publish_small(world, 2, form=form)
    later = make_campaign(world, "published", form=form, votes=[[1, 1, 1]] * 5)
    assert earlier.published_at <= later.published_at
    page = login("m1").get(f"/campaigns/{later.id}/result").get_data(as_text=True)
    assert "与上次评议比较" not in page
    assert later.result.comparison is None


def test_a_small_later_campaign_shows_no_change_against_an_earlier_one(world, login):
    form = small_form(world)
    earlier = make_campaign(world, "published", form=form, votes=[[1, 1, 1]] * 5)
    later = publish_small(world, 3, form=form)
    for username in ("m1", "county_officer"):
        page = login(username).get(f"/campaigns/{later.id}/result").get_data(as_text=True)
        assert "与上次评议比较" not in page
        assert f"{earlier.result.overall_score:.1f}" not in page
        assert REASON in page
    assert later.result.comparison is None


# --- Rectification items and notifications -----------------------------------------------------------

@pytest.mark.parametrize("voters", [1, 4])
def test_no_rule_opens_a_rectification_item_from_a_small_group(world, voters):
    from evalapp.core.timeutil import local_today
    from evalapp.coverage.operations import yearly_figures

    campaign = publish_small(world, voters)
    assert db.session.scalars(select(Rectification).where(Rectification.campaign_id == campaign.id)).all() == []
    total, _children = yearly_figures(world.county, local_today().year)
    assert total.rectifications == 0


def test_an_officer_still_opens_an_item_from_a_suggestion_of_a_small_group(world, login):
    campaign = publish_small(world, 2)
    suggestion = suggestion_ops.add_suggestion(campaign, world.members[0], "职工书屋太小")
    item = suggestion_ops.flag(suggestion, world.county_officer, "扩建职工书屋")
    db.session.commit()
    assert [r.id for r in campaign.rectifications] == [item.id]
    page = login("m1").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "扩建职工书屋" in page and REASON in page


def test_no_notice_tells_anything_derived_from_a_small_group(world, login):
    campaign = publish_small(world, 1)
    notices = db.session.scalars(select(Notification)).all()
    for notice in notices:
        assert "满意率" not in notice.text and campaign.questionnaire.items[0].prompt not in notice.text
    inbox = login("chair").get("/inbox").get_data(as_text=True)
    assert "新的整改事项" not in inbox and "满意率" not in inbox


# --- Breakdowns: one item answered by too few ------------------------------------------------------

def test_an_item_answered_by_too_few_shows_no_figure_and_opens_no_item(world, login):
    """Five vote, but only two answer an optional fourth question (both 不满意): its figures would be theirs."""
    form = make_questionnaire(world.city)
    add_item(form, ItemKind.satisfaction3, "第4题（选答）", required=False)
    campaign = make_campaign(world, "open", form=form)
    items = campaign.questionnaire.items
    for number, member in enumerate(world.members):
        choices = {item.id: item.options[0].id for item in items[:3]}
        if number < 2:
            choices[items[3].id] = items[3].options[2].id
        cast_ballot(campaign, member, choices)
    close_and_publish(world, campaign)
    row = campaign.result.items[3]
    assert row.answered == 2 and row.rate is not None  # computed and kept, never shown

    page = login("county_officer").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    fourth = page[page.index("第4题（选答）"):]
    fourth = fourth[:fourth.index("</div>")]
    assert "本题作答人数不足 5 人" in fourth
    assert f"不满意 {row.answered}" not in fourth and f"{row.answered} 人作答" not in fourth
    assert "满意 5" in page  # the other items are shown as usual
    # The overall score is that of the shown items alone: it cannot be undone into the fourth item's.
    shown = [(r.normalised_score, float(r.item.weight)) for r in campaign.result.items[:3]]
    overall = sum(score * weight for score, weight in shown) / sum(weight for _score, weight in shown)
    assert f"<dd>{overall:.1f}</dd>" in page
    assert [r.item.prompt for r in campaign.rectifications] == []
    _facts, rows = read_tally(login("county_officer").get(f"/campaigns/{campaign.id}/tally.csv").get_data(as_text=True))
    assert rows and all("第4题" not in cell for line in rows for cell in line)


# --- The threshold, per installation ------------------------------------------------------------------

def test_an_installation_may_raise_the_threshold_but_never_lower_it(app, world, login, monkeypatch):
    monkeypatch.setitem(app.config, "MIN_GROUP_SIZE", 2)
    form = small_form(world)
    small = publish_small(world, 4, form=form)
    page = login("m1").get(f"/campaigns/{small.id}/result").get_data(as_text=True)
    assert REASON in page
    assert_nothing_leaks(page, small)

    monkeypatch.setitem(app.config, "MIN_GROUP_SIZE", 6)
    five = make_campaign(world, "published", form=form, votes=[BALLOT] * 5)
    page = login("m1").get(f"/campaigns/{five.id}/result").get_data(as_text=True)
    assert "参评人数不足 6 人，为保护投票秘密，不公布任何统计结果" in page
    assert_nothing_leaks(page, five)
    assert five.rectifications == []


def test_the_threshold_is_read_from_the_environment():
    from evalapp.core.config import from_environment

    assert from_environment({"MIN_GROUP_SIZE": "10"}) == {"MIN_GROUP_SIZE": 10}
