"""The questionnaire builder's item kinds: n-point scales, single and multiple choice, free text,
optional items, ordering and copying, and how each kind is voted, tallied, exported and digested.

The mixed questionnaire used below (built by `mixed_form`):
  1. 三级满意度 【德】 weight 1: 满意 100 ✓, 基本满意 60 ✓, 不满意 0
  2. 7-point scale 【能】 weight 1: 7分..1分; ceil(0.7 * 7) = 5, so 7, 6 and 5 count as satisfied
  3. 单选 (scored) 【能】 weight 2: 很好 10 ✓, 一般 5, 较差 0
  4. 多选 (unscored, at most 2): 职工食堂, 文体活动, 技能培训, 法律援助
  5. 填空 (optional, unscored)
"""
import csv
import hashlib
import io
import re

import pytest
import sqlalchemy as sa

from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.questionnaires.models import ItemKind, Questionnaire
from evalapp.questionnaires.operations import add_item, create_questionnaire
from evalapp.results.exports import ballots_csv, digest_of_export
from evalapp.results.operations import ballot_digest, ballot_digest_in_python
from evalapp.voting.models import Answer, Ballot, Participation, TextAnswer
from evalapp.voting.operations import cast_ballot
from tests.factories import close_and_publish, make_campaign

WISHES = ["职工食堂", "文体活动", "技能培训", "法律援助"]


def mixed_form(owner):
    form = create_questionnaire(owner, "综合测评表")
    add_item(form, ItemKind.satisfaction3, "政治立场", "德", 1)
    add_item(form, ItemKind.scale, "履职能力", "能", 1, points=7)
    add_item(form, ItemKind.single, "服务态度", "能", 2, options=[("很好", 10, True), ("一般", 5, False), ("较差", 0, False)])
    add_item(form, ItemKind.multiple, "最希望加强哪些工作", options=[(world, None, False) for world in WISHES], max_choices=2)
    add_item(form, ItemKind.text, "其他意见", required=False)
    db.session.commit()
    return form


def answers_for(campaign, satisfaction, scale, single, wishes, text=None):
    """Build cast_ballot choices from option labels."""
    items = campaign.questionnaire.items

    def option(item, label):
        return next(o.id for o in item.options if o.label == label)

    return {items[0].id: option(items[0], satisfaction), items[1].id: option(items[1], scale),
            items[2].id: option(items[2], single), items[3].id: [option(items[3], world) for world in wishes],
            items[4].id: text}


@pytest.fixture
def mixed(world):
    form = mixed_form(world.city)
    return make_campaign(world, "open", form=form)


def _ballot_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Ballot))


# --- building ------------------------------------------------------------------------------------

def _post_item(client, questionnaire_id, **fields):
    data = {"prompt": "题目", "kind": "single", "dimension": "", "weight": "1", "required": "y", "points": "5"}
    data.update(fields)
    return client.post(f"/questionnaires/{questionnaire_id}", data=data)


def _rows(*options):
    """Option rows as the builder posts them: (text, score, satisfied)."""
    data = {}
    for index, (text, score, satisfied) in enumerate(options):
        data[f"options-{index}-text"] = text
        data[f"options-{index}-score"] = score
        if satisfied:
            data[f"options-{index}-satisfied"] = "y"
    return data


