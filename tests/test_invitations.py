"""Members activate their accounts with printed codes; officers never learn their passwords."""
import re
from datetime import timedelta

from sqlalchemy import select

from evalapp.accounts.models import Account
from evalapp.core.db import db
from evalapp.unions.models import Invitation
from evalapp.unions.operations import add_member
from tests.factories import make_campaign

CODE = re.compile(r'<dd class="code">([A-Z0-9]{4}-[A-Z0-9]{4})</dd>')


def enrol(world, name, phone):
    member = add_member(world.union_a, name, phone)
    db.session.commit()
    return member


def print_sheet(client, union, member=None):
    data = {"member_id": member.id} if member is not None else {}
    response = client.post(f"/unions/{union.id}/invitations", data=data)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def activate(client, phone, code, password="my-own-pass-1"):
    return client.post("/activate", data={"phone": phone, "code": code, "password": password, "confirm": password})


def test_a_member_activates_with_the_printed_code_and_sets_their_own_password(world, login, client):
    enrol(world, "张新", "13900139000")
    sheet = print_sheet(login("county_officer"), world.union_a)
    assert "张新" in sheet and "139****9000" in sheet and "13900139000" not in sheet
    codes = dict(re.findall(r"<dt>姓名</dt><dd>(.+?)</dd>.*?<dd class=\"code\">(.+?)</dd>", sheet, re.S))
    code = codes["张新"]
    assert activate(client, "13900139000", code.lower()).status_code == 302  # case does not matter
    assert client.get("/").status_code == 200
    account = db.session.scalar(select(Account).where(Account.username == "13900139000"))
    assert account.member.name == "张新" and not account.must_change_password
    invitation = db.session.scalar(select(Invitation).where(Invitation.member_id == account.member.id))
    assert invitation.used_at is not None and code not in invitation.code_hash


def test_wrong_phone_wrong_code_reused_or_expired_codes_are_refused(world, login, client):
    member = enrol(world, "李新", "13900139001")
    code = CODE.findall(print_sheet(login("county_officer"), world.union_a, member))[0]
    for phone, attempt, message in (("13900139009", code, "手机号或激活码不正确"),
                                    ("13900139001", "AAAA-AAAA", "手机号或激活码不正确")):
        response = activate(client, phone, attempt)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(Account).where(Account.username == "13900139001")) is None
    assert activate(client, "13900139001", code).status_code == 302
    client.post("/logout")
    again = activate(client, "13900139001", code, "another-pass-2")
    assert again.status_code == 400 and "已使用过" in again.get_data(as_text=True)

    fresh = CODE.findall(print_sheet(login("county_officer"), world.union_a, member))[0]
    invitation = db.session.scalar(select(Invitation).where(Invitation.member_id == member.id))
    invitation.expires_at -= timedelta(days=61)
    db.session.commit()
    expired = activate(client, "13900139001", fresh)
    assert expired.status_code == 400 and "已过期" in expired.get_data(as_text=True)


def test_a_new_sheet_voids_the_old_codes(world, login, client):
    member = enrol(world, "王新", "13900139002")
    officer = login("county_officer")
    old = CODE.findall(print_sheet(officer, world.union_a, member))[0]
    new = CODE.findall(print_sheet(officer, world.union_a, member))[0]
    assert activate(client, "13900139002", old).status_code == 400
    assert activate(client, "13900139002", new).status_code == 302


def test_an_officer_resets_a_forgotten_password_without_learning_the_new_one(world, login, client):
    from tests.factories import PASSWORD

    member = world.members[0].member
    member.phone = "13900139003"
    db.session.commit()
    code = CODE.findall(print_sheet(login("county_officer"), world.union_a, member))[0]
    assert activate(client, "13900139003", code, "chosen-by-me-7").status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"username": "m1", "password": PASSWORD}).status_code == 400
    assert client.post("/login", data={"username": "m1", "password": "chosen-by-me-7"}).status_code == 302


def test_only_officers_of_the_subtree_issue_codes(world, login):
    enrol(world, "赵新", "13900139004")
    for username in ("other_officer", "chair", "m1"):
        assert login(username).post(f"/unions/{world.union_a.id}/invitations").status_code == 404
    other_union_member = add_member(world.union_b, "钱新", "13900139005")
    db.session.commit()
    officer = login("county_officer")
    response = officer.post(f"/unions/{world.union_a.id}/invitations", data={"member_id": other_union_member.id})
    assert response.status_code == 404
    assert db.session.scalar(select(db.func.count()).select_from(Invitation)) == 0


def test_activation_guessing_is_rate_limited(world, client):
    statuses = [activate(client, "13900139006", "ZZZZ-ZZZZ").status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429


def test_the_campaign_poster_carries_a_qr_code_of_the_campaign_page(world, login):
    campaign = make_campaign(world, "open")
    response = login("county_officer").get(f"/campaigns/{campaign.id}/poster")
    page = response.get_data(as_text=True)
    from evalapp.core.qr import qr_svg

    assert response.status_code == 200 and qr_svg(f"http://localhost/campaigns/{campaign.id}") in page
    assert login("m1").get(f"/campaigns/{campaign.id}/poster").status_code == 404


def test_a_union_without_members_gets_a_message_not_an_empty_sheet(world, login):
    response = login("county_officer").post(f"/unions/{world.town.id}/invitations", follow_redirects=True)
    assert "没有登记了手机号的在册会员" in response.get_data(as_text=True)


def test_an_officer_cannot_take_over_an_administrators_or_a_superiors_account(world, login):
    from evalapp.accounts.models import Role
    from evalapp.accounts.operations import grant_role

    world.admin.member = add_member(world.union_a, "管理员本人", "13900139010")
    world.members[1].member.phone = "13900139011"
    grant_role(world.members[1], world.other_county, Role.officer)  # officer elsewhere, member here
    db.session.commit()
    officer = login("county_officer")
    for member in (world.admin.member, world.members[1].member):
        response = officer.post(f"/unions/{world.union_a.id}/invitations", data={"member_id": member.id},
                                follow_redirects=True)
        assert "须由上级工会或系统管理员重置" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(Invitation)) == 0
    assert login("admin").post(f"/unions/{world.union_a.id}/invitations",
                               data={"member_id": world.members[1].member.id}).status_code == 200


def test_the_union_sheet_leaves_out_members_who_already_activated(world, login, client):
    enrol(world, "孙新", "13900139012")
    officer = login("county_officer")
    code = CODE.findall(print_sheet(officer, world.union_a))[0]
    assert activate(client, "13900139012", code).status_code == 302
    enrol(world, "周新", "13900139013")
    sheet = print_sheet(officer, world.union_a)
    assert "周新" in sheet and "孙新" not in sheet


def test_a_switched_off_account_is_not_revived_by_a_code(world, login, client):
    member = world.members[2].member
    member.phone, world.members[2].active = "13900139014", False
    db.session.commit()
    response = login("county_officer").post(f"/unions/{world.union_a.id}/invitations", data={"member_id": member.id},
                                            follow_redirects=True)
    assert "已停用" in response.get_data(as_text=True)


def test_a_malformed_member_id_prints_nothing(world, login):
    enrol(world, "周新", "13900139013")
    response = login("county_officer").post(f"/unions/{world.union_a.id}/invitations", data={"member_id": "abc"})
    assert response.status_code == 400
    assert db.session.scalar(select(db.func.count()).select_from(Invitation)) == 0
