"""Batch campaigns: rules choose the right unions, the preview says who is skipped and why, confirming
creates one campaign per union exactly once, with the schedule, and bulk actions act where they fit."""
import json
import re
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from evalapp.campaigns.batches import BatchSpec, create_batch, select_unions
from evalapp.campaigns.models import BatchRule, Campaign, CampaignBatch, CampaignState, SubjectKind
from evalapp.campaigns.operations import run_schedule
from evalapp.core.audit import AuditEntry, verify_chain
from evalapp.core.db import db
from evalapp.core.timeutil import from_local, to_local, utcnow
from evalapp.unions.models import Member, UnionKind
from tests.factories import add_roster, make_account, make_campaign, make_questionnaire, make_union


def count(model, *conditions):
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


@pytest.fixture
def county_tree(world):
    """More unions under 新会区: towns with and without chairs, enterprises around the 100-member line."""
    world = world
    world.town2 = make_union(world.county, "大泽镇总工会", UnionKind.town, members=3, chair="dz_chair")
    world.town3 = make_union(world.county, "双水镇总工会", UnionKind.town)
    make_account("ss_chair", "双水镇主席", chair_of=world.town3)  # a chair, but nobody on the roster
    world.np100 = make_union(world.town, "百人公司工会", sector="non_public_enterprise", members=99, chair="c100")
    world.np99 = make_union(world.town, "九十九人公司工会", sector="non_public_enterprise", members=98, chair="c99")
    add_roster(world.np99, 5, active=False, prefix="离开的人")  # inactive members do not count
    world.np_nochair = make_union(world.town2, "无主席公司工会", sector="non_public_enterprise", members=120)
    world.soe = make_union(world.county, "新会国企工会", sector="state_owned_enterprise", members=150, chair="csoe")
    world.far_town = make_union(world.other_county, "台城街道总工会", UnionKind.town, members=4, chair="tc_chair")
    world.far_np = make_union(world.far_town, "台山百人公司工会", sector="non_public_enterprise", members=130, chair="cfar")
    db.session.commit()
    return world


def form_data(world, **overrides):
    data = {"title": "2026年度批量评议", "rule": "kind", "kind": "town", "sector": "non_public_enterprise",
            "min_members": "100", "subject_kind": "chair", "electorate_scope": "union",
            "template_id": str(world.form.id), "title_pattern": "2026年度{工会}主席述职评议",
            "opens_at": "", "closes_at": ""}
    data.update(overrides)
    return data


def preview(client, union, data):
    response = client.post(f"/unions/{union.id}/batches/new", data={**data, "preview": "1"})
    return response, response.get_data(as_text=True)


def hidden(page, name):
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    assert match, f"no hidden {name}"
    return match.group(1)


def confirm(client, union, data, page):
    return client.post(f"/unions/{union.id}/batches/new", data={
        **data, "confirm": "1", "token": hidden(page, "token"), "selection": hidden(page, "selection")})


