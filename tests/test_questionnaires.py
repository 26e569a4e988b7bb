"""Questionnaire templates: creating them and their items, permissions, and the frozen copy."""
import re

import pytest
import sqlalchemy as sa

from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.questionnaires.models import Item, ItemKind, Questionnaire
from evalapp.questionnaires.operations import add_item
from tests.factories import make_campaign, make_questionnaire

RULES = {"quorum_ratio": "0.6667", "grade_excellent": "90", "grade_good": "80", "grade_pass": "60",
         "rectify_below_rate": "0.8"}


def _questionnaire_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Questionnaire))


def _create(client, owner, title="2026年主席测评表", **rules):
    data = {"owner_union_id": str(owner.id), "title": title, "description": "请如实评价。", **RULES, **rules}
    return client.post("/questionnaires/new", data=data)


def _created_id(response):
    assert response.status_code == 302
    return int(re.search(r"/questionnaires/(\d+)$", response.headers["Location"]).group(1))


def _add(client, questionnaire_id, prompt="坚持正确政治方向", kind="satisfaction3", dimension="德", weight="1"):
    return client.post(f"/questionnaires/{questionnaire_id}",
                       data={"prompt": prompt, "kind": kind, "dimension": dimension, "weight": weight, "required": "y"})


def _items(questionnaire_id):
    return list(db.session.scalars(sa.select(Item).where(Item.questionnaire_id == questionnaire_id)
                                   .order_by(Item.position)))


def _shape(questionnaire):
    """Everything a voter sees of a questionnaire, as plain values."""
    return [(item.position, item.kind, item.prompt, item.dimension, float(item.weight),
             [(o.position, o.label, float(o.score), o.counts_satisfied) for o in item.options])
            for item in questionnaire.items]


def test_officer_creates_a_template_and_adds_a_satisfaction_item(world, login):
    client = login("county_officer")
    form = client.get("/questionnaires/new")
    assert form.status_code == 200
    assert "新会区总工会" in form.get_data(as_text=True)

    questionnaire_id = _created_id(_create(client, world.county))
    questionnaire = db.session.get(Questionnaire, questionnaire_id)
    assert questionnaire.title == "2026年主席测评表"
    assert questionnaire.owner_union_id == world.county.id
    assert not questionnaire.is_snapshot

    response = _add(client, questionnaire_id, weight="2.5")
    assert response.status_code == 302
    [item] = _items(questionnaire_id)
    assert item.kind == ItemKind.satisfaction3
    assert item.prompt == "坚持正确政治方向" and item.dimension == "德" and float(item.weight) == 2.5
    assert [(o.label, float(o.score), o.counts_satisfied) for o in item.options] == [
        ("满意", 100, True), ("基本满意", 60, True), ("不满意", 0, False)]

    page = client.get(f"/questionnaires/{questionnaire_id}").get_data(as_text=True)
    assert "题目已添加。" in page
    assert "满意（100✓）、基本满意（60✓）、不满意（0）" in page

    listing = client.get("/questionnaires/").get_data(as_text=True)
    assert "2026年主席测评表" in listing


def test_scale_items_default_to_five_scored_options(world, login):
    client = login("county_officer")
    questionnaire_id = _created_id(_create(client, world.county))
    assert _add(client, questionnaire_id, prompt="总体评分", kind="scale", dimension="").status_code == 302
    [item] = _items(questionnaire_id)
    assert item.dimension is None
    assert [(o.label, float(o.score), o.counts_satisfied) for o in item.options] == [
        ("5分", 5, True), ("4分", 4, True), ("3分", 3, False), ("2分", 2, False), ("1分", 1, False)]


def test_items_are_numbered_in_the_order_added(world, login):
    client = login("county_officer")
    questionnaire_id = _created_id(_create(client, world.county))
    for prompt in ("甲", "乙", "丙"):
        assert _add(client, questionnaire_id, prompt=prompt).status_code == 302
    assert [(i.position, i.prompt) for i in _items(questionnaire_id)] == [(1, "甲"), (2, "乙"), (3, "丙")]


@pytest.mark.parametrize("weight", ["0", "1000", "-1", "abc", ""])
def test_bad_weight_is_refused_and_adds_no_item(world, login, weight):
    client = login("county_officer")
    questionnaire_id = _created_id(_create(client, world.county))
    response = _add(client, questionnaire_id, weight=weight)
    assert response.status_code == 400
    assert "权重" in response.get_data(as_text=True)
    assert _items(questionnaire_id) == []


def test_item_needs_a_prompt_and_a_known_dimension(world, login):
    client = login("county_officer")
    questionnaire_id = _created_id(_create(client, world.county))
    assert _add(client, questionnaire_id, prompt="  ").status_code == 400
    assert _add(client, questionnaire_id, dimension="美").status_code == 400
    assert _add(client, questionnaire_id, kind="freetext").status_code == 400
    assert _items(questionnaire_id) == []


@pytest.mark.parametrize("rules", [
    {"grade_excellent": "70", "grade_good": "80"},
    {"grade_good": "50", "grade_pass": "60"},
    {"grade_excellent": "101"},
    {"quorum_ratio": "0"},
    {"quorum_ratio": "1.5"},
    {"rectify_below_rate": "2"},
])
def test_bad_rules_are_refused_and_create_nothing(world, login, rules):
    client = login("county_officer")
    before = _questionnaire_count()
    response = _create(client, world.county, **rules)
    assert response.status_code == 400
    assert _questionnaire_count() == before


