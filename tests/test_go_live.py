"""A federation switches evalapp on: from an empty database, its tree and rosters from two files, a
city-wide batch of chair evaluations, and everyone told (the chairs, and every elector, with an
account or not), by inbox and by SMS through a real gateway."""
import re

import pytest
import sqlalchemy as sa

from evalapp.accounts.models import Account, Role, RoleGrant
from evalapp.campaigns.batches import BatchSpec, apply_to_batch, create_batch, select_unions
from evalapp.campaigns.models import BatchRule, Campaign, CampaignState
from evalapp.core.db import db
from evalapp.duty_reports.operations import save_report
from evalapp.notifications import delivery
from evalapp.notifications.models import Notification
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item, create_questionnaire
from evalapp.unions.invitations import activate, issue_invitations
from evalapp.unions.models import Member, Union
from tests.builders import make_id, next_local_hour
from tests.factories import make_account
from tests.sms_gateway import SECRET, Gateway

TREE = ["工会代码,工会名称,上级工会代码,类型,所属类型,主席手机号",
        "C1,江门市总工会,,市总工会,其他,",
        "K1,蓬江区总工会,C1,县（市、区）总工会,其他,",
        "T1,白沙街道总工会,K1,镇（街）总工会,其他,",
        "G1,甲电器有限公司工会,T1,基层工会,非公有制企业,",
        "G2,乙五金有限公司工会,T1,基层工会,非公有制企业,"]
ROSTER = ["姓名,手机号,身份证号,工会代码",
          *(f"会员{i},1390000000{i},{make_id(i + 1)},{'G1' if i < 3 else 'G2'}" for i in range(6))]
PASSWORD = "Baisha-Chair-2026!"  # nosec B105: a test member's chosen password


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines), encoding="utf-8-sig")
    return str(path)


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


@pytest.mark.service
def test_a_federation_goes_from_two_files_to_a_city_wide_batch_where_everyone_is_told(
        app, database, tmp_path, monkeypatch):
    gateway = Gateway().start()
    for key, value in {"SMS_GATEWAY_URL": gateway.url, "SMS_GATEWAY_SECRET": SECRET,
                       "PUBLIC_URL": "https://pj.example.cn"}.items():
        monkeypatch.setitem(app.config, key, value)
    ten = next_local_hour(10)                                       # daytime: no quiet hours for the SMS
    monkeypatch.setattr(delivery, "utcnow", lambda: ten)
    try:
        # The tree, then the rosters, each from one file. The file names the chairs already: new unions
        # have no roster yet, so they are appointed when the same file is imported again.
        chairs = {"G1": "13900000000", "G2": "13900000003"}
        with_chairs = [line if not line.startswith(("G1", "G2")) else line + chairs[line[:2]] for line in TREE]
        first = cli(app, "rosters", "import-unions", write(tmp_path, "tree.csv", with_chairs), "--apply")
        assert re.search(r"chairs of new unions \(import again after the rosters\)\s+2", first)
        city = db.session.scalar(sa.select(Union).where(Union.code == "C1"))
        cli(app, "rosters", "import", write(tmp_path, "roster.csv", ROSTER), "--union", str(city.id), "--apply")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == 6
        officer = make_account("city_officer", "市总工会工作人员", officer_of=city)
        # Each union's first member activates an account with the printed code, and becomes its chair
        # through the tree file's 主席手机号 column.
        for code, phone in chairs.items():
            union = db.session.scalar(sa.select(Union).where(Union.code == code))
            issued = {i.member.phone: i.code for i in issue_invitations(union, officer)}
            activate(phone, issued[phone], PASSWORD)
        db.session.commit()
        cli(app, "rosters", "import-unions", write(tmp_path, "tree.csv", with_chairs), "--apply")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoleGrant).where(RoleGrant.role == Role.chair)) == 2

        # A city-wide batch: every grassroots union's chair is asked for a report, then voting opens.
        form = create_questionnaire(city, "基层工会主席述职评议表")
        for prompt in ("履职尽责", "联系职工", "廉洁自律"):
            add_item(form, ItemKind.satisfaction3, prompt)
        db.session.commit()
        spec = BatchSpec(title="2026年度基层工会主席述职评议", template=form, rule=BatchRule.kind,
                         params={"kind": "grassroots"})
        digest = select_unions(officer, city, spec).digest
        batch, _created = create_batch(officer, city, spec, "cd" * 16, digest)
        db.session.commit()
        apply_to_batch(batch, "start_reporting", officer)
        db.session.commit()
        requested = sorted(m["to"] for m in gateway.messages if m["kind"] == "report.requested")
        assert requested == sorted(chairs.values())
        for campaign in db.session.scalars(sa.select(Campaign).where(Campaign.batch_id == batch.id)):
            chair = db.session.scalar(sa.select(Account).join(RoleGrant).where(
                RoleGrant.union_id == campaign.union_id, RoleGrant.role == Role.chair))
            save_report(campaign, chair, "<p>一年来的工作。</p>")
        db.session.commit()
        apply_to_batch(batch, "open", officer)
        db.session.commit()
        assert all(c.state == CampaignState.open for c in db.session.scalars(sa.select(Campaign)))

        opened = [m for m in gateway.messages if m["kind"] == "voting.opened"]
        # The four electors (the chairs do not evaluate themselves) have no account: texted how to activate.
        assert sorted(m["to"] for m in opened) == ["13900000001", "13900000002", "13900000004", "13900000005"]
        assert all("激活码" in m["content"] and m["link"] == "https://pj.example.cn/activate" for m in opened)
        assert gateway.refused == []
        chairs_inbox = db.session.scalars(sa.select(Notification.kind).join(Account).where(
            Account.username.in_(chairs.values()))).all()
        assert sorted(chairs_inbox) == ["report.requested", "report.requested"]
    finally:
        gateway.stop()