def preview_tables(page):
    """Return (chosen union names, {skipped union name: reason}) as the preview page shows them."""
    chosen_part, _, skipped_part = page.partition("跳过的工会")
    chosen = set(re.findall(r'<tr><td>([^<]+)</td>(?:<td>[^<]*</td>)?<td class="num">', chosen_part))
    skipped = dict(re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", skipped_part))
    return chosen, skipped


def local_input(moment):
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


def test_kind_rule_previews_every_town_of_the_county_with_skip_reasons_and_creates_nothing(county_tree, login):
    world = county_tree
    response, page = preview(login("county_officer"), world.county, form_data(world, rule="kind", kind="town"))
    assert response.status_code == 200
    chosen, skipped = preview_tables(page)
    assert chosen == {"大泽镇总工会"}
    assert skipped == {"会城街道总工会": "尚未任命工会主席", "双水镇总工会": "参评范围内没有在册会员"}
    assert "台城街道总工会" not in page  # another county's town
    assert "将创建 1 个评议活动，跳过 2 个工会" in page
    assert count(Campaign) == 0 and count(CampaignBatch) == 0


def test_sector_rule_takes_unions_of_the_sector_with_at_least_n_active_members(county_tree, login):
    world = county_tree
    _, page = preview(login("county_officer"), world.county,
                      form_data(world, rule="sector", sector="non_public_enterprise", min_members="100"))
    chosen, skipped = preview_tables(page)
    assert chosen == {"百人公司工会"}  # 100 active members (the chair among them)
    assert skipped == {"无主席公司工会": "尚未任命工会主席"}
    # 99 active (plus 5 who left), a state-owned enterprise, and a union in another county are not matched at all.
    shown = page.split("<h2>预览", 1)[1]  # (the form above lists the county's children to pick from)
    assert "九十九人公司工会" not in shown and "新会国企工会" not in shown and "台山百人公司工会" not in shown

    _, page = preview(login("city_officer"), world.city,
                      form_data(world, rule="sector", sector="non_public_enterprise", min_members="99"))
    chosen, _ = preview_tables(page)
    assert chosen == {"百人公司工会", "九十九人公司工会", "台山百人公司工会"}


def test_hand_picked_children_and_the_subtree_electorate(county_tree, login):
    world = county_tree
    data = form_data(world, rule="picked", union_ids=[str(world.town.id), str(world.town2.id)], subject_kind="none",
                     electorate_scope="subtree", title_pattern="2026年职工预算需求调查")
    _, page = preview(login("county_officer"), world.county, data)
    chosen, skipped = preview_tables(page)
    assert chosen == {"会城街道总工会", "大泽镇总工会"} and not skipped  # a survey needs no chair
    # The whole town: 甲 (5 + chair) + 百人 (100) + 九十九人 (99) under 会城; 大泽 (3 + chair) + 120 under 大泽.
    assert re.search(r"会城街道总工会</td><td class=\"num\">205<", page)
    assert re.search(r"大泽镇总工会</td><td class=\"num\">124<", page)
    assert "2026年职工预算需求调查（会城街道总工会）" in page  # no {工会} in the pattern: the name is appended


def test_confirm_creates_one_campaign_per_union_with_the_schedule_and_an_audit_trail(county_tree, login):
    world = county_tree
    officer = login("county_officer")
    opens, closes = utcnow() + timedelta(days=3), utcnow() + timedelta(days=10)
    data = form_data(world, rule="kind", kind="grassroots", opens_at=local_input(opens), closes_at=local_input(closes))
    _, page = preview(officer, world.county, data)
    response = confirm(officer, world.county, data, page)
    assert response.status_code == 302
    batch = db.session.scalar(select(CampaignBatch))
    assert response.headers["Location"].endswith(f"/batches/{batch.id}")

    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.id)))
    expected = {world.union_a.id, world.np100.id, world.np99.id, world.soe.id}  # 无主席公司工会 has no chair
    assert sorted(c.union_id for c in campaigns) == sorted(expected)  # one each, no more
    by_union = {c.union_id: c for c in campaigns}
    assert by_union[world.np100.id].title == "2026年度百人公司工会主席述职评议"
    assert by_union[world.np100.id].subject_name == "百人公司工会主席"
    planned_open = from_local(datetime.strptime(local_input(opens), "%Y-%m-%dT%H:%M"))
    planned_close = from_local(datetime.strptime(local_input(closes), "%Y-%m-%dT%H:%M"))
    for campaign in campaigns:
        assert campaign.state == CampaignState.draft and campaign.subject_kind == SubjectKind.chair
        assert campaign.batch_id == batch.id and campaign.template_id == world.form.id
        assert (campaign.opens_at, campaign.closes_at) == (planned_open, planned_close)
    assert batch.root_union_id == world.county.id and batch.rule == BatchRule.kind
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "batch.created"))
    assert entry.object_id == batch.id and entry.actor_id == world.county_officer.id
    assert sorted(map(tuple, json.loads(entry.details)["campaigns"])) == sorted((c.id, c.union_id) for c in campaigns)
    assert verify_chain() is None

    page = officer.get(f"/batches/{batch.id}").get_data(as_text=True)
    for name in ("甲公司工会", "百人公司工会", "九十九人公司工会", "新会国企工会"):
        assert name in page
    assert "发布活动，请主席述职（4 个）" in page

    # The union the batch was started from lists it on its page; a union inside the batch does not.
    link = f'href="/batches/{batch.id}"'
    assert link in officer.get(f"/unions/{world.county.id}").get_data(as_text=True)
    assert link not in officer.get(f"/unions/{world.union_a.id}").get_data(as_text=True)


def test_confirming_twice_creates_the_batch_once(county_tree, login):
    world = county_tree
    officer = login("county_officer")
    data = form_data(world, rule="kind", kind="grassroots")
    _, page = preview(officer, world.county, data)
    first = confirm(officer, world.county, data, page)
    second = confirm(officer, world.county, data, page)  # a double click, or the back button and confirm again
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(CampaignBatch) == 1 and count(Campaign) == 4
    assert "重复提交没有再次创建" in officer.get(second.headers["Location"]).get_data(as_text=True)


