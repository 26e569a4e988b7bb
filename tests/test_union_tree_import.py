"""The union tree by code: the code on the union page, and `flask rosters import-unions`."""
import json

from sqlalchemy import select

from evalapp.core.audit import AuditEntry
from evalapp.core.db import db

# The code on the union page -----------------------------------------------------------------------


def test_an_officer_above_sets_the_code_normalised_and_audited(world, login):
    officer = login("county_officer")
    response = officer.post(f"/unions/{world.union_a.id}/code", data={"code": " ９１４４０７-abc "},
                            follow_redirects=True)
    assert "工会代码已保存" in response.get_data(as_text=True)
    db.session.refresh(world.union_a)
    assert world.union_a.code == "914407-ABC"
    assert "914407-ABC" in officer.get(f"/unions/{world.union_a.id}").get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "union.code_changed"))
    assert json.loads(entry.details) == {"before": None, "after": "914407-ABC"}
    assert entry.actor_id == world.county_officer.id


def test_a_duplicate_or_bad_code_is_refused_in_chinese(world, login):
    world.union_b.code = "X1"
    db.session.commit()
    officer = login("county_officer")
    response = officer.post(f"/unions/{world.union_a.id}/code", data={"code": "x1"})
    assert response.status_code == 400
    assert "工会代码“X1”已被“乙公司工会”使用" in response.get_data(as_text=True)
    response = officer.post(f"/unions/{world.union_a.id}/code", data={"code": "代码 1"})
    assert response.status_code == 400
    assert "只能由 1 至 32 位字母、数字和连字符" in response.get_data(as_text=True)
    db.session.refresh(world.union_a)
    assert world.union_a.code is None


def test_the_union_itself_cannot_set_its_own_code(world, login):
    response = login("county_officer").post(f"/unions/{world.county.id}/code", data={"code": "C1"})
    assert response.status_code == 403
    assert "工会代码（修改）" not in login("county_officer").get(f"/unions/{world.county.id}").get_data(as_text=True)
    db.session.refresh(world.county)
    assert world.county.code is None
