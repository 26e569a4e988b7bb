"""Union pages and rosters: who sees them, and adding members with checked phone and ID numbers."""
import pytest
import sqlalchemy as sa

from evalapp.accounts.models import Account
from evalapp.core.db import db
from evalapp.unions.models import Member
from evalapp.unions.operations import valid_id_number

VALID_ID = "11010519491231002X"  # the GB 11643 example number
OTHER_VALID_ID = "440524188001010014"


def _member_count(union=None):
    query = sa.select(sa.func.count()).select_from(Member)
    if union is not None:
        query = query.where(Member.union_id == union.id)
    return db.session.scalar(query)


def _post_member(client, union, **fields):
    data = {"name": "新会员", "phone": "", "id_number": ""}
    data.update(fields)
    return client.post(f"/unions/{union.id}/members", data=data)


@pytest.mark.parametrize("number", [VALID_ID, OTHER_VALID_ID, "440703199001011239", "440705198506150021"])
def test_valid_id_numbers_pass_the_check_digit(number):
    assert valid_id_number(number)


@pytest.mark.parametrize("number", [
    "110105194912310021",   # check digit should be X
    "110105194912310020",
    "440524188001010015",   # check digit should be 4
    "11010519491231002",    # 17 characters
    "11010519491231002XX",  # 19 characters
    "11010519491231002x",   # lowercase is not normalised by the check itself
    "1101051949123100AX",
    "",
])
def test_wrong_id_numbers_fail_the_check(number):
    assert not valid_id_number(number)