def test_the_builder_adds_every_kind_with_its_options(world, login):
    client = login("county_officer")
    form = create_questionnaire(world.county, "预算需求调查")
    db.session.commit()

    assert _post_item(client, form.id, prompt="七分制评分", kind="scale", points="7").status_code == 302
    assert _post_item(client, form.id, prompt="是否支持", kind="single",
                      **_rows(("支持", "", False), ("不支持", "", False))).status_code == 302
    assert _post_item(client, form.id, prompt="服务评价", kind="single", dimension="勤", weight="3",
                      **_rows(("好", "2", True), ("差", "0", False))).status_code == 302
    assert _post_item(client, form.id, prompt="需要哪些服务", kind="multiple", max_choices="2",
                      **_rows(*[(world, "", False) for world in WISHES])).status_code == 302
    assert _post_item(client, form.id, prompt="还有什么建议", kind="text", required="").status_code == 302

    db.session.expire_all()
    items = db.session.get(Questionnaire, form.id).items
    assert [i.kind for i in items] == [ItemKind.scale, ItemKind.single, ItemKind.single, ItemKind.multiple, ItemKind.text]
    scale, unscored, scored, multiple, text = items
    assert [(o.label, float(o.score), o.counts_satisfied) for o in scale.options] == [
        ("7分", 7, True), ("6分", 6, True), ("5分", 5, True), ("4分", 4, False), ("3分", 3, False),
        ("2分", 2, False), ("1分", 1, False)]
    assert not unscored.scored and [o.label for o in unscored.options] == ["支持", "不支持"]
    assert scored.scored and scored.dimension == "勤" and float(scored.weight) == 3
    assert [(o.label, float(o.score), o.counts_satisfied) for o in scored.options] == [("好", 2, True), ("差", 0, False)]
    assert not multiple.scored and multiple.max_choices == 2 and len(multiple.options) == 4
    assert not text.required and not text.options and not text.scored

    page = client.get(f"/questionnaires/{form.id}").get_data(as_text=True)
    assert "多选题" in page and "最多选 2 项" in page and "选填" in page and "不计分" in page


@pytest.mark.parametrize("fields, message", [
    ({"kind": "single", **_rows(("只有一个", "", False))}, "至少需要两个选项"),
    ({"kind": "multiple"}, "单选题和多选题至少需要两个选项"),
    ({"kind": "single", **_rows(("甲", "1", False), ("甲", "2", False))}, "选项文字不能重复"),
    ({"kind": "single", **_rows(("甲", "1", False), ("乙", "", False))}, "分值须全部填写"),
    ({"kind": "single", **_rows(("甲", "abc", False), ("乙", "1", False))}, "分值须为数字"),
    ({"kind": "single", **_rows(("甲", "1e9", False), ("乙", "1", False))}, "-1000 到 1000"),
    ({"kind": "single", **_rows(("甲", "NaN", False), ("乙", "1", False))}, "-1000 到 1000"),
    ({"kind": "scale", "points": "11"}, "须在 2 到 10 之间"),
    ({"kind": "multiple", "max_choices": "3", **_rows(("甲", "", False), ("乙", "", False))}, "最多可选项数须在 1 到 2 之间"),
    ({"kind": "bogus"}, "不是有效"),
])
def test_bad_items_are_refused_with_a_message_and_nothing_is_added(world, login, fields, message):
    client = login("county_officer")
    form = create_questionnaire(world.county, "测评表")
    db.session.commit()
    response = _post_item(client, form.id, **fields)
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Questionnaire, form.id).items == []


def test_items_are_edited_reordered_and_the_change_never_reaches_a_running_campaign(world, login):
    client = login("city_officer")
    form = mixed_form(world.city)
    campaign = make_campaign(world, "open", form=form)
    single = form.items[2]

    response = client.post(f"/questionnaires/{form.id}/items/{single.id}", data={
        "prompt": "服务态度（修改后）", "kind": "single", "dimension": "勤", "weight": "1", "required": "y", "points": "5",
        **_rows(("满意", "1", True), ("不满意", "0", False))})
    assert response.status_code == 302
    assert client.post(f"/questionnaires/{form.id}/items/{single.id}/move/up").status_code == 302

    db.session.expire_all()
    template = db.session.get(Questionnaire, form.id)
    assert [i.prompt for i in template.items][:3] == ["政治立场", "服务态度（修改后）", "履职能力"]
    assert [o.label for o in template.items[1].options] == ["满意", "不满意"]
    frozen = campaign.questionnaire
    assert [i.prompt for i in frozen.items][:3] == ["政治立场", "履职能力", "服务态度"]
    assert [o.label for o in frozen.items[2].options] == ["很好", "一般", "较差"]
    # Moving the first item further up changes nothing.
    first = template.items[0]
    assert client.post(f"/questionnaires/{form.id}/items/{first.id}/move/up").status_code == 302
    db.session.expire_all()
    assert db.session.get(Questionnaire, form.id).items[0].id == first.id


def test_the_edit_page_shows_the_current_options(world, login):
    client = login("city_officer")
    form = mixed_form(world.city)
    page = client.get(f"/questionnaires/{form.id}/items/{form.items[2].id}").get_data(as_text=True)
    assert 'value="很好"' in page and 'value="10"' in page and 'value="较差"' in page


