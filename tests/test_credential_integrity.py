"""No single official can vote in a member's name: codes need a second person while voting is open,
members are told of every reset, and the result's integrity report shows the officers above what
changed about the electorate near and during voting."""
import re

from sqlalchemy import func, select

from evalapp.accounts.models import Account
from evalapp.core.db import db
from evalapp.notifications.models import Notification
from evalapp.unions.models import Invitation
from evalapp.voting.models import Ballot, Participation
from tests.factories import PASSWORD, ballot_form, close_and_publish, make_account, make_campaign

CODE = re.compile(r'<dd class="code">([A-Z0-9]{4}-[A-Z0-9]{4})</dd>')
SECOND_CODE = re.compile(r'确认码 <span class="code">(\d{6})</span>')
HELD = "须经上级工会工作人员确认后才能使用"


def print_reset(officer_client, union, member):
    response = officer_client.post(f"/unions/{union.id}/invitations", data={"member_id": member.id})
    assert response.status_code == 200
    return CODE.findall(response.get_data(as_text=True))[0], response.get_data(as_text=True)


def activate(client, phone, code, password="my-own-pass-1", second_code=""):
    return client.post("/activate", data={"phone": phone, "code": code, "password": password, "confirm": password,
                                          "second_code": second_code})


def confirm(client, member):
    """Confirm `member`'s code as the officer behind `client`, as the page showed it; return the second code or None."""
    from evalapp.campaigns.credentials import confirmation_key

    invitation = db.session.scalar(select(Invitation).where(Invitation.member_id == member.id))
    response = client.post("/confirmations", data={"invitation": confirmation_key(invitation)})
    found = SECOND_CODE.search(response.get_data(as_text=True))
    return found.group(1) if found else None


def ballots(campaign):
    return db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.campaign_id == campaign.id))


def voted(campaign, member):
    return db.session.get(Participation, (campaign.id, member.id)) is not None


def inbox(account):
    return [n.text for n in db.session.scalars(select(Notification).where(Notification.account_id == account.id))]


def open_campaign_with_phone(world, phone="13900139101"):
    campaign = make_campaign(world, "open")
    target = world.members[0].member
    target.phone = phone
    db.session.commit()
    return campaign, target


def test_an_officer_who_resets_a_members_password_cannot_vote_with_it(world, login, app):
    campaign, target = open_campaign_with_phone(world)
    officer = login("county_officer")
    code, sheet = print_reset(officer, world.union_a, target)
    assert HELD in sheet

    # The officer tries the code with the phone number shown on the roster.
    attacker = app.test_client()
    refused = activate(attacker, target.phone, code)
    assert refused.status_code == 403 and HELD in refused.get_data(as_text=True)
    assert attacker.get(f"/campaigns/{campaign.id}/vote").status_code == 302  # still not logged in

    # Confirming one's own code is refused, and so is a colleague the officer could appoint.
    invitation = db.session.scalar(select(Invitation).where(Invitation.member_id == target.id))
    assert "确认所选激活码" not in officer.get("/confirmations").get_data(as_text=True)
    assert confirm(officer, target) is None
    make_account("accomplice", officer_of=world.town)
    db.session.commit()
    assert confirm(login("accomplice"), target) is None
    assert db.session.get(Invitation, invitation.id).confirmed_at is None

    still_refused = activate(attacker, target.phone, code)
    assert still_refused.status_code == 403
    assert not voted(campaign, target) and ballots(campaign) == 0
    # The member's own password still works, and the member was told who reset it and when.
    member = login("m1")
    assert any("county_officer" in text and "重置密码" in text for text in inbox(world.members[0]))
    assert member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1])).status_code == 302
    assert voted(campaign, target) and ballots(campaign) == 1


