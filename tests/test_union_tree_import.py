"""The union tree by code: the code on the union page, and `flask rosters import-unions`."""
import json
import re

import pytest
from sqlalchemy import select

from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.unions.models import Union

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


# flask rosters import-unions ------------------------------------------------------------------------

HEADER = "工会代码,工会名称,上级工会代码,类型,所属类型,主席手机号"


def write_csv(tmp_path, lines, encoding="utf-8-sig", name="tree.csv"):
    path = tmp_path / name
    path.write_bytes("\n".join([HEADER, *lines]).encode(encoding))
    return path


def run_import(app, path, *options):
    result = app.test_cli_runner().invoke(args=["rosters", "import-unions", str(path), *options])
    db.session.expire_all()
    return result


def union(code):
    return db.session.scalar(select(Union).where(Union.code == code))


FEDERATION = [
    "C1,江门市总工会,,市总工会,其他,",
    "K1,蓬江区总工会,C1,县（市、区）总工会,其他,",
    "K2,江海区总工会,C1,县（市、区）总工会,其他,",
    "T1,环市街道总工会,K1,镇（街）总工会,其他,",
    "G1,某某有限公司工会,T1,基层工会,非公有制企业,",
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_whole_federation_is_imported_and_a_second_run_changes_nothing(app, database, tmp_path, encoding):
    path = write_csv(tmp_path, FEDERATION, encoding)
    preview = run_import(app, path)
    assert preview.exit_code == 0, preview.output
    assert "new unions" in preview.output and union("C1") is None
    result = run_import(app, path, "--apply")
    assert result.exit_code == 0, result.output
    city, county, town, grassroots = union("C1"), union("K1"), union("T1"), union("G1")
    assert grassroots.path == f"/{city.id}/{county.id}/{town.id}/{grassroots.id}/" and grassroots.depth == 3
    assert grassroots.parent_id == town.id and grassroots.sector.label == "非公有制企业"
    assert town.kind.label == "镇（街）总工会" and city.parent_id is None
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "union_tree.imported")).all()
    assert len(entries) == 1 and json.loads(entries[0].details)["new"] == 5
    again = run_import(app, path, "--apply")
    assert again.exit_code == 0 and "nothing to change" in again.output
    assert db.session.scalar(select(db.func.count()).select_from(Union)) == 5
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "union_tree.imported")).all()) == 1


def test_an_xlsx_file_with_english_headers_imports_the_same(app, database, tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Code", "Name", "Parent_Code", "Kind", "Sector"])
    for line in FEDERATION:
        sheet.append(line.split(",")[:5])
    path = tmp_path / "tree.xlsx"
    workbook.save(path)
    result = run_import(app, path, "--apply")
    assert result.exit_code == 0, result.output
    assert union("G1").parent_id == union("T1").id


def test_a_rename_and_a_move_carry_the_subtree_along(app, database, tmp_path):
    run_import(app, write_csv(tmp_path, FEDERATION), "--apply")
    moved = [line.replace("T1,环市街道总工会,K1", "T1,环市街道工会联合会,K2") for line in FEDERATION]
    result = run_import(app, write_csv(tmp_path, moved, name="moved.csv"), "--apply")
    assert result.exit_code == 0, result.output
    counts = dict(line.rsplit(None, 1) for line in result.output.splitlines()[1:11])
    assert counts["  renamed"] == "1" and counts["  moved"] == "1" and counts["  unchanged"] == "4"
    city, county, town, grassroots = union("C1"), union("K2"), union("T1"), union("G1")
    assert town.name == "环市街道工会联合会" and town.parent_id == county.id
    assert town.path == f"/{city.id}/{county.id}/{town.id}/"
    assert grassroots.path == f"/{city.id}/{county.id}/{town.id}/{grassroots.id}/"


def test_row_errors_are_listed_and_nothing_is_applied(app, world, tmp_path):
    world.union_b.code = "B1"
    db.session.commit()
    path = write_csv(tmp_path, [
        ",无代码工会,,基层工会,其他,",                       # 2
        "D1,甲,,基层工会,其他,",                             # 3
        "D1,乙,,基层工会,其他,",                             # 4
        "P1,丙,NOPE,基层工会,其他,",                          # 5
        "X1,丁,X2,镇（街）总工会,其他,",                      # 6
        "X2,戊,X1,镇（街）总工会,其他,",                      # 7
        "Y1,己,D1,镇（街）总工会,其他,",                      # 8
        "Y2,庚,,村工会,其他,",                               # 9
        "Y3,辛,,基层工会,民营,",                              # 10
        "Y4,,,基层工会,其他,",                               # 11
        "B1,乙公司工会,,基层工会,其他,",                      # 12
        "Y5,壬,,市总工会,其他,",                              # 13
        "代码!,癸,,基层工会,其他,",                           # 14
    ])
    result = run_import(app, path, "--under", str(world.county.id), "--apply")
    assert result.exit_code != 0
    for expected in ["row 2, 工会代码: 工会代码为空。",
                     "row 4, 工会代码: 工会代码“D1”在文件中重复出现（第 3 行已有）。",
                     "row 5, 上级工会代码: 上级工会代码“NOPE”在文件和本次导入的范围内都找不到。",
                     "row 6, 上级工会代码: 上级工会关系形成循环（该工会成了自己的下级）。",
                     "row 8, 类型: 基层工会下不能设立镇（街）总工会。",
                     "row 9, 类型: 类型“村工会”无法识别",
                     "row 10, 所属类型: 所属类型“民营”无法识别",
                     "row 11, 工会名称: 工会名称为空。",
                     "row 12, 工会代码: 工会代码“B1”已被本次导入范围以外的“乙公司工会”使用。",
                     "row 13, 类型: 县（市、区）总工会下不能设立市总工会。",
                     "row 14, 工会代码: 工会代码只能由 1 至 32 位字母、数字和连字符（-）组成。"]:
        assert expected in result.output
    assert union("D1") is None and union("Y3") is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "union_tree.imported")) is None