def test_concurrent_confirmations_of_one_preview_create_one_batch(app, county_tree):
    world = county_tree
    spec = dict(title="并发", rule=BatchRule.kind, params={"kind": "grassroots"}, title_pattern="{工会}评议")
    digest = select_unions(world.county_officer, world.county, BatchSpec(template=world.form, **spec)).digest
    ids = (world.county_officer.id, world.county.id, world.form.id)
    db.session.commit()
    attempts, barrier, outcomes = 4, threading.Barrier(4), []

    def attempt():
        from evalapp.accounts.models import Account
        from evalapp.questionnaires.models import Questionnaire
        from evalapp.unions.models import Union

        with app.app_context():
            actor, root = db.session.get(Account, ids[0]), db.session.get(Union, ids[1])
            template = db.session.get(Questionnaire, ids[2])
            barrier.wait(timeout=30)
            batch, created = create_batch(actor, root, BatchSpec(template=template, **spec), "ab" * 16, digest)
            db.session.commit()
            outcomes.append((batch.id, created))

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == attempts and len({batch_id for batch_id, _ in outcomes}) == 1
    assert sorted(created for _, created in outcomes) == [False] * (attempts - 1) + [True]
    assert count(CampaignBatch) == 1 and count(Campaign) == 4


def test_confirm_refuses_when_the_qualifying_unions_changed_since_the_preview(county_tree, login):
    world = county_tree
    officer = login("county_officer")
    data = form_data(world, rule="kind", kind="town")
    _, page = preview(officer, world.county, data)
    make_account("hc_chair", "会城主席", member_of=world.town, chair_of=world.town)  # now 会城 qualifies too
    db.session.commit()
    response = confirm(officer, world.county, data, page)
    new_page = response.get_data(as_text=True)
    assert response.status_code == 409 and "符合条件的工会发生了变化" in new_page
    assert preview_tables(new_page)[0] == {"会城街道总工会", "大泽镇总工会"}  # the new list, to confirm instead
    assert count(CampaignBatch) == 0 and count(Campaign) == 0
    assert confirm(officer, world.county, data, new_page).status_code == 302
    assert count(Campaign) == 2


@pytest.mark.parametrize("changes, shown", [
    ({"title_pattern": "{工会}换了名字的评议"}, "大泽镇总工会换了名字的评议"),
    ({"closes_at": timedelta(days=20)}, None),  # times: from now
    ({"opens_at": timedelta(days=1)}, None),
    ({"electorate_scope": "subtree"}, None),
    ({"subject_kind": "none"}, None),
    ({"title": "另一个批次名称"}, None),
])
def test_confirm_refuses_settings_changed_after_the_preview(county_tree, login, changes, shown):
    world = county_tree
    officer = login("county_officer")
    data = form_data(world, rule="kind", kind="town")
    _, page = preview(officer, world.county, data)
    changes = {field: local_input(utcnow() + value) if isinstance(value, timedelta) else value
               for field, value in changes.items()}
    changed = {**data, **changes}
    response = confirm(officer, world.county, changed, page)  # the preview's token and fingerprint, edited form
    new_page = response.get_data(as_text=True)
    assert response.status_code == 409 and "批量发起的设置有了改动" in new_page
    assert count(CampaignBatch) == 0 and count(Campaign) == 0
    if shown:
        assert shown in new_page  # the fresh preview, made with the settings that were posted
    assert confirm(officer, world.county, changed, new_page).status_code == 302
    batch = db.session.scalar(select(CampaignBatch))
    for field, value in changes.items():
        if field in ("opens_at", "closes_at"):
            assert local_input(getattr(batch, field)) == value
        else:
            stored = getattr(batch, field)
            assert getattr(stored, "value", stored) == value


def test_confirm_refuses_another_template_or_rule_than_previewed(county_tree, login):
    world = county_tree
    other = make_questionnaire(world.county)
    db.session.commit()
    officer = login("county_officer")
    data = form_data(world, rule="kind", kind="grassroots")
    _, page = preview(officer, world.county, data)
    for changes in ({"template_id": str(other.id)}, {"rule": "sector", "min_members": "0"}, {"kind": "town"}):
        response = confirm(officer, world.county, {**data, **changes}, page)
        assert response.status_code == 409 and "批量发起的设置有了改动" in response.get_data(as_text=True), changes
    # Parameters of a rule not in use are not part of what is created: they do not matter.
    assert confirm(officer, world.county, {**data, "min_members": "5"}, page).status_code == 302
    assert count(CampaignBatch) == 1