def test_a_frozen_copy_keeps_every_new_property(world):
    form = mixed_form(world.city)
    campaign = make_campaign(world, "open", form=form)
    frozen = campaign.questionnaire
    assert frozen.is_snapshot and frozen.id != form.id

    def shape(q):
        return [(i.kind, i.prompt, i.required, i.scored, i.max_choices, i.dimension,
                 [(o.label, o.score, o.counts_satisfied) for o in i.options]) for i in q.items]

    assert shape(frozen) == shape(form)


def test_rules_are_edited_on_their_page(world, login):
    client = login("city_officer")
    response = client.post(f"/questionnaires/{world.form.id}/rules", data={
        "title": "新名称", "description": "", "quorum_ratio": "80%", "grade_excellent": "95", "grade_good": "85",
        "grade_pass": "70", "rectify_below_rate": "0.7"})
    assert response.status_code == 302
    db.session.expire_all()
    form = db.session.get(Questionnaire, world.form.id)
    assert (form.title, form.quorum_ratio, float(form.grade_excellent), float(form.rectify_below_rate)) == \
        ("新名称", "4/5", 95, 0.7)
    bad = client.post(f"/questionnaires/{world.form.id}/rules", data={
        "title": "再改", "quorum_ratio": "80%", "grade_excellent": "50", "grade_good": "85", "grade_pass": "70",
        "rectify_below_rate": "0.7"})
    assert bad.status_code == 400 and "等次分数线" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Questionnaire, world.form.id).title == "新名称"


def test_a_county_officer_copies_the_city_template_and_edits_the_copy(world, login):
    client = login("county_officer")
    index = client.get("/questionnaires/").get_data(as_text=True)
    assert "上级工会提供的测评表" in index and "测评表" in index
    # The city's template itself is not editable by the county.
    assert client.get(f"/questionnaires/{world.form.id}").status_code == 404
    response = client.post(f"/questionnaires/{world.form.id}/copy")
    assert response.status_code == 302
    copy_id = int(re.search(r"/questionnaires/(\d+)$", response.headers["Location"]).group(1))
    copy = db.session.get(Questionnaire, copy_id)
    assert copy.owner_union_id == world.county.id and copy.title == "测评表（副本）"
    assert [i.prompt for i in copy.items] == [i.prompt for i in world.form.items]
    # An officer of another county cannot copy a template of the first county.
    other = login("other_officer")
    assert other.post(f"/questionnaires/{copy_id}/copy").status_code == 404


# --- voting ----------------------------------------------------------------------------------------

def test_the_vote_page_shows_checkboxes_and_a_text_box_and_accepts_them(world, login, mixed):
    client = login("m1")
    page = client.get(f"/campaigns/{mixed.id}/vote").get_data(as_text=True)
    items = mixed.questionnaire.items
    assert page.count(f'name="item_{items[3].id}" type="checkbox"') == 4
    assert '<textarea' in page and "（选填）" in page and "最多 2 项" in page
    data = {f"item_{items[0].id}": str(items[0].options[0].id), f"item_{items[1].id}": str(items[1].options[1].id),
            f"item_{items[2].id}": str(items[2].options[0].id),
            f"item_{items[3].id}": [str(items[3].options[0].id), str(items[3].options[2].id)],
            f"item_{items[4].id}": "  希望多组织培训  "}
    assert client.post(f"/campaigns/{mixed.id}/vote", data=data).status_code == 302
    ballot = db.session.scalar(sa.select(Ballot).where(Ballot.campaign_id == mixed.id))
    assert sorted((a.item_id, a.option_id) for a in ballot.answers) == sorted([
        (items[0].id, items[0].options[0].id), (items[1].id, items[1].options[1].id),
        (items[2].id, items[2].options[0].id), (items[3].id, items[3].options[0].id),
        (items[3].id, items[3].options[2].id)])
    texts = db.session.execute(sa.select(TextAnswer.item_id, TextAnswer.body).where(TextAnswer.campaign_id == mixed.id))
    assert texts.all() == [(items[4].id, "希望多组织培训")]


