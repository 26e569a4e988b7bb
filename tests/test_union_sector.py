"""The union's sector (所属类型): set when a union is created, changed by the officers managing it."""
import json

import pytest
from sqlalchemy import select

from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.unions.models import Union, UnionSector


def test_a_new_union_is_other_unless_the_officer_says_otherwise(world, login):
    assert world.union_a.sector == UnionSector.other
    officer = login("county_officer")
    response = officer.post(f"/unions/{world.town.id}/children", data={
        "name": "丁科技有限公司工会", "kind": "grassroots", "sector": "non_public_enterprise"})
    assert response.status_code == 302
    union = db.session.scalar(select(Union).where(Union.name == "丁科技有限公司工会"))
    assert union.sector == UnionSector.non_public_enterprise
    assert "非公有制企业" in officer.get(f"/unions/{union.id}").get_data(as_text=True)
    officer.post(f"/unions/{world.town.id}/children", data={"name": "戊厂工会", "kind": "grassroots"})
    assert db.session.scalar(select(Union.sector).where(Union.name == "戊厂工会")) == UnionSector.other


def test_the_managing_officer_changes_the_sector_and_it_is_audited(world, login):
    officer = login("county_officer")
    response = officer.post(f"/unions/{world.union_a.id}/sector", data={"sector": "state_owned_enterprise"},
                            follow_redirects=True)
    assert "所属类型已改为“国有企业”" in response.get_data(as_text=True)
    db.session.refresh(world.union_a)
    assert world.union_a.sector == UnionSector.state_owned_enterprise
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "union.sector_changed"))
    assert entry.object_id == world.union_a.id and entry.actor_id == world.county_officer.id
    assert json.loads(entry.details) == {"before": "other", "after": "state_owned_enterprise"}


@pytest.mark.parametrize("username", ["other_officer", "chair", "m1"])
def test_nobody_else_changes_it(world, login, username):
    response = login(username).post(f"/unions/{world.union_a.id}/sector", data={"sector": "joint"})
    assert response.status_code == 404
    db.session.refresh(world.union_a)
    assert world.union_a.sector == UnionSector.other


@pytest.mark.parametrize("value", ["", "private", "非公有制企业"])
def test_an_unknown_sector_is_refused_and_changes_nothing(world, login, value):
    response = login("county_officer").post(f"/unions/{world.union_a.id}/sector", data={"sector": value})
    assert response.status_code == 400
    db.session.refresh(world.union_a)
    assert world.union_a.sector == UnionSector.other
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "union.sector_changed")) is None