@pytest.mark.parametrize("officer", ["city_officer", "county_officer", "admin"])
def test_officer_sees_a_union_in_their_subtree_with_its_roster(world, login, officer):
    response = login(officer).get(f"/unions/{world.union_a.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "甲公司工会" in page
    assert "主席甲" in page
    for i in range(1, 6):
        assert f"会员{i}" in page
    assert "会员花名册（6 人）" in page
    assert "乙会员" not in page


def test_officer_sees_child_unions_with_member_counts(world, login):
    response = login("county_officer").get(f"/unions/{world.town.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "甲公司工会" in page
    assert '<td class="num">6</td>' in page


def test_unions_index_sends_an_officer_to_their_own_union(world, login):
    response = login("county_officer").get("/unions/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/unions/{world.county.id}")


@pytest.mark.parametrize("username", ["other_officer", "m1", "chair", "outsider"])
def test_union_page_is_hidden_outside_the_subtree(world, login, username):
    client = login(username)
    response = client.get(f"/unions/{world.union_a.id}")
    assert response.status_code == 404
    assert "会员花名册" not in response.get_data(as_text=True)


def test_union_above_the_officers_scope_is_hidden(world, login):
    assert login("county_officer").get(f"/unions/{world.city.id}").status_code == 404
    assert login("county_officer").get(f"/unions/{world.union_b.id}").status_code == 404


def test_unknown_union_is_404(world, login):
    assert login("admin").get("/unions/999999").status_code == 404


@pytest.mark.parametrize("username", ["other_officer", "m1", "chair"])
def test_posting_to_a_roster_outside_the_subtree_is_404_and_adds_nobody(world, login, username):
    before = _member_count()
    response = _post_member(login(username), world.union_a, name="闯入者", phone="13800138000")
    assert response.status_code == 404
    assert _member_count() == before


@pytest.mark.parametrize("phone", ["12345", "23800138000", "1380013800", "138001380001", "138-0013-8000"])
def test_bad_phone_is_refused_and_adds_nobody(world, login, phone):
    before = _member_count(world.union_a)
    response = _post_member(login("county_officer"), world.union_a, phone=phone)
    assert response.status_code == 400
    assert "格式不正确（应为 11 位手机号）" in response.get_data(as_text=True)
    assert _member_count(world.union_a) == before


@pytest.mark.parametrize("id_number", ["110105194912310021", "11010519491231002", "ABCDEFGHIJKLMNOPQR"])
def test_bad_id_number_is_refused_and_adds_nobody(world, login, id_number):
    before = _member_count(world.union_a)
    response = _post_member(login("county_officer"), world.union_a, phone="13800138000", id_number=id_number)
    assert response.status_code == 400
    assert "身份证号码格式或校验位不正确。" in response.get_data(as_text=True)
    assert _member_count(world.union_a) == before


def test_missing_name_is_refused(world, login):
    before = _member_count(world.union_a)
    response = _post_member(login("county_officer"), world.union_a, name="  ", phone="13800138000")
    assert response.status_code == 400
    assert "请输入姓名。" in response.get_data(as_text=True)
    assert _member_count(world.union_a) == before


def test_good_member_is_stored_with_only_the_id_hash_and_last_four(world, login):
    client = login("county_officer")
    response = _post_member(client, world.union_a, name="李新", phone="13800138000", id_number=VALID_ID)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/unions/{world.union_a.id}")
    member = db.session.scalar(sa.select(Member).where(Member.name == "李新"))
    assert member is not None and member.union_id == world.union_a.id
    assert member.phone == "13800138000"
    assert member.id_number_last4 == "002X"
    assert member.id_number_hash and len(member.id_number_hash) == 64
    assert member.account_id is None

    row = db.session.execute(sa.text("SELECT * FROM members WHERE id = :id"), {"id": member.id}).one()
    for value in row:
        assert VALID_ID not in str(value)
        assert VALID_ID[:-1] not in str(value)
    for (details,) in db.session.execute(sa.text("SELECT details FROM audit_entries")):
        assert VALID_ID[:-1] not in details

    page = client.get(f"/unions/{world.union_a.id}").get_data(as_text=True)
    assert "已将 李新 加入花名册。" in page
    assert "李新" in page and "002X" in page
    assert VALID_ID not in page


def test_lowercase_check_letter_is_accepted_and_stored_as_x(world, login):
    response = _post_member(login("county_officer"), world.union_a, name="李新", id_number=VALID_ID.lower())
    assert response.status_code == 302
    member = db.session.scalar(sa.select(Member).where(Member.name == "李新"))
    assert member.id_number_last4 == "002X"


def test_duplicate_id_number_is_refused(world, login):
    client = login("county_officer")
    assert _post_member(client, world.union_a, name="李新", id_number=VALID_ID).status_code == 302
    before = _member_count()
    response = _post_member(client, world.union_a, name="王重复", phone="13900139000", id_number=VALID_ID)
    assert response.status_code == 400
    assert "该身份证号码的会员已在花名册中。" in response.get_data(as_text=True)
    assert _member_count() == before


def test_duplicate_id_number_is_refused_in_another_union_and_in_lowercase(world, login):
    assert _post_member(login("county_officer"), world.union_a, name="李新", id_number=VALID_ID).status_code == 302
    before = _member_count()
    response = _post_member(login("city_officer"), world.union_b, name="王重复", id_number=VALID_ID.lower())
    assert response.status_code == 400
    assert "该身份证号码的会员已在花名册中。" in response.get_data(as_text=True)
    assert _member_count() == before


def test_member_added_with_an_account_can_log_in(world, login):
    response = _post_member(login("county_officer"), world.union_a, name="李新", phone="13800138000",
                            id_number=VALID_ID, create_account="y", initial_password="kapok-tree-27")
    assert response.status_code == 302
    member = db.session.scalar(sa.select(Member).where(Member.name == "李新"))
    account = db.session.get(Account, member.account_id)
    assert account.username == "13800138000"
    assert account.display_name == "李新"
    assert not account.is_staff

    client = login("13800138000", "kapok-tree-27")
    assert client.get("/").headers["Location"].endswith("/account/password")  # first, their own password
    client.post("/account/password", data={"current": "kapok-tree-27", "new": "banyan-2026", "confirm": "banyan-2026"})
    home = client.get("/")
    assert home.status_code == 200
    assert "李新" in home.get_data(as_text=True)
    assert client.get(f"/unions/{world.union_a.id}").status_code == 404


def test_account_needs_a_phone_and_a_good_password(world, login):
    client = login("county_officer")
    before_members = _member_count()
    before_accounts = db.session.scalar(sa.select(sa.func.count()).select_from(Account))

    no_phone = _post_member(client, world.union_a, name="李新", create_account="y", initial_password="kapok-tree-27")
    assert no_phone.status_code == 400
    assert "开通账号需要填写手机号" in no_phone.get_data(as_text=True)

    short = _post_member(client, world.union_a, name="李新", phone="13800138000", create_account="y",
                         initial_password="short")
    assert short.status_code == 400
    assert "密码至少需要 8 个字符。" in short.get_data(as_text=True)

    assert _member_count() == before_members
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == before_accounts


def test_phone_already_used_as_a_login_is_refused_with_no_half_made_member(world, login):
    client = login("county_officer")
    first = _post_member(client, world.union_a, name="李新", phone="13800138000", create_account="y",
                         initial_password="kapok-tree-27")
    assert first.status_code == 302
    before = _member_count()
    second = _post_member(client, world.union_a, name="李另", phone="13800138000", create_account="y",
                          initial_password="kapok-tree-27")
    assert second.status_code == 400
    assert "已被使用" in second.get_data(as_text=True)
    assert _member_count() == before


def test_refused_member_keeps_the_child_unions_member_counts_on_the_page(world, login):
    response = _post_member(login("county_officer"), world.town, phone="12345")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "格式不正确" in page
    assert "甲公司工会" in page
    assert '<td class="num">6</td>' in page, "after a refusal the child union's roster count shows 0"


HUGE = "100000000000000000000"  # beyond a 64-bit integer


def test_guessed_huge_union_id_is_404_not_a_server_error(world, login):
    assert login("admin").get(f"/unions/{HUGE}").status_code == 404


def test_huge_roster_page_number_is_not_a_server_error(world, login):
    response = login("county_officer").get(f"/unions/{world.union_a.id}?page={HUGE}")
    assert response.status_code in (200, 404)