def test_an_optional_item_may_stay_empty_but_a_required_one_may_not(world, login, mixed):
    client = login("m1")
    items = mixed.questionnaire.items
    base = {f"item_{items[0].id}": str(items[0].options[0].id), f"item_{items[1].id}": str(items[1].options[0].id),
            f"item_{items[2].id}": str(items[2].options[0].id)}
    refused = client.post(f"/campaigns/{mixed.id}/vote", data=base)  # the multiple-choice item is required
    assert refused.status_code in (400, 422) and "请至少选择一项" in refused.get_data(as_text=True)
    assert _ballot_count() == 0
    accepted = client.post(f"/campaigns/{mixed.id}/vote", data={**base, f"item_{items[3].id}": str(items[3].options[1].id)})
    assert accepted.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TextAnswer)) == 0


def test_too_many_choices_are_refused_in_the_form_and_in_the_operation(world, login, mixed):
    client = login("m1")
    items = mixed.questionnaire.items
    data = {f"item_{items[0].id}": str(items[0].options[0].id), f"item_{items[1].id}": str(items[1].options[0].id),
            f"item_{items[2].id}": str(items[2].options[0].id),
            f"item_{items[3].id}": [str(o.id) for o in items[3].options[:3]]}
    response = client.post(f"/campaigns/{mixed.id}/vote", data=data)
    assert response.status_code in (400, 422) and "最多选择 2 项" in response.get_data(as_text=True)
    with pytest.raises(Refused, match="最多选择 2 项"):
        cast_ballot(mixed, world.members[0], answers_for(mixed, "满意", "7分", "很好", WISHES[:3]))
    db.session.rollback()
    assert _ballot_count() == 0 and db.session.scalar(sa.select(sa.func.count()).select_from(Participation)) == 0


@pytest.mark.parametrize("tamper", ["option_of_other_item", "list_for_single", "single_for_multiple", "duplicate",
                                    "too_long"])
def test_forged_answers_are_refused_and_nothing_is_written(world, mixed, tamper):
    choices = answers_for(mixed, "满意", "7分", "很好", WISHES[:1], "意见")
    items = mixed.questionnaire.items
    if tamper == "option_of_other_item":
        choices[items[3].id] = [items[0].options[0].id]
    elif tamper == "list_for_single":
        choices[items[0].id] = [items[0].options[0].id]
    elif tamper == "single_for_multiple":
        choices[items[3].id] = items[3].options[0].id
    elif tamper == "duplicate":
        choices[items[3].id] = [items[3].options[0].id, items[3].options[0].id]
    else:
        choices[items[4].id] = "长" * 1001
    with pytest.raises(Refused):
        cast_ballot(mixed, world.members[0], choices)
    db.session.rollback()
    assert _ballot_count() == 0


def test_a_text_answer_longer_than_the_limit_gets_a_message(world, login, mixed):
    client = login("m1")
    items = mixed.questionnaire.items
    data = {f"item_{items[0].id}": str(items[0].options[0].id), f"item_{items[1].id}": str(items[1].options[0].id),
            f"item_{items[2].id}": str(items[2].options[0].id), f"item_{items[3].id}": str(items[3].options[0].id),
            f"item_{items[4].id}": "长" * 1001}
    response = client.post(f"/campaigns/{mixed.id}/vote", data=data)
    assert response.status_code in (400, 422) and "不能超过 1000 字" in response.get_data(as_text=True)
    assert _ballot_count() == 0


# --- results ---------------------------------------------------------------------------------------

VOTES = [
    ("满意", "7分", "很好", ["职工食堂", "技能培训"], "=SUM(A1:A9) 食堂太挤"),
    ("满意", "5分", "一般", ["技能培训"], "'引号开头的意见"),
    ("基本满意", "6分", "很好", ["技能培训", "法律援助"], None),
    ("不满意", "3分", "较差", ["文体活动"], "希望多组织培训"),
    ("满意", "7分", "很好", ["职工食堂"], "希望多组织培训"),
]
# Item 1 (三级): 100, 100, 60, 0, 100 → 4/5 satisfied; mean 72 → normalised 72.0
# Item 2 (7分): 7, 5, 6, 3, 7 → 5 ≥ 5 satisfied: 4/5; mean 5.6 → 100 * (5.6 - 1) / 6 = 76.666…
# Item 3 (单选): 10, 5, 10, 0, 10 → 3/5 satisfied; mean 7 → 100 * 7 / 10 = 70.0
# Overall (weights 1, 1, 2): (72 + 76.666… + 140) / 4 = 72.1666…
# Dimensions: 德 72.0; 能 (76.666… * 1 + 70 * 2) / 3 = 72.222…
# Item 4 (多选, 5 answered): 食堂 2, 文体 1, 培训 3, 法律 1 → shares 40%, 20%, 60%, 20%
# Item 5 (填空): 4 answers


