"""Password strength (issue 14, part 5): an estimator (zxcvbn) with Chinese common passwords and the
member's own name (in pinyin) and phone number refuses what guessers try first."""
import pytest

from evalapp.accounts.operations import check_password_policy
from evalapp.core.errors import Refused
from evalapp.unions.operations import add_member
from tests.conftest import TEST_PASSWORD


@pytest.mark.parametrize("weak", ["zhang123", "1q2w3e4r", "P@ssw0rd", "5201314a", "woaini520", "wang1314",
                                  "zhangwei88", "Liu-5201314", "qq1234567", "iloveyou1314", "7758521aa"])
def test_common_chinese_and_keyboard_passwords_are_refused(weak):
    with pytest.raises(Refused) as refused:
        check_password_policy(weak, "m1")
    assert "密码" in refused.value.message


def test_the_members_name_in_pinyin_and_phone_are_refused_with_a_hint():
    for password in ("chenjiaxin1", "Jiaxin2026!", "Chenjiaxin", "ChenJX888", "jiaxin5678"):
        with pytest.raises(Refused) as refused:
            check_password_policy(password, "13912345678", name="陈嘉欣", phone="13912345678")
        message = refused.value.message
        assert "容易被猜到" in message and "不要用自己的姓名（包括拼音）、手机号" in message, message
    with pytest.raises(Refused, match="手机号"):
        check_password_policy("cjx13912345678", "13912345678", name="陈嘉欣", phone="13912345678")
    check_password_policy("chenjiaxin1", "13912345678")  # someone else's name is no weakness of this one


def test_strong_passwords_and_the_test_and_policy_examples_pass():
    for strong in (TEST_PASSWORD, "Gx7-lantern-Quay", "kapok-tree-27", "my-own-pass-1", "chosen-by-me-7",
                   "new-pass-2026", "banyan-2026", "initial-2026", "7391502864"):
        check_password_policy(strong, "m1", name="会员一", phone="13800138000")


def test_the_password_page_refuses_the_name_in_pinyin(world, login):
    from evalapp.core.db import db

    member = world.members[0].member
    member.name, member.phone = "张伟", "13700137000"
    world.members[0].display_name = "张伟"
    db.session.commit()
    client = login("m1")
    response = client.post("/account/password", data={"current": TEST_PASSWORD, "new": "ZhangWei@1985",
                                                        "confirm": "ZhangWei@1985"})
    assert response.status_code == 400 and "容易被猜到" in response.get_data(as_text=True)


def test_activation_refuses_the_name_in_pinyin(world, client):
    from evalapp.core.db import db
    from evalapp.unions.invitations import issue_invitations

    member = add_member(world.union_a, "黄丽华", "13600136000")
    [issued] = issue_invitations(world.union_a, world.county_officer, [member])
    code = issued.code
    db.session.commit()
    response = client.post("/activate", data={"phone": "13600136000", "code": code, "password": "huanglihua66",
                                              "confirm": "huanglihua66"})
    assert response.status_code == 400 and "容易被猜到" in response.get_data(as_text=True)
