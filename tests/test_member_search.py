"""An officer finds one person among a subtree's members by name, phone or the ID number's last four."""
import re

import pytest
from sqlalchemy import update

from evalapp.core.db import db
from evalapp.unions.models import Member
from tests.factories import add_roster, make_union


@pytest.fixture
def roster(world):
    """Union A's members get phones and ID tails; a big union under the town has many namesakes."""
    for number, member in enumerate(world.members, start=1):
        db.session.execute(update(Member).where(Member.account_id == member.id).values(
            phone=f"1380000{number:04d}", id_number_last4=f"{number:03d}X"))
    big = make_union(world.town, "大企业工会", members=0)
    add_roster(big, 60, prefix="张伟")
    db.session.commit()
    return big


def found(client, union, text):
    page = client.get(f"/unions/{union.id}/members/search", query_string={"q": text}).get_data(as_text=True)
    return page, re.findall(r"<li><strong>([^<]+)</strong>", page)


def test_an_officer_finds_a_member_by_name_phone_or_id_tail_anywhere_in_the_subtree(world, login, roster):
    officer = login("county_officer")
    page, names = found(officer, world.county, "会员3")
    assert names == ["会员3"] and "姓名包含“会员3”：1 人" in page and "甲公司工会" in page
    assert found(officer, world.county, "138 0000 0002")[1] == ["会员2"]            # spaces as people type them
    assert found(officer, world.county, "13800000004")[1] == ["会员4"]
    page, names = found(officer, world.county, "005x")                               # ID tail, any case
    assert names == ["会员5"] and "身份证后四位或手机号后四位为" in page
    assert found(officer, world.county, "0001")[1] == ["会员1"]                      # a phone's last four
    assert found(officer, world.county, "乙会员")[1] == []                           # another county's member


def test_a_common_name_shows_the_first_fifty_and_says_there_are_more(world, login, roster):
    page, names = found(login("county_officer"), world.county, "张伟")
    assert len(names) == 50 and "前 50 人（还有更多" in page


def test_the_search_stays_inside_what_the_officer_manages(world, login, roster):
    assert login("other_officer").get(f"/unions/{world.county.id}/members/search?q=会员").status_code == 404
    assert login("m1").get(f"/unions/{world.union_a.id}/members/search?q=会员").status_code == 404
    page, names = found(login("county_officer"), world.union_a, "张伟")              # 甲公司工会 only
    assert names == [] and "没有找到" in page


@pytest.mark.parametrize("text", ["%", "_", "' OR 1=1 --", "会员%"])
def test_wildcards_and_quotes_are_taken_literally(world, login, roster, text):
    page, names = found(login("county_officer"), world.county, text)
    assert names == [] and "没有找到" in page


def test_the_union_page_offers_the_search(world, login):
    page = login("county_officer").get(f"/unions/{world.union_a.id}").get_data(as_text=True)
    assert f'action="/unions/{world.union_a.id}/members/search"' in page and "姓名、手机号或身份证后四位" in page
    assert "请输入姓名" in found(login("county_officer"), world.county, "长" * 60)[0]