@pytest.fixture
def published(world):
    form = mixed_form(world.city)
    campaign = make_campaign(world, "open", form=form)
    for voter, vote in zip(world.members, VOTES):
        cast_ballot(campaign, voter, answers_for(campaign, *vote))
    db.session.commit()
    close_and_publish(world, campaign)
    return campaign


def test_the_result_counts_each_kind_correctly(published):
    rows = published.result.items
    assert [(r.answered, r.satisfied) for r in rows] == [(5, 4), (5, 4), (5, 3), (5, 0), (4, 0)]
    assert rows[0].normalised_score == pytest.approx(72.0)
    assert rows[1].normalised_score == pytest.approx(100 * 4.6 / 6)
    assert rows[2].normalised_score == pytest.approx(70.0)
    # All five of the electorate voted, so the t interval of each mean is the mean itself.
    assert (rows[1].mean_score, rows[1].mean_low, rows[1].mean_high) == (
        pytest.approx(5.6), pytest.approx(5.6), pytest.approx(5.6))
    assert rows[3].rate is None and rows[4].rate is None and rows[3].normalised_score is None
    wishes = {o.label: rows[3].option_counts.get(str(o.id), 0) for o in rows[3].item.options}
    assert wishes == {"职工食堂": 2, "文体活动": 1, "技能培训": 3, "法律援助": 1}
    assert published.result.overall_score == pytest.approx((72 + 100 * 4.6 / 6 + 140) / 4)


def test_the_result_page_shows_shares_dimensions_and_texts_only_to_those_who_run_it(world, login, published):
    officer_page = login("county_officer").get(f"/campaigns/{published.id}/result").get_data(as_text=True)
    assert "技能培训：3 人（60.0%）" in officer_page and "职工食堂：2 人（40.0%）" in officer_page
    assert "4 人填写" in officer_page and "希望多组织培训" in officer_page and "食堂太挤" in officer_page
    assert re.search(r"<dt>德</dt><dd>72\.0</dd>", officer_page)
    assert re.search(r"<dt>能</dt><dd>72\.2</dd>", officer_page)
    chair_page = login("chair").get(f"/campaigns/{published.id}/result").get_data(as_text=True)
    assert "希望多组织培训" in chair_page
    member_page = login("m2").get(f"/campaigns/{published.id}/result").get_data(as_text=True)
    assert "4 人填写" in member_page and "希望多组织培训" not in member_page and "食堂太挤" not in member_page


def test_the_digest_covers_text_answers_and_the_export_reproduces_it(published):
    export = ballots_csv(published)
    assert digest_of_export(export) == published.result.ballot_digest == ballot_digest(published)
    # On PostgreSQL the database builds and hashes the listing itself: it must agree with Python.
    assert ballot_digest_in_python(published) == published.result.ballot_digest
    rows = list(csv.DictReader(io.StringIO(export.lstrip("\ufeff"))))
    text_rows = [row for row in rows if row["item"] == "其他意见"]
    # Free text is listed after every ballot, sorted, with no ballot id: it cannot show how its writer voted.
    assert all(row["ballot_id"] == "" for row in text_rows)
    assert rows[-len(text_rows):] == text_rows
    # Formula-like text is quoted; a text that itself starts with a quote gets one more, so it reads back exactly.
    assert [row["option"] for row in text_rows] == ["''引号开头的意见", "'=SUM(A1:A9) 食堂太挤", "希望多组织培训",
                                                    "希望多组织培训"]  # in the order of the texts' own characters
    assert sum(1 for row in rows if row["item"] == "最希望加强哪些工作") == 7
    assert len({row["ballot_id"] for row in rows if row["ballot_id"]}) == 5

    # Changing one stored text changes the digest: text answers are covered, not just options.
    text = db.session.scalar(sa.select(TextAnswer).where(TextAnswer.body == "希望多组织培训").limit(1))
    db.session.execute(sa.update(TextAnswer).where(TextAnswer.id == text.id).values(body="改过的意见"))
    assert ballot_digest(published) != published.result.ballot_digest
    db.session.rollback()