def test_excellent_below_good_is_refused_with_a_message(world, login):
    before = _questionnaire_count()
    response = _create(login("county_officer"), world.county, grade_excellent="70", grade_good="80")
    assert response.status_code == 400
    assert "等次分数线须满足 100 ≥ 优秀 ≥ 良好 ≥ 合格 ≥ 0。" in response.get_data(as_text=True)
    assert _questionnaire_count() == before


def test_officer_cannot_create_a_template_for_a_union_outside_their_subtree(world, login):
    before = _questionnaire_count()
    response = _create(login("county_officer"), world.other_county)
    assert response.status_code == 400
    assert _questionnaire_count() == before


def test_members_cannot_reach_the_questionnaire_pages(world, login):
    client = login("m1")
    assert client.get("/questionnaires/").status_code == 404
    assert client.get("/questionnaires/new").status_code == 404
    assert client.get(f"/questionnaires/{world.form.id}").status_code == 404


def test_other_officer_gets_404_on_the_template(world, login):
    questionnaire_id = _created_id(_create(login("county_officer"), world.county))
    assert _add(login("county_officer"), questionnaire_id).status_code == 302
    [item] = _items(questionnaire_id)

    client = login("other_officer")
    assert client.get(f"/questionnaires/{questionnaire_id}").status_code == 404
    assert _add(client, questionnaire_id, prompt="外人的题目").status_code == 404
    assert client.post(f"/questionnaires/{questionnaire_id}/items/{item.id}/delete").status_code == 404
    assert [i.prompt for i in _items(questionnaire_id)] == ["坚持正确政治方向"]
    assert "2026年主席测评表" not in client.get("/questionnaires/").get_data(as_text=True)


def test_county_officer_cannot_edit_the_city_template(world, login):
    client = login("county_officer")
    assert client.get(f"/questionnaires/{world.form.id}").status_code == 404
    assert _add(client, world.form.id).status_code == 404
    assert len(_items(world.form.id)) == 3


def test_deleting_an_item_renumbers_the_rest(world, login):
    client = login("city_officer")
    first, second, third = _items(world.form.id)
    response = client.post(f"/questionnaires/{world.form.id}/items/{first.id}/delete")
    assert response.status_code == 302
    assert [(i.position, i.prompt) for i in _items(world.form.id)] == [(1, "第2题"), (2, "第3题")]
    assert _add(client, world.form.id, prompt="第4题").status_code == 302
    assert [(i.position, i.prompt) for i in _items(world.form.id)] == [(1, "第2题"), (2, "第3题"), (3, "第4题")]


def test_deleting_an_item_of_another_template_is_404(world, login):
    other = make_questionnaire(world.city)
    db.session.commit()
    foreign_item = other.items[0]
    response = login("city_officer").post(f"/questionnaires/{world.form.id}/items/{foreign_item.id}/delete")
    assert response.status_code == 404
    assert len(_items(other.id)) == 3


def test_frozen_copy_is_not_editable(world, login):
    campaign = make_campaign(world, "open")
    snapshot = campaign.questionnaire
    assert snapshot is not None and snapshot.is_snapshot and snapshot.id != world.form.id
    before = _shape(snapshot)

    client = login("city_officer")
    assert client.get(f"/questionnaires/{snapshot.id}").status_code == 404
    assert _add(client, snapshot.id).status_code == 404
    assert client.post(f"/questionnaires/{snapshot.id}/items/{snapshot.items[0].id}/delete").status_code == 404
    with pytest.raises(Refused):
        add_item(snapshot, ItemKind.satisfaction3, "偷加的题目")
    db.session.rollback()

    db.session.expire_all()
    assert _shape(campaign.questionnaire) == before
    listing = client.get("/questionnaires/").get_data(as_text=True)
    assert f'href="/questionnaires/{world.form.id}"' in listing
    assert f'href="/questionnaires/{snapshot.id}"' not in listing


def test_editing_the_template_leaves_the_open_campaign_unchanged(world, login):
    campaign = make_campaign(world, "open")
    before = _shape(campaign.questionnaire)
    assert before == _shape(world.form)

    client = login("city_officer")
    first = world.form.items[0]
    assert client.post(f"/questionnaires/{world.form.id}/items/{first.id}/delete").status_code == 302
    assert _add(client, world.form.id, prompt="新增的题目", weight="7").status_code == 302

    db.session.expire_all()
    assert [i.prompt for i in world.form.items] == ["第2题", "第3题", "新增的题目"]
    assert _shape(campaign.questionnaire) == before
    assert [i.prompt for i in campaign.active_questionnaire.items] == ["第1题", "第2题", "第3题"]


def test_draft_campaign_uses_the_current_template_until_voting_opens(world, login):
    campaign = make_campaign(world, "draft")
    assert campaign.questionnaire is None
    assert _add(login("city_officer"), world.form.id, prompt="新增的题目").status_code == 302
    db.session.expire_all()
    assert [i.prompt for i in campaign.active_questionnaire.items] == ["第1题", "第2题", "第3题", "新增的题目"]


def test_a_template_emptied_after_campaign_creation_does_not_open_a_vote_without_questions(world, login):
    campaign = make_campaign(world, "reporting")
    client = login("city_officer")
    for item in list(world.form.items):
        assert client.post(f"/questionnaires/{world.form.id}/items/{item.id}/delete").status_code == 302
    assert _items(world.form.id) == []

    client.post(f"/campaigns/{campaign.id}/actions/open")
    db.session.expire_all()
    assert campaign.state.value == "reporting", "voting opened on a questionnaire with no questions"
    assert campaign.questionnaire is None
    assert login("m1").get(f"/campaigns/{campaign.id}/vote").status_code != 200


def test_guessed_huge_questionnaire_id_is_404_not_a_server_error(world, login):
    assert login("city_officer").get("/questionnaires/100000000000000000000").status_code == 404