def test_a_member_who_forgot_the_password_votes_the_same_day_once_an_officer_above_confirms(world, login, app):
    campaign, target = open_campaign_with_phone(world)
    code, _sheet = print_reset(login("county_officer"), world.union_a, target)
    member = app.test_client()
    assert activate(member, target.phone, code).status_code == 403

    # The officers above the issuer were asked, and one of them confirms the code.
    assert any("须由您确认" in text for text in inbox(world.city_officer))
    city = login("city_officer")
    page = city.get("/confirmations").get_data(as_text=True)
    assert target.name in page and "county_officer" in page
    second_code = confirm(city, target)
    assert second_code is not None

    # The issuer holds the slip but not the second code, which the city officer tells the member.
    without = activate(app.test_client(), target.phone, code)
    assert without.status_code == 400 and "确认码" in without.get_data(as_text=True)
    assert activate(member, target.phone, code, second_code=second_code).status_code == 302
    assert member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 2, 3])).status_code == 302
    assert voted(campaign, target) and ballots(campaign) == 1
    assert any("重新设置" in text for text in inbox(world.members[0]))


def test_the_member_sees_every_reset_at_login_and_can_report_it_to_the_superior_union(world, login, app):
    target = world.members[0].member
    target.phone = "13900139102"
    db.session.commit()
    code, _sheet = print_reset(login("county_officer"), world.union_a, target)
    assert activate(app.test_client(), target.phone, code, "taken-over-77").status_code == 302  # no campaign open

    # The real member gets a new code from the union office, logs in and is warned at once.
    code, _sheet = print_reset(login("admin"), world.union_a, target)
    member = app.test_client()
    assert activate(member, target.phone, code, "back-again-88").status_code == 302
    member.post("/logout")
    welcome = member.post("/login", data={"username": "m1", "password": "back-again-88"}, follow_redirects=True)
    assert "账号最近有变动" in welcome.get_data(as_text=True)
    security = member.get("/account/security").get_data(as_text=True)
    assert "发放重置密码的激活码" in security and "county_officer" in security and "不是我本人" in security

    officer_row = re.search(r"发放重置密码的激活码(?: <span[^<]*</span>)?</td>\s*<td>county_officer</td>"
                            r".*?/account/security/(\d+)/report", security, re.S)
    event_id = int(officer_row.group(1))
    reported = member.post(f"/account/security/{event_id}/report", follow_redirects=True)
    assert "已报告上级工会" in reported.get_data(as_text=True)
    assert any("会员1" in text and "不是本人" in text for text in inbox(world.city_officer))
    assert any("不是本人" in text for text in inbox(world.admin))  # every administrator hears of it too
    assert not any("不是本人" in text for text in inbox(world.county_officer))
    # Someone else's event is not theirs to report.
    assert login("m2").post(f"/account/security/{event_id}/report").status_code == 404


def test_an_invented_member_with_an_initial_password_cannot_open_an_account_while_voting(world, login, app):
    officer = login("county_officer")
    response = officer.post(f"/unions/{world.union_a.id}/members", data={
        "name": "虚构会员", "phone": "13900139103", "create_account": "y", "initial_password": "initial-pass-55"})
    assert response.status_code in (200, 302)
    assert db.session.scalar(select(Account).where(Account.username == "13900139103")) is not None
    campaign = make_campaign(world, "open")

    fake = app.test_client()
    assert fake.post("/login", data={"username": "13900139103", "password": "initial-pass-55"}).status_code == 302
    refused = fake.post("/account/password", data={"current": "initial-pass-55", "new": "officer-owns-99",
                                                   "confirm": "officer-owns-99"})
    assert refused.status_code == 403 and "初始密码不能用来开通账号" in refused.get_data(as_text=True)
    assert fake.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1])).status_code == 302
    assert ballots(campaign) == 0