def test_missing_unions_are_dissolved_only_with_the_flag(app, world, tmp_path):
    under = ("--under", str(world.county.id))
    run_import(app, write_csv(tmp_path, ["T1,会城二街道总工会,,镇（街）总工会,其他,",
                                         "G1,丙公司工会,T1,基层工会,其他,"]), *under, "--apply")
    shorter = write_csv(tmp_path, ["T1,会城二街道总工会,,镇（街）总工会,其他,"], name="shorter.csv")
    result = run_import(app, shorter, *under, "--apply")
    assert result.exit_code == 0 and "to dissolve (not in the file)" in result.output
    assert union("G1").dissolved_at is None
    result = run_import(app, shorter, *under, "--apply", "--dissolve-missing")
    assert result.exit_code == 0 and "1 unions marked as dissolved" in result.output
    assert union("G1").dissolved_at is not None and union("G1").name == "丙公司工会"
    assert world.union_a.dissolved_at is None  # without a code: not the file's to dissolve


def test_the_chair_is_appointed_from_the_roster_by_phone(app, world, tmp_path):
    from evalapp.accounts.models import Role, RoleGrant

    world.town.code, world.union_a.code = "T0", "A1"
    world.members[0].member.phone = "13800138001"
    db.session.commit()
    under = ("--under", str(world.county.id))
    row = "A1,甲公司工会,T0,基层工会,其他,{}"
    lines = ["T0,会城街道总工会,,镇（街）总工会,其他,", row.format("13800138009")]
    result = run_import(app, write_csv(tmp_path, lines), *under, "--apply")
    assert "row 3, 主席手机号: 该工会的花名册上没有手机号为“13800138009”的在册会员。" in result.output
    lines[1] = row.format("13800138001")
    result = run_import(app, write_csv(tmp_path, lines, name="ok.csv"), *under, "--apply")
    assert result.exit_code == 0, result.output
    chairs = db.session.scalars(select(RoleGrant.account_id).where(
        RoleGrant.union_id == world.union_a.id, RoleGrant.role == Role.chair)).all()
    assert chairs == [world.members[0].id]
    again = run_import(app, write_csv(tmp_path, lines, name="ok.csv"), *under, "--apply")
    assert "nothing to change" in again.output