def test_text_answers_carry_no_ballot_id(world, mixed):
    cast_ballot(mixed, world.members[0], answers_for(mixed, "满意", "7分", "很好", ["技能培训"], "我的意见"))
    db.session.commit()
    columns = {column.name for column in TextAnswer.__table__.columns}
    assert columns == {"id", "campaign_id", "item_id", "body"}
    ballot = db.session.scalar(sa.select(Ballot).where(Ballot.campaign_id == mixed.id))
    text = db.session.scalar(sa.select(TextAnswer).where(TextAnswer.campaign_id == mixed.id))
    assert text.id != ballot.id and text.body == "我的意见"


def test_the_digest_listing_format(world, mixed):
    cast_ballot(mixed, world.members[0], answers_for(mixed, "满意", "7分", "很好", ["技能培训", "职工食堂"], "好"))
    db.session.commit()
    ballot = db.session.scalar(sa.select(Ballot).where(Ballot.campaign_id == mixed.id))
    items = mixed.questionnaire.items
    options = sorted(db.session.execute(sa.select(Answer.item_id, Answer.option_id)
                                        .where(Answer.ballot_id == ballot.id)).all())
    listing = f"{ballot.id}:{','.join(f'{item}={option}' for item, option in options)}\n"
    listing += f"t:{items[4].id}={hashlib.sha256('好'.encode()).hexdigest()}\n"
    assert ballot_digest(mixed) == ballot_digest_in_python(mixed) == hashlib.sha256(listing.encode()).hexdigest()


def test_a_ballot_without_any_answer_still_counts_in_the_digest_and_the_export(world):
    form = create_questionnaire(world.city, "全部选填")
    add_item(form, ItemKind.satisfaction3, "甲", required=False)
    add_item(form, ItemKind.text, "意见", required=False)
    db.session.commit()
    campaign = make_campaign(world, "open", form=form)
    items = campaign.questionnaire.items
    for index, voter in enumerate(world.members):
        answer = {} if index == 0 else {items[0].id: items[0].options[0].id, items[1].id: "多行\r\n意见" if index == 1 else ""}
        cast_ballot(campaign, voter, answer)
    db.session.commit()
    before = ballot_digest(campaign)
    assert before == ballot_digest_in_python(campaign)
    empty = db.session.scalar(sa.select(Ballot.id).where(Ballot.campaign_id == campaign.id, ~Ballot.answers.any()))
    assert empty is not None
    close_and_publish(world, campaign)
    export = ballots_csv(campaign)
    assert f"{empty},,,," in export
    assert digest_of_export(export) == campaign.result.ballot_digest == before
    # Deleting the empty ballot changes the digest: every ballot is in it, answered or not.
    db.session.execute(sa.delete(Ballot).where(Ballot.id == empty))
    assert ballot_digest(campaign) != before and ballot_digest_in_python(campaign) != before
    db.session.rollback()


def test_verify_reads_multi_line_text_from_the_export_exactly(app, world, tmp_path):
    form = create_questionnaire(world.city, "意见表")
    add_item(form, ItemKind.satisfaction3, "甲")
    add_item(form, ItemKind.text, "意见", required=False)
    db.session.commit()
    campaign = make_campaign(world, "open", form=form)
    items = campaign.questionnaire.items
    for voter in world.members:
        cast_ballot(campaign, voter, {items[0].id: items[0].options[0].id, items[1].id: "第一行\r\n第二行"})
    close_and_publish(world, campaign)
    export = tmp_path / "ballots.csv"
    export.write_bytes(ballots_csv(campaign).encode("utf-8"))  # as the browser saves the download
    result = app.test_cli_runner().invoke(args=["results", "verify", str(campaign.id), "--export", str(export)])
    assert result.exit_code == 0 and result.output.count("matches") == 2


def test_the_result_pdf_lists_choice_shares_and_the_texts(world, login, published, tmp_path):
    from tests.builders import pdf_text

    response = login("county_officer").get(f"/campaigns/{published.id}/result.pdf")
    assert response.status_code == 200
    path = tmp_path / "result.pdf"
    path.write_bytes(response.data)
    text = pdf_text(path)
    assert "技能培训 3（60.0%）" in text
    assert "希望多组织培训" in text and "不计分" in text