def test_the_integrity_report_shows_the_officers_above_what_changed_and_how_many_of_those_voted(world, login, app):
    # Before opening, the county officer enrols a member with an account and takes it over.
    officer = login("county_officer")
    officer.post(f"/unions/{world.union_a.id}/members", data={
        "name": "虚构会员", "phone": "13900139104", "create_account": "y", "initial_password": "initial-pass-55"})
    fake = app.test_client()
    fake.post("/login", data={"username": "13900139104", "password": "initial-pass-55"})
    assert fake.post("/account/password", data={"current": "initial-pass-55", "new": "officer-owns-99",
                                                "confirm": "officer-owns-99"}).status_code == 302
    campaign = make_campaign(world, "open")
    assert fake.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [3, 3, 5])).status_code == 302
    for voter in world.members:
        login(voter.username).post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1]))

    close_and_publish(world, campaign)

    page = login("city_officer").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "评议完整性报告" in page and "涉及参评会员 1 人，其中 1 人投了票" in page
    row = re.search(r"<tr><td>登记入会员名册</td><td>(\d+)</td><td>(\d+)</td>\s*<td>(.*?)</td></tr>", page, re.S)
    assert row.groups() == ("1", "1", "county_officer（1）")
    assert "由工作人员设置初始密码" in page
    # Members see the result, not the report.
    assert "评议完整性报告" not in login("m2").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)


def test_an_electorate_without_changes_gets_a_clean_report(world, login):
    campaign = make_campaign(world, "published", votes=[[1, 1, 1]] * 5)
    page = login("city_officer").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "此期间没有参评会员的名册或账号变动" in page


def test_codes_printed_before_opening_are_held_once_voting_opens(world, login, app):
    target = world.members[0].member
    target.phone = "13900139105"
    db.session.commit()
    code, sheet = print_reset(login("county_officer"), world.union_a, target)
    assert HELD not in sheet
    campaign = make_campaign(world, "open")
    assert activate(app.test_client(), target.phone, code).status_code == 403
    assert not voted(campaign, target)
    assert login("m1", PASSWORD).get(f"/campaigns/{campaign.id}/vote").status_code == 200  # their own password works


def test_roster_imports_near_voting_appear_in_the_superior_unions_review_pdf(world, login, app, tmp_path, monkeypatch):
    from tests.builders import compact, csv_file, make_id
    from tests.test_review_reports import download, request_review
    from tests.test_rosters import person, run_import

    monkeypatch.setitem(app.config, "ROSTER_UPLOAD_FOLDER", str(tmp_path / "rosters"))
    person(world.union_a, "老会员", make_id(1), phone="13900139201")
    run_import(world.union_a, world.county_officer, csv_file(
        [["老会员", "13900139299", make_id(1)], ["新会员", "13900139202", make_id(2)]], header=["姓名", "手机号", "身份证号"]))
    campaign = make_campaign(world, "published", votes=[[1, 1, 1]] * 5)
    assert campaign.result is not None
    text = compact(download(login("city_officer"), request_review(login("city_officer"), world.city), tmp_path))
    assert "四、评议完整性" in text
    assert "登记入会员名册10county_officer（1）" in text and "更改手机号10county_officer（1）" in text


def test_once_a_campaign_is_announced_a_reset_is_held_but_a_first_activation_is_not(world, login, app):
    from evalapp.unions.operations import add_member

    campaign = make_campaign(world, "reporting")
    target = world.members[0].member
    target.phone = "13900139106"
    newcomer = add_member(world.union_a, "新来的", "13900139107")
    db.session.commit()
    officer = login("county_officer")
    code, sheet = print_reset(officer, world.union_a, target)
    assert HELD in sheet and activate(app.test_client(), target.phone, code).status_code == 403
    first, sheet = print_reset(officer, world.union_a, newcomer)
    assert HELD not in sheet and activate(app.test_client(), newcomer.phone, first).status_code == 302
    assert campaign.state.value == "reporting"


