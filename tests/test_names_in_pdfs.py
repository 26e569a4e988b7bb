"""Names and titles are one line of text: forms and imports refuse control characters, PDFs escape them.

The attack: an officer names a union (or has it named by an import) with a line break followed by
CSS; the name lands in the PDF's stylesheet as a running header and hides the grade. The names
below are written straight into the database, as old data or another way in would, so the PDFs
must hold on their own.
"""
import pytest
from sqlalchemy import func, select

from evalapp.campaigns.models import Campaign
from evalapp.core.db import db
from evalapp.core.text import css_string
from evalapp.questionnaires.models import Item, Questionnaire
from evalapp.unions.models import Member, Union
from tests.builders import compact, pdf_text
from tests.factories import make_campaign
from tests.test_result_pdf import VOTES
from tests.test_review_reports import download, request_review

PAYLOADS = ['"\n} .grade { display:none } x {', "\n}} .grade { display:none } x {",
            "'\r}} .cover .grade, td { display:none } x {", "\\\n}}</style><style>.grade{display:none}</style>",
            "\f}} body { display:none } x {"]


def result_pdf_text(client, campaign, tmp_path):
    response = client.get(f"/campaigns/{campaign.id}/result.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "result.pdf"
    path.write_bytes(response.data)
    return compact(pdf_text(path))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_union_name_with_css_in_it_does_not_hide_the_grade_in_the_result_pdf(world, login, tmp_path, payload):
    campaign = make_campaign(world, "published", votes=VOTES)
    world.union_a.name = "甲公司工会" + payload
    campaign.title = "2026年度述职评议" + payload
    db.session.commit()

    text = result_pdf_text(login("county_officer"), campaign, tmp_path)

    assert text.count("评议等次合格") == 2  # on the cover and in the overview
    assert "综合得分68.0" in text
    assert "第2页/共" in text  # the running footer survived too


@pytest.mark.parametrize("payload", PAYLOADS[:2])
def test_the_review_pdf_of_a_union_with_css_in_its_name_still_shows_the_grades(world, login, tmp_path, payload):
    make_campaign(world, "published", votes=VOTES)
    world.county.name = "新会区总工会" + payload
    db.session.commit()
    client = login("county_officer")

    text = compact(download(client, request_review(client, world.county), tmp_path))

    assert "合格" in text and "68.0" in text


def test_css_string_escapes_everything_that_could_end_the_string():
    assert css_string("甲公司工会") == '"甲公司工会"'
    escaped = css_string('a"b\'c\\d\ne</style>&\x00\u2028')
    assert escaped == '"a\\22 b\\27 c\\5c d\\a e\\3c /style\\3e \\26 \\fffd \\2028 "'
    assert css_string(None) == '""'


NAMES = ["甲公司\n工会", "甲公司\t工会", "甲公司\r工会", "甲公司工会\u202e", "甲公司\u2028工会", "甲公司\x85工会"]


@pytest.mark.parametrize("name", NAMES)
def test_a_new_union_refuses_control_characters(world, login, name):
    response = login("county_officer").post(f"/unions/{world.town.id}/children",
                                            data={"name": name, "kind": "grassroots", "sector": "other"})
    assert response.status_code == 400
    assert "不能包含换行、制表符等控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Union).where(Union.name.like("甲公司%工会_"))) == 0


@pytest.mark.parametrize("field", ["title", "subject_name"])
def test_a_new_campaign_refuses_control_characters(world, login, field):
    data = {"title": "新的评议", "subject_kind": "organisation", "subject_name": "江门市人社局",
            "electorate_scope": "union", "template_id": str(world.form.id)}
    data[field] += "\n} .grade { display:none } x {"
    response = login("county_officer").post(f"/unions/{world.union_a.id}/campaigns/new", data=data)
    assert response.status_code == 400
    assert "不能包含换行、制表符等控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


@pytest.mark.parametrize("field", ["title", "title_pattern"])
def test_a_new_batch_refuses_control_characters(world, login, field):
    data = {"title": "批次", "rule": "picked", "union_ids": str(world.union_a.id), "subject_kind": "none",
            "electorate_scope": "union", "template_id": str(world.form.id), "title_pattern": "{工会}职工问卷"}
    data[field] += "\n}"
    response = login("county_officer").post(f"/unions/{world.town.id}/batches/new", data=data)
    assert response.status_code == 400
    assert "不能包含换行、制表符等控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


RULES_FORM = {"title": "县级测评表", "quorum_ratio": "2/3", "grade_excellent": "90", "grade_good": "80",
              "grade_pass": "60", "rectify_below_rate": "0.8"}


def test_questionnaire_titles_refuse_control_characters(world, login):
    client = login("county_officer")
    response = client.post("/questionnaires/new", data=RULES_FORM | {"title": "测评表\n}",
                                                                   "owner_union_id": str(world.county.id)})
    assert response.status_code == 400 and "不能包含换行、制表符等控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Questionnaire)) == 1  # the world's own

    response = client.post(f"/questionnaires/{world.form.id}/rules", data=RULES_FORM | {"title": "测评表\u202e"})
    assert response.status_code in (400, 404)
    assert db.session.get(Questionnaire, world.form.id).title == "测评表"


def test_item_prompts_and_options_refuse_control_characters(world, login):
    from evalapp.questionnaires.operations import create_questionnaire

    form = create_questionnaire(world.county, "县级测评表")
    db.session.commit()
    client = login("county_officer")
    base = {"kind": "satisfaction3", "prompt": "新增的题目", "weight": "1", "required": "y"}
    response = client.post(f"/questionnaires/{form.id}", data=base | {"prompt": "题目\n} x {"})
    assert response.status_code == 400 and "不能包含换行、制表符等控制字符" in response.get_data(as_text=True)
    response = client.post(f"/questionnaires/{form.id}", data=base | {
        "kind": "single", "options-0-text": "是\t", "options-1-text": "否"})
    assert response.status_code == 400 and "不能包含换行、制表符等控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Item).where(Item.questionnaire_id == form.id)) == 0


def test_a_member_name_refuses_control_characters(world, login):
    response = login("county_officer").post(f"/unions/{world.union_a.id}/members", data={"name": "张三\n李四"})
    assert response.status_code == 400 and "不能包含换行、制表符等控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Member).where(Member.name.like("张三%"))) == 0


def test_operations_refuse_control_characters_whoever_calls_them(world):
    """The command line, imports and the demo call the operations directly, without a form."""
    from evalapp.campaigns.models import SubjectKind
    from evalapp.campaigns.operations import create_campaign
    from evalapp.core.errors import Refused
    from evalapp.questionnaires.models import ItemKind
    from evalapp.questionnaires.operations import add_item, create_questionnaire, update_rules
    from evalapp.unions.models import UnionKind
    from evalapp.unions.operations import add_member, create_union

    attempts = [
        lambda: create_union("乙\n工会", UnionKind.grassroots, world.town),
        lambda: add_member(world.union_a, "王\x0b五"),
        lambda: create_questionnaire(world.county, "测评\r表"),
        lambda: update_rules(world.form, world.city_officer, "测评\n表"),
        lambda: add_item(world.form, ItemKind.satisfaction3, "题\u2029目"),
        lambda: add_item(world.form, ItemKind.single, "题目", options=[("是\n了", 1, True), ("否", 0, False)]),
        lambda: create_campaign(world.county_officer, world.union_a, world.form, "评\n议", SubjectKind.chair),
        lambda: create_campaign(world.county_officer, world.union_a, world.form, "评议", SubjectKind.organisation,
                                subject_name="人社\n局"),
    ]
    for attempt in attempts:
        with pytest.raises(Refused, match="不能包含换行、制表符等控制字符"):
            attempt()
        db.session.rollback()


def test_a_roster_import_refuses_member_names_with_control_characters(world, app, tmp_path):
    from tests.builders import csv_file, make_id

    path = tmp_path / "roster.csv"
    path.write_bytes(csv_file([["张\t三", "13800138000", make_id(1), "甲公司工会"],
                               ["李四", "13800138001", make_id(2), "甲公司工会"]]))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rosters", "import", str(path), "--union", str(world.county.id),
                                                "--apply", "--skip-errors"])
    assert result.exit_code == 0, result.output
    assert "row 2, 姓名: 姓名不能包含换行、制表符等控制字符" in result.output
    names = db.session.scalars(select(Member.name)).all()
    assert "李四" in names and not any("\t" in name for name in names)