def test_the_template_imports_as_it_is_once_its_example_parent_exists(app, world, login, tmp_path):
    response = login("county_officer").get("/unions/import-template.csv")
    assert response.status_code == 200 and response.data.startswith("\ufeff工会代码,工会名称,上级工会代码".encode())
    assert login("m1").get("/unions/import-template.csv").status_code in (403, 404)
    path = tmp_path / "template.csv"
    path.write_bytes(response.data.replace("县（市、区）总工会,其他".encode(), "镇（街）总工会,其他".encode())
                     .replace(b"13800138000", b""))
    result = run_import(app, path, "--under", str(world.county.id), "--apply")
    assert result.exit_code == 0, result.output
    assert union("91440700MA00000002").parent_id == union("91440700MA00000001").id


def test_a_dissolved_union_gets_no_new_campaign_in_a_batch(world):
    from evalapp.campaigns.batches import BatchSpec, select_unions
    from evalapp.campaigns.models import BatchRule
    from evalapp.core.timeutil import utcnow

    spec = BatchSpec(template=world.form, title="年度评议", rule=BatchRule.kind, params={"kind": "grassroots"},
                     title_pattern="{工会}评议")

    def considered():
        selection = select_unions(world.county_officer, world.county, spec)
        return {candidate.union_id for candidate in selection.chosen + selection.skipped}

    assert world.union_a.id in considered()
    world.union_a.dissolved_at = utcnow()
    db.session.commit()
    assert world.union_a.id not in considered()


def test_a_dissolved_union_is_marked_gets_no_campaign_and_leaves_the_filters(world, login):
    from evalapp.campaigns.models import Campaign
    from evalapp.core.timeutil import utcnow

    world.town.dissolved_at = utcnow()
    db.session.commit()
    officer = login("county_officer")
    county_page = officer.get(f"/unions/{world.county.id}").get_data(as_text=True)
    assert re.search(r">会城街道总工会</a> <span class=\"badge\">已撤销</span>", county_page)
    response = officer.post(f"/unions/{world.town.id}/campaigns/new", data={
        "title": "撤销后的评议", "subject_kind": "chair", "electorate_scope": "union", "template_id": str(world.form.id)})
    assert response.status_code == 400 and "该工会已撤销，不能发起评议。" in response.get_data(as_text=True)
    assert db.session.scalar(select(Campaign.id).where(Campaign.title == "撤销后的评议")) is None
    filters = officer.get("/rectifications/").get_data(as_text=True)
    assert f'value="{world.county.id}"' in filters and f'value="{world.town.id}"' not in filters


def test_a_union_cannot_change_to_a_type_its_remaining_children_cannot_sit_under(app, world, tmp_path):
    world.town.code = "T0"
    db.session.commit()
    result = run_import(app, write_csv(tmp_path, ["T0,会城街道总工会,,基层工会,其他,"]),
                        "--under", str(world.county.id), "--apply")
    assert "row 2, 类型: 该工会下有基层工会“甲公司工会”，不能改为基层工会。" in result.output
    db.session.refresh(world.town)
    assert world.town.kind.label == "镇（街）总工会"


# The same from the union page ------------------------------------------------------------------------

@pytest.fixture
def roster_folder(app, tmp_path, monkeypatch):
    """Uploaded tree files are kept where roster files are, a folder of the test's own."""
    monkeypatch.setitem(app.config, "ROSTER_UPLOAD_FOLDER", str(tmp_path / "roster-uploads"))
    return tmp_path / "roster-uploads"


def upload_tree(client, union_id, lines, filename="tree.csv", encoding="utf-8-sig"):
    import io

    body = "\n".join([HEADER, *lines]).encode(encoding)
    response = client.post(f"/rosters/unions/{union_id}/tree-import", data={"tree": (io.BytesIO(body), filename)},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


BELOW_COUNTY = ["T2,会城二街道总工会,,镇（街）总工会,其他,", "G2,丙公司工会,T2,基层工会,国有企业,",
                "G3,丁公司工会,T2,基层工会,其他,"]


def test_an_officer_previews_then_applies_a_tree_from_the_union_page(world, login, roster_folder):
    officer = login("county_officer")
    assert "从文件导入下属工会" in officer.get(f"/unions/{world.county.id}").get_data(as_text=True)
    job_page = upload_tree(officer, world.county.id, BELOW_COUNTY)
    page = officer.get(job_page).get_data(as_text=True)
    assert "检查结果" in page and "确认导入" in page
    assert re.search(r"将设立的新工会</td><td class=\"num\">3<", page)
    assert union("T2") is None                                          # nothing before the confirmation
    response = officer.post(job_page + "/apply", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "导入结果" in page and re.search(r"已设立的新工会</td><td class=\"num\">3<", page)
    db.session.expire_all()
    assert union("G2").parent_id == union("T2").id and union("T2").parent_id == world.county.id
    assert union("G2").path == f"{world.county.path}{union('T2').id}/{union('G2').id}/"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "union_tree.imported"))
    assert entry.actor_id == world.county_officer.id
    assert not any(roster_folder.iterdir())                              # the file is gone once applied
    # The same file again: nothing to do, and no button to do it.
    again = officer.get(upload_tree(officer, world.county.id, BELOW_COUNTY)).get_data(as_text=True)
    assert "没有需要导入的变化" in again and "确认导入</button>" not in again