def test_a_command_line_import_records_its_changes_without_an_official(world, app, tmp_path, monkeypatch):
    from evalapp.unions.events import MemberEvent
    from tests.builders import csv_file, make_id

    monkeypatch.setitem(app.config, "ROSTER_UPLOAD_FOLDER", str(tmp_path / "rosters"))
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_file([["新会员", "13900139203", make_id(3)]], header=["姓名", "手机号", "身份证号"]))
    result = app.test_cli_runner().invoke(args=["rosters", "import", str(path), "--union", str(world.union_a.id), "--apply"])
    assert result.exit_code == 0, result.output
    events = db.session.execute(select(MemberEvent.kind, MemberEvent.actor_id)).all()
    assert [(kind, actor) for kind, actor in events] == [("enrolled", None)]


SHADOW = "13800138777"


def make_shadow(officer_client, union, app):
    """An account the officer alone controls: an invented member enrolled with an initial password, taken over."""
    officer_client.post(f"/unions/{union.id}/members", data={
        "name": "影子", "phone": SHADOW, "create_account": "y", "initial_password": "initial-pass-55"})
    shadow = app.test_client()
    assert shadow.post("/login", data={"username": SHADOW, "password": "initial-pass-55"}).status_code == 302
    assert shadow.post("/account/password", data={"current": "initial-pass-55", "new": "shadow-owns-99",
                                                  "confirm": "shadow-owns-99"}).status_code == 302
    return shadow


def test_an_officer_cannot_confirm_the_code_of_an_officer_they_appointed(world, login, app):
    campaign, target = open_campaign_with_phone(world)
    officer = login("county_officer")
    shadow = make_shadow(officer, world.town, app)
    officer.post(f"/unions/{world.union_a.id}/roles", data={"role": "officer", "username": SHADOW})
    code, sheet = print_reset(shadow, world.union_a, target)
    assert HELD in sheet
    assert confirm(officer, target) is None  # the appointer is no second person
    # The request went past the appointer, to the city federation.
    assert any("须由您确认" in text for text in inbox(world.city_officer))
    assert not any("须由您确认" in text for text in inbox(world.county_officer))
    assert activate(app.test_client(), target.phone, code).status_code == 403
    assert ballots(campaign) == 0
    # Nor may an administrator confirm for an officer they appointed.
    login("admin").post(f"/unions/{world.union_a.id}/roles", data={"role": "officer", "username": "m5"})
    code, _sheet = print_reset(login("m5"), world.union_a, target)
    assert confirm(login("admin"), target) is None


def test_giving_up_a_grant_after_issuing_does_not_let_a_colleague_confirm(world, login, app):
    from evalapp.accounts.models import RoleGrant

    campaign, target = open_campaign_with_phone(world)
    colleague = make_account("colleague", officer_of=world.county)  # appointed by nobody in the app
    db.session.commit()
    code, _sheet = print_reset(login("county_officer"), world.union_a, target)
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.account_id == world.county_officer.id))
    db.session.delete(grant)
    db.session.commit()
    assert colleague.id and confirm(login("colleague"), target) is None  # the issuer's reach when issuing counts
    assert activate(app.test_client(), target.phone, code).status_code == 403 and ballots(campaign) == 0


def test_a_code_printed_again_after_the_page_was_read_is_not_confirmed_unseen(world, login, app):
    from evalapp.campaigns.credentials import confirmation_key

    campaign, target = open_campaign_with_phone(world)
    officer = login("county_officer")
    print_reset(officer, world.union_a, target)
    seen = confirmation_key(db.session.scalar(select(Invitation).where(Invitation.member_id == target.id)))
    officer_code, _sheet = print_reset(officer, world.union_a, target)  # printed again meanwhile
    response = login("city_officer").post("/confirmations", data={"invitation": seen})
    assert "没有需要确认的激活码" in response.get_data(as_text=True)
    assert activate(app.test_client(), target.phone, officer_code).status_code == 403 and ballots(campaign) == 0


