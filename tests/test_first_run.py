"""A fresh install: the first administrator from the command line, the top union from the first-run
page, the tree below it from a file; and no demo in a production configuration."""
import io

import sqlalchemy as sa

from evalapp.accounts.models import Account
from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.unions.models import Union, UnionKind

STRONG = "Jiangmen-Admin-2026!"  # nosec B105: the test administrator's chosen password


def create_admin(app, *args, password=STRONG, repeat=None):
    return app.test_cli_runner().invoke(args=["admin", "create", *args],
                                        input=f"{password}\n{repeat if repeat is not None else password}\n")


def test_the_first_administrator_is_created_with_a_password_asked_for_twice(app, database, login):
    result = create_admin(app, "jgadmin", "--name", "市总工会管理员")
    assert result.exit_code == 0, result.output
    assert STRONG not in result.output
    account = db.session.scalar(sa.select(Account).where(Account.username == "jgadmin"))
    assert account.is_admin and account.display_name == "市总工会管理员" and account.check_password(STRONG)
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.object_id == account.id)) == "account.created"
    assert login("jgadmin", STRONG).get("/").status_code == 302


def test_a_weak_or_mistyped_password_or_a_taken_name_creates_nobody(app, database):
    assert create_admin(app, "a1", password="12345678").exit_code != 0
    assert create_admin(app, "a2", repeat="Something-else-2026!").exit_code != 0
    assert create_admin(app, "a3").exit_code == 0
    taken = create_admin(app, "a3")
    assert taken.exit_code != 0 and "已被使用" in taken.output
    assert db.session.scalars(sa.select(Account.username)).all() == ["a3"]


def test_the_password_cannot_be_given_on_the_command_line(app, database):
    result = app.test_cli_runner().invoke(args=["admin", "create", "a4", "--password", STRONG])
    assert result.exit_code == 2 and db.session.scalar(sa.select(Account)) is None


def test_a_fresh_install_leads_the_administrator_to_create_the_top_union_then_import_the_tree(
        app, database, login, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_UPLOAD_FOLDER", str(tmp_path / "uploads"))
    assert create_admin(app, "jgadmin").exit_code == 0
    admin = login("jgadmin", STRONG)
    home = admin.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/setup")
    assert "创建市总工会" in admin.get("/setup").get_data(as_text=True)
    assert admin.get("/unions/").headers["Location"].endswith("/setup")
    response = admin.post("/setup", data={"name": "江门市总工会", "code": "gh-440700"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "市总工会已创建" in page and "从文件导入下属工会" in page
    city = db.session.scalar(sa.select(Union))
    assert (city.name, city.kind, city.code, city.parent_id) == ("江门市总工会", UnionKind.city, "GH-440700", None)
    assert admin.get("/setup").status_code == 302                       # only once
    assert admin.post("/setup", data={"name": "第二个市总工会"}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Union)) == 1
    tree = "工会代码,工会名称,上级工会代码,类型\nK1,蓬江区总工会,,县（市、区）总工会\n".encode()
    job = admin.post(f"/rosters/unions/{city.id}/tree-import", data={"tree": (io.BytesIO(tree), "tree.csv")},
                     content_type="multipart/form-data").headers["Location"]
    admin.post(job + "/apply")
    assert db.session.scalar(sa.select(Union).where(Union.code == "K1")).parent_id == city.id


def test_only_an_administrator_sees_the_first_run_page(app, database, login):
    from tests.factories import make_account

    make_account("officer0")
    db.session.commit()
    client = login("officer0")
    assert client.get("/setup").status_code == 404
    assert client.post("/setup", data={"name": "冒名的市总工会"}).status_code == 404
    assert db.session.scalar(sa.select(Union)) is None


def test_the_demo_is_refused_in_a_production_configuration(app, database, monkeypatch):
    monkeypatch.setitem(app.config, "PRODUCTION", True)
    result = app.test_cli_runner().invoke(args=["demo", "load-if-empty"])
    assert result.exit_code != 0 and "flask admin create" in result.output
    assert db.session.scalar(sa.select(Union)) is None and db.session.scalar(sa.select(Account)) is None