def test_rows_with_errors_cannot_be_applied_from_the_page(world, login, roster_folder):
    officer = login("county_officer")
    job_page = upload_tree(officer, world.county.id, ["G9,戊公司工会,NOPE,基层工会,其他,"])
    page = officer.get(job_page).get_data(as_text=True)
    assert "上级工会代码“NOPE”在文件和本次导入的范围内都找不到" in page and "确认导入</button>" not in page
    response = officer.post(job_page + "/apply")
    assert response.status_code == 400 and "有错误" in response.get_data(as_text=True)
    assert union("G9") is None


def test_unions_left_out_are_dissolved_only_when_the_officer_ticks_the_box(world, login, roster_folder):
    officer = login("county_officer")
    officer.post(upload_tree(officer, world.county.id, BELOW_COUNTY) + "/apply")
    job_page = upload_tree(officer, world.county.id, BELOW_COUNTY[:2])
    page = officer.get(job_page).get_data(as_text=True)
    assert "同时把文件中没有列出的下级工会标记为“已撤销”" in page
    officer.post(job_page + "/apply")
    db.session.expire_all()
    assert union("G3").dissolved_at is None                              # nothing else changed: nothing done
    job_page = upload_tree(officer, world.county.id, BELOW_COUNTY[:2])
    officer.post(job_page + "/apply", data={"dissolve_missing": "y"})
    db.session.expire_all()
    assert union("G3").dissolved_at is not None and union("G2").dissolved_at is None


def test_the_tree_import_is_only_for_officers_who_manage_the_union(world, login, roster_folder):
    import io

    body = "\n".join([HEADER, *BELOW_COUNTY]).encode()
    for username in ("other_officer", "chair", "m1"):
        response = login(username).post(f"/rosters/unions/{world.county.id}/tree-import",
                                        data={"tree": (io.BytesIO(body), "tree.csv")}, content_type="multipart/form-data")
        assert response.status_code == 404, username
    job_page = upload_tree(login("county_officer"), world.county.id, BELOW_COUNTY)
    assert login("other_officer").get(job_page).status_code == 404
    assert login("other_officer").post(job_page + "/apply").status_code == 404
    assert union("T2") is None


def test_a_file_that_is_no_spreadsheet_is_refused_at_upload(world, login, roster_folder):
    import io

    response = login("county_officer").post(f"/rosters/unions/{world.county.id}/tree-import",
                                            data={"tree": (io.BytesIO(b"PK\x03\x04broken"), "tree.xlsx")},
                                            content_type="multipart/form-data")
    assert response.status_code == 400


def test_the_apply_writes_nothing_if_other_unions_would_change_than_those_previewed(world, login, roster_folder):
    officer = login("county_officer")
    officer.post(upload_tree(officer, world.county.id, BELOW_COUNTY) + "/apply")
    job_page = upload_tree(officer, world.county.id, BELOW_COUNTY[:2])     # G3 would be dissolved
    # Before the officer confirms, the tree changes: G3 loses its code, union A gets one. Still one
    # union to dissolve, but not the one the officer saw.
    db.session.expire_all()
    union("G3").code, world.union_a.code = None, "A-NEW"
    db.session.commit()
    page = officer.post(job_page + "/apply", data={"dissolve_missing": "y"}, follow_redirects=True).get_data(as_text=True)
    assert "检查之后工会组织架构有了变化" in page
    db.session.expire_all()
    assert world.union_a.dissolved_at is None