def test_guessing_the_second_code_ends_the_confirmation(world, login, app):
    campaign, target = open_campaign_with_phone(world)
    code, _sheet = print_reset(login("county_officer"), world.union_a, target)
    second_code = confirm(login("city_officer"), target)
    guesser = app.test_client()
    wrong = "000000" if second_code != "000000" else "111111"
    assert [activate(guesser, target.phone, code, second_code=wrong).status_code for _ in range(3)] == [400, 400, 403]
    ended = activate(guesser, target.phone, code, second_code=second_code)
    assert ended.status_code == 403 and HELD in ended.get_data(as_text=True)
    assert db.session.scalar(select(Invitation).where(Invitation.member_id == target.id)).confirmed_at is None
    assert ballots(campaign) == 0


def test_a_reset_soon_after_a_move_between_unions_is_held(world, login, app, tmp_path, monkeypatch):
    from evalapp.accounts.operations import create_account
    from evalapp.unions.models import UnionKind
    from evalapp.unions.operations import create_union
    from tests.builders import csv_file, make_id
    from tests.test_rosters import person, run_import

    monkeypatch.setitem(app.config, "ROSTER_UPLOAD_FOLDER", str(tmp_path / "rosters"))
    sibling = create_union("丙公司工会", UnionKind.grassroots, world.town)
    target = person(world.union_a, "真会员", make_id(7), phone="13900139555")
    target.account = create_account("13900139555", "真会员", "members-own-pass-77")
    db.session.commit()
    make_campaign(world, "reporting")
    # Moved out of the announced campaign's union for the moment of the reset:
    run_import(world.town, world.county_officer, csv_file([["真会员", "13900139555", make_id(7), "丙公司工会"]],
                                                          header=["姓名", "手机号", "身份证号", "工会"]))
    db.session.expire_all()
    code, sheet = print_reset(login("county_officer"), sibling, db.session.get(type(target), target.id))
    assert HELD in sheet and activate(app.test_client(), "13900139555", code).status_code == 403


def test_an_initial_password_cannot_open_an_account_once_a_campaign_is_announced(world, login, app):
    login("county_officer").post(f"/unions/{world.union_a.id}/members", data={
        "name": "新会员", "phone": "13900139333", "create_account": "y", "initial_password": "initial-pass-55"})
    make_campaign(world, "reporting")
    fake = app.test_client()
    fake.post("/login", data={"username": "13900139333", "password": "initial-pass-55"})
    refused = fake.post("/account/password", data={"current": "initial-pass-55", "new": "officer-owns-99",
                                                   "confirm": "officer-owns-99"})
    assert refused.status_code == 403


def test_opening_an_account_from_an_initial_password_is_recorded_as_an_activation_by_the_enrolling_officer(world, login, app):
    from evalapp.unions.events import MemberEvent

    login("county_officer").post(f"/unions/{world.union_a.id}/members", data={
        "name": "新会员", "phone": "13900139334", "create_account": "y", "initial_password": "initial-pass-55"})
    holder = app.test_client()
    holder.post("/login", data={"username": "13900139334", "password": "initial-pass-55"})
    assert holder.post("/account/password", data={"current": "initial-pass-55", "new": "holder-owns-99",
                                                  "confirm": "holder-owns-99"}).status_code == 302
    account = db.session.scalar(select(Account).where(Account.username == "13900139334"))
    kinds = db.session.execute(select(MemberEvent.kind, MemberEvent.actor_id).where(
        MemberEvent.member_id == account.member.id).order_by(MemberEvent.id)).all()
    assert [tuple(row) for row in kinds] == [("enrolled", world.county_officer.id),
                                             ("initial_password", world.county_officer.id),
                                             ("activated", world.county_officer.id)]
    assert any("初始密码开通" in text for text in inbox(account))


def shadow_of(officer_client, union, app, phone, name="影子"):
    """Another account the officer alone controls (see make_shadow), signed in."""
    officer_client.post(f"/unions/{union.id}/members", data={
        "name": name, "phone": phone, "create_account": "y", "initial_password": "initial-pass-55"})
    client = app.test_client()
    client.post("/login", data={"username": phone, "password": "initial-pass-55"})
    assert client.post("/account/password", data={"current": "initial-pass-55", "new": "shadow-owns-99",
                                                  "confirm": "shadow-owns-99"}).status_code == 302
    return client