def test_a_union_with_an_unfinished_campaign_of_the_same_kind_is_skipped(county_tree, login):
    world = county_tree
    from evalapp.campaigns.operations import create_campaign

    make_campaign(world, "archived")  # nobody voted in 甲公司工会's: a void result needs a new evaluation
    running = create_campaign(world.county_officer, world.np99, world.form, "九十九人公司主席评议", SubjectKind.chair)
    db.session.commit()
    officer = login("county_officer")
    _, page = preview(officer, world.county, form_data(world, rule="kind", kind="grassroots"))
    chosen, skipped = preview_tables(page)
    assert skipped["九十九人公司工会"] == f"已有未结束的同类评议活动“{running.title}”"
    assert "甲公司工会" in chosen

    # Running the same batch again finds every union busy with it.
    data = form_data(world, rule="kind", kind="grassroots")
    _, page = preview(officer, world.county, data)
    confirm(officer, world.county, data, page)
    _, page = preview(officer, world.county, data)
    chosen, skipped = preview_tables(page)
    assert not chosen and len(skipped) == 5 and "确认创建" not in page


def test_a_union_validly_evaluated_in_the_batchs_year_is_skipped(county_tree, login):
    from datetime import timedelta

    from evalapp.core.timeutil import local_today

    world = county_tree
    done = make_campaign(world, "published", votes=[[1, 1, 1]] * 5)      # 甲公司工会, valid, this year
    officer = login("county_officer")
    year = local_today().year
    _, page = preview(officer, world.county, form_data(world, rule="kind", kind="grassroots"))
    chosen, skipped = preview_tables(page)
    assert skipped["甲公司工会"] == f"{year} 年度已完成评议“{done.title}”（结果有效）"
    next_year = (local_today().replace(month=1, day=1) + timedelta(days=400)).replace(day=1).isoformat()
    _, page = preview(officer, world.county, form_data(world, rule="kind", kind="grassroots",
                                                       opens_at=f"{next_year}T09:00", closes_at=f"{next_year}T18:00"))
    chosen, skipped = preview_tables(page)
    assert "甲公司工会" in chosen                                         # a new year's evaluation may go ahead


def test_a_union_whose_closed_campaign_awaits_publication_is_skipped(county_tree, login):
    world = county_tree
    waiting = make_campaign(world, "closed", votes=[[1, 1, 1]] * 5)
    officer = login("county_officer")
    _, page = preview(officer, world.county, form_data(world, rule="kind", kind="grassroots"))
    _chosen, skipped = preview_tables(page)
    assert skipped["甲公司工会"] == f"已有未结束的同类评议活动“{waiting.title}”"


@pytest.mark.parametrize("overrides, message", [
    ({"rule": "picked"}, "请至少选择一个下属工会"),
    ({"rule": "sector", "min_members": "-1"}, "人数须在 0 到 1000000 之间"),
    ({"subject_kind": "organisation"}, "不是有效的选择"),
    ({"title": ""}, "请输入批次名称"),
    ({"template_id": "999999"}, "不是有效的选择"),
    ({"opens_at": "2030-12-02T09:00", "closes_at": "2030-12-01T09:00"}, "截止时间必须晚于开始时间"),
    ({"closes_at": "2001-01-01T09:00"}, "投票截止时间已过"),
    ({"rule": "kind", "kind": "city"}, "不是有效的选择"),
])
def test_bad_batch_input_is_refused_with_a_message_and_creates_nothing(county_tree, login, overrides, message):
    world = county_tree
    officer = login("county_officer")
    response, page = preview(officer, world.county, form_data(world, **overrides))
    assert response.status_code == 400 and message in page
    response = officer.post(f"/unions/{world.county.id}/batches/new",
                            data={**form_data(world, **overrides), "confirm": "1", "token": "ab" * 16, "selection": "x"})
    assert response.status_code == 400
    assert count(CampaignBatch) == 0 and count(Campaign) == 0


