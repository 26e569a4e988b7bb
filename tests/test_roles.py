"""Officers set up the tree and its people: child unions, chairs, officers; everyone's password."""
from sqlalchemy import select

from evalapp.accounts.models import Role, RoleGrant
from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.unions.models import Union
from tests.factories import PASSWORD, make_account


def grants_of(union):
    return {(g.account.username, g.role.value) for g in db.session.scalars(select(RoleGrant).filter_by(union_id=union.id))}


def test_an_officer_sets_up_a_grassroots_union_under_a_town(world, login):
    officer = login("county_officer")
    response = officer.post(f"/unions/{world.town.id}/children", data={"name": "丙公司工会", "kind": "grassroots"})
    assert response.status_code == 302
    created = db.session.scalar(select(Union).where(Union.name == "丙公司工会"))
    assert created.parent_id == world.town.id and created.path == f"{world.town.path}{created.id}/"
    assert "丙公司工会" in officer.get(f"/unions/{world.town.id}").get_data(as_text=True)


def test_a_union_kind_that_does_not_fit_the_tree_is_refused(world, login):
    officer = login("county_officer")
    response = officer.post(f"/unions/{world.union_a.id}/children", data={"name": "下级", "kind": "grassroots"})
    assert response.status_code == 400
    response = officer.post(f"/unions/{world.town.id}/children", data={"name": "县", "kind": "county"})
    assert response.status_code == 400
    assert db.session.scalar(select(db.func.count()).select_from(Union)) == 6


def test_officers_of_another_subtree_cannot_add_unions_or_people(world, login):
    other = login("other_officer")
    assert other.post(f"/unions/{world.town.id}/children", data={"name": "x", "kind": "grassroots"}).status_code == 404
    assert other.post(f"/unions/{world.union_a.id}/roles", data={"role": "chair", "username": "m1"}).status_code == 404
    assert grants_of(world.union_a) == {("chair", "chair")}


def test_appointing_a_new_chair_replaces_the_old_one_and_is_audited(world, login):
    officer = login("county_officer")
    response = officer.post(f"/unions/{world.union_a.id}/roles", data={"role": "chair", "username": "m1"})
    assert response.status_code == 302
    assert grants_of(world.union_a) == {("m1", "chair")}
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == world.county_officer.id)))
    assert {"role.granted", "role.revoked"} <= actions
    from tests.factories import make_campaign

    campaign = make_campaign(world, "draft")
    officer.post(f"/campaigns/{campaign.id}/actions/start_reporting")
    new_chair, old_chair = login("m1"), login("chair")
    assert new_chair.post(f"/campaigns/{campaign.id}/report", data={"body": "新主席的报告"}).status_code == 302
    assert old_chair.post(f"/campaigns/{campaign.id}/report", data={"body": "旧主席"}).status_code == 404


def test_a_chair_must_be_on_the_unions_roster(world, login):
    response = login("county_officer").post(f"/unions/{world.union_a.id}/roles",
                                            data={"role": "chair", "username": "outsider"})
    assert response.status_code == 400 and "在册会员" in response.get_data(as_text=True)
    assert grants_of(world.union_a) == {("chair", "chair")}


def test_unknown_login_name_is_refused(world, login):
    response = login("county_officer").post(f"/unions/{world.town.id}/roles", data={"role": "officer", "username": "nobody"})
    assert response.status_code == 400 and "没有找到" in response.get_data(as_text=True)
    assert grants_of(world.town) == set()


def test_a_town_officer_manages_the_town_subtree_only(world, login):
    make_account("town_officer")
    db.session.commit()
    login("county_officer").post(f"/unions/{world.town.id}/roles", data={"role": "officer", "username": "town_officer"})
    town_officer = login("town_officer")
    assert town_officer.get(f"/unions/{world.union_a.id}").status_code == 200
    assert town_officer.get(f"/unions/{world.county.id}").status_code == 404


def test_revoking_an_officer_ends_their_access(world, login):
    grant = db.session.scalar(select(RoleGrant).filter_by(union_id=world.county.id, role=Role.officer))
    admin = login("admin")
    assert admin.post(f"/unions/{world.county.id}/roles/{grant.id}/revoke").status_code == 302
    assert login("county_officer").get(f"/unions/{world.union_a.id}").status_code == 404
    # a grant id of another union in the URL is not found
    chair_grant = db.session.scalar(select(RoleGrant).filter_by(union_id=world.union_a.id))
    assert admin.post(f"/unions/{world.county.id}/roles/{chair_grant.id}/revoke").status_code == 404
    assert grants_of(world.union_a) == {("chair", "chair")}


def test_members_change_their_own_password(world, login):
    member = login("m1")
    wrong = member.post("/account/password", data={"current": "nope", "new": "new-pass-2026", "confirm": "new-pass-2026"})
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
    mismatch = member.post("/account/password", data={"current": PASSWORD, "new": "new-pass-2026", "confirm": "x"})
    assert mismatch.status_code == 400 and "不一致" in mismatch.get_data(as_text=True)
    short = member.post("/account/password", data={"current": PASSWORD, "new": "short", "confirm": "short"})
    assert short.status_code == 400 and "至少需要 8 个字符" in short.get_data(as_text=True)
    assert member.post("/account/password", data={"current": PASSWORD, "new": "new-pass-2026",
                                                  "confirm": "new-pass-2026"}).status_code == 302
    login("m1", "new-pass-2026")
    old = app_client_login(member, "m1", PASSWORD)
    assert old.status_code == 400


def app_client_login(client, username, password):
    client.post("/logout")
    return client.post("/login", data={"username": username, "password": password})


def test_a_member_enrolled_with_an_officers_password_must_choose_their_own_first(world, login, client):
    officer = login("county_officer")
    officer.post(f"/unions/{world.union_a.id}/members", data={
        "name": "新会员", "phone": "13800138000", "create_account": "y", "initial_password": "initial-2026"})
    client.post("/login", data={"username": "13800138000", "password": "initial-2026"})
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")
    same = client.post("/account/password", data={"current": "initial-2026", "new": "initial-2026",
                                                   "confirm": "initial-2026"})
    assert same.status_code == 400 and "不能与当前密码相同" in same.get_data(as_text=True)
    client.post("/account/password", data={"current": "initial-2026", "new": "my-own-2026", "confirm": "my-own-2026"})
    assert client.get("/").status_code == 200