def appoint(client, union, phone):
    assert client.post(f"/unions/{union.id}/roles", data={"role": "officer", "username": phone}).status_code == 302


def test_two_accounts_appointed_by_one_officer_cannot_check_each_other(world, login, app):
    campaign, target = open_campaign_with_phone(world)
    officer = login("county_officer")
    issuer = shadow_of(officer, world.town, app, "13800138741", "影子一")
    checker = shadow_of(officer, world.town, app, "13800138742", "影子二")
    appoint(officer, world.union_a, "13800138741")
    appoint(officer, world.town, "13800138742")  # above the issuer's union, but within its appointer's reach
    code, _sheet = print_reset(issuer, world.union_a, target)
    assert confirm(checker, target) is None
    assert any("须由您确认" in text for text in inbox(world.city_officer))
    assert activate(app.test_client(), target.phone, code).status_code == 403 and ballots(campaign) == 0


def test_revoking_an_appointment_does_not_make_the_appointer_independent(world, login, app):
    from evalapp.accounts.models import RoleGrant

    campaign, target = open_campaign_with_phone(world)
    officer = login("county_officer")
    issuer = shadow_of(officer, world.town, app, "13800138701")
    appoint(officer, world.union_a, "13800138701")
    code, _sheet = print_reset(issuer, world.union_a, target)
    grant_id = db.session.scalar(select(RoleGrant.id).join(Account).where(Account.username == "13800138701"))
    officer.post(f"/unions/{world.union_a.id}/roles/{grant_id}/revoke")
    assert db.session.get(RoleGrant, grant_id) is None
    assert confirm(officer, target) is None and ballots(campaign) == 0
    # The member's "not me" goes past the appointer too.
    member = login("m1")
    security = member.get("/account/security").get_data(as_text=True)
    event_id = int(re.search(r"/account/security/(\d+)/report", security).group(1))
    member.post(f"/account/security/{event_id}/report")
    assert any("不是本人" in text for text in inbox(world.city_officer))
    assert not any("不是本人" in text for text in inbox(world.county_officer))


def test_a_long_chain_of_appointments_still_leads_back_to_the_officer(world, login, app):
    campaign, target = open_campaign_with_phone(world)
    officer = login("county_officer")
    previous = officer
    for link in range(1, 9):
        phone = f"138001387{link + 10:02d}"
        client = shadow_of(officer, world.town, app, phone, f"影子{link}")
        appoint(previous, world.union_a, phone)
        previous = client
    print_reset(previous, world.union_a, target)
    assert confirm(officer, target) is None and ballots(campaign) == 0


def test_an_administrators_code_needs_another_administrator_whoever_they_appointed(world, login, app):
    from evalapp.accounts.models import RoleGrant

    open_campaign_with_phone(world)
    target = world.members[0].member
    make_account("admin2", is_admin=True)  # without a second administrator nobody could check the first
    db.session.commit()
    admin = login("admin")
    first = shadow_of(admin, world.town, app, "13800138731", "影子甲")
    second = shadow_of(admin, world.town, app, "13800138732", "影子乙")
    appoint(admin, world.union_a, "13800138731")
    appoint(first, world.union_a, "13800138732")
    print_reset(admin, world.union_a, target)
    grant_id = db.session.scalar(select(RoleGrant.id).join(Account).where(Account.username == "13800138731"))
    admin.post(f"/unions/{world.union_a.id}/roles/{grant_id}/revoke")
    assert confirm(second, target) is None
    assert confirm(login("city_officer"), target) is None  # only another administrator checks an administrator
    assert confirm(login("admin2"), target) is not None