def test_picked_unions_must_be_direct_children_and_tokens_must_be_well_formed(county_tree, login):
    world = county_tree
    officer = login("county_officer")
    response, page = preview(officer, world.county, form_data(world, rule="picked", union_ids=[str(world.union_a.id)]))
    assert response.status_code == 400 and "直属下级工会" in page  # a grandchild
    data = form_data(world, rule="picked", union_ids=[str(world.town2.id)])
    _, page = preview(officer, world.county, data)
    response = officer.post(f"/unions/{world.county.id}/batches/new", data={
        **data, "confirm": "1", "token": "../../etc", "selection": hidden(page, "selection")})
    assert response.status_code == 400 and "请重新预览" in response.get_data(as_text=True)
    assert count(CampaignBatch) == 0


def test_only_officers_managing_the_root_union_reach_batches(county_tree, login):
    world = county_tree
    data = form_data(world, rule="kind", kind="grassroots")
    officer = login("county_officer")
    _, page = preview(officer, world.county, data)
    confirm(officer, world.county, data, page)
    batch = db.session.scalar(select(CampaignBatch))
    assert login("city_officer").get(f"/batches/{batch.id}").status_code == 200  # manages the county too
    for username in ("other_officer", "chair", "m1", "outsider"):
        client = login(username)
        assert client.get(f"/unions/{world.county.id}/batches/new").status_code == 404
        assert client.post(f"/unions/{world.county.id}/batches/new", data={**data, "preview": "1"}).status_code == 404
        assert client.get(f"/batches/{batch.id}").status_code == 404
        assert client.post(f"/batches/{batch.id}/actions/start_reporting").status_code == 404
    assert officer.get("/batches/999999").status_code == 404
    assert officer.post(f"/batches/{batch.id}/actions/explode").status_code == 404
    # A town officer manages some of the campaigns but not the batch's root.
    make_account("town_officer", officer_of=world.town)
    db.session.commit()
    assert login("town_officer").get(f"/batches/{batch.id}").status_code == 404
    assert all(c.state == CampaignState.draft for c in db.session.scalars(select(Campaign)))


def test_bulk_actions_apply_where_they_fit_and_report_what_they_did(county_tree, login):
    world = county_tree
    officer = login("county_officer")
    data = form_data(world, rule="kind", kind="grassroots", subject_kind="none", title_pattern="{工会}职工问卷")
    _, page = preview(officer, world.county, data)
    batch_id = int(confirm(officer, world.county, data, page).headers["Location"].rsplit("/", 1)[1])
    assert count(Campaign) == 5  # a survey needs no chair: 无主席公司工会 is in

    response = officer.post(f"/batches/{batch_id}/actions/start_reporting", follow_redirects=True)
    assert "5 个活动已完成" in response.get_data(as_text=True)
    assert {c.state for c in db.session.scalars(select(Campaign))} == {CampaignState.reporting}

    # Everyone at 九十九人公司 has left: opening works for the other four and says why not for that one.
    db.session.execute(update(Member).where(Member.union_id == world.np99.id).values(active=False))
    db.session.commit()
    page = officer.post(f"/batches/{batch_id}/actions/open", follow_redirects=True).get_data(as_text=True)
    assert "4 个活动已完成" in page and "1 个活动未能执行：该活动的参评范围内没有在册会员" in page
    states = {c.union_id: c.state for c in db.session.scalars(select(Campaign))}
    assert states.pop(world.np99.id) == CampaignState.reporting
    assert set(states.values()) == {CampaignState.open}
    assert count(AuditEntry, AuditEntry.action == "batch.action_applied") == 2
    assert count(AuditEntry, AuditEntry.action == "campaign.state_changed") == 5 + 4  # one per campaign moved

    response = officer.post(f"/batches/{batch_id}/actions/archive", follow_redirects=True)
    assert "没有可以“归档”的活动" in response.get_data(as_text=True)


def test_the_schedule_opens_and_closes_a_batch_of_surveys(county_tree, login):
    world = county_tree
    data = form_data(world, rule="picked", union_ids=[str(world.town.id), str(world.town2.id)], subject_kind="none",
                     electorate_scope="subtree", closes_at=local_input(utcnow() + timedelta(days=2)),
                     opens_at=local_input(utcnow() - timedelta(minutes=5)))
    officer = login("county_officer")
    _, page = preview(officer, world.county, data)
    assert confirm(officer, world.county, data, page).status_code == 302
    assert run_schedule()["opened"] == 2
    db.session.expire_all()
    sizes = {c.union_id: (c.state, c.electorate_size) for c in db.session.scalars(select(Campaign))}
    assert sizes == {world.town.id: (CampaignState.open, 205), world.town2.id: (CampaignState.open, 124)}
    assert run_schedule(now=utcnow() + timedelta(days=3))["closed"] == 2