def test_a_code_for_an_account_an_officer_opened_is_held_once_a_campaign_is_announced(world, login, app):
    officer = login("county_officer")
    officer.post(f"/unions/{world.union_a.id}/members", data={
        "name": "新会员", "phone": "13900139335", "create_account": "y", "initial_password": "initial-pass-55"})
    make_campaign(world, "reporting")
    account = db.session.scalar(select(Account).where(Account.username == "13900139335"))
    code, sheet = print_reset(officer, world.union_a, account.member)
    assert HELD in sheet and activate(app.test_client(), "13900139335", code).status_code == 403
    assert any("county_officer" in text and "激活码" in text for text in inbox(account))


def test_the_confirming_officer_is_warned_of_a_recent_phone_change(world, login, app, tmp_path, monkeypatch):
    from evalapp.core.audit import AuditEntry
    from tests.builders import csv_file, make_id
    from tests.test_rosters import person, run_import

    monkeypatch.setitem(app.config, "ROSTER_UPLOAD_FOLDER", str(tmp_path / "rosters"))
    target = person(world.union_a, "真会员", make_id(8), phone="13900139556")
    campaign = make_campaign(world, "open")
    # The officer puts a number of their own on the roster, then asks for a reset.
    run_import(world.union_a, world.county_officer, csv_file([["真会员", "13900139999", make_id(8)]],
                                                             header=["姓名", "手机号", "身份证号"]))
    db.session.expire_all()
    print_reset(login("county_officer"), world.union_a, db.session.get(type(target), target.id))
    city = login("city_officer")
    assert "由county_officer更改过" in city.get("/confirmations").get_data(as_text=True)
    from evalapp.campaigns.credentials import confirmation_key

    invitation = db.session.scalar(select(Invitation).where(Invitation.member_id == target.id))
    confirmed = city.post("/confirmations", data={"invitation": confirmation_key(invitation)}).get_data(as_text=True)
    assert "由county_officer更改过" in confirmed and "请不要只凭这个号码核实" in confirmed
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "invitations.confirmed")).one()
    assert (entry.object_type, entry.object_id, entry.actor_id) == ("Account", world.city_officer.id, world.city_officer.id)
    assert campaign.id


def test_each_confirmation_allows_three_tries_at_the_second_code(world, login, app):
    campaign, target = open_campaign_with_phone(world)
    code, _sheet = print_reset(login("county_officer"), world.union_a, target)
    city = login("city_officer")
    second = confirm(city, target)
    wrong = "000000" if second != "000000" else "111111"
    assert [activate(app.test_client(), target.phone, code, second_code=wrong).status_code for _ in range(3)] == [400, 400, 403]
    second = confirm(city, target)
    assert activate(app.test_client(), target.phone, code, second_code=wrong).status_code == 400
    member = app.test_client()
    assert activate(member, target.phone, code, second_code=second).status_code == 302
    assert member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1])).status_code == 302


def test_the_integrity_report_lists_officers_appointed_near_and_during_voting(world, login, tmp_path):
    from tests.builders import compact
    from tests.test_review_reports import download, request_review

    campaign = make_campaign(world, "open", votes=[[1, 1, 1]] * 5)
    appoint(login("county_officer"), world.union_a, "m5")
    appoint(login("city_officer"), world.other_county, "outsider")  # elsewhere in the tree: not listed
    close_and_publish(world, campaign)
    city = login("city_officer")
    page = city.get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "county_officer 任命 会员5 为甲公司工会工作人员" in page and "乙会员" not in page
    text = compact(download(city, request_review(city, world.city), tmp_path))
    assert "county_officer任命会员5为甲公司工会工作人员" in text


def test_a_code_nobody_could_confirm_is_not_printed(world, login):
    open_campaign_with_phone(world)
    target = world.members[0].member
    response = login("admin").post(f"/unions/{world.union_a.id}/invitations", data={"member_id": target.id},
                                   follow_redirects=True)
    assert "由下级工会（区、镇）的工作人员发放激活码" in response.get_data(as_text=True)
    assert db.session.scalar(select(Invitation).where(Invitation.member_id == target.id)) is None
