"""Roster import: preview with row errors, idempotent apply in one transaction, scope and secrecy."""
import io
import random
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from evalapp.core import audit
from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.core.jobs import run_in_background
from evalapp.core.timeutil import utcnow
from evalapp.rosters import importer, operations
from evalapp.rosters.checking import id_number_hasher, id_number_ok
from evalapp.rosters.models import ImportJob, ImportStage
from evalapp.unions.models import Member, UnionKind
from evalapp.unions.operations import add_member, create_union, hash_id_number, valid_id_number
from evalapp.voting.models import Ballot, Participation
from tests.builders import ROSTER_HEADER, csv_file, make_id, xlsx_file
from tests.factories import make_campaign


def wrong_check_digit(number):
    return number[:17] + ("0" if number[17] != "0" else "1")


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "ROSTER_UPLOAD_FOLDER", str(folder))
    return folder


@pytest.fixture
def town_c(world):
    """A second grassroots union under the same town as union A."""
    union = create_union("丙公司工会", UnionKind.grassroots, world.town)
    db.session.commit()
    return union


def person(union, name, number, phone=None, active=True):
    member = add_member(union, name, phone, number)
    member.active = active
    db.session.commit()
    return member


def upload(client, union, data, filename="花名册.csv"):
    return client.post(f"/rosters/unions/{union.id}/import", data={"roster": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def job_of(response):
    assert response.status_code == 302, response.get_data(as_text=True)
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    db.session.expire_all()
    return db.session.get(ImportJob, job_id)


def run_import(union, actor, data, apply=True, skip_errors=False, filename="roster.csv"):
    """Upload, preview and (if asked) apply at the operation level; return the job."""
    job = operations.start_import(union, actor, io.BytesIO(data), filename)
    db.session.commit()
    operations.run_preview(job.id)
    if apply:
        db.session.expire_all()
        operations.request_apply(job, actor, skip_errors)
        db.session.commit()
        operations.run_apply(job.id)
    db.session.expire_all()
    return db.session.get(ImportJob, job.id)


def members_snapshot():
    return db.session.execute(sa.text(
        "SELECT id, union_id, name, phone, id_number_hash, id_number_last4, active, account_id FROM members ORDER BY id")).all()


def audit_count(action=None):
    query = sa.select(sa.func.count()).select_from(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    return db.session.scalar(query)


def by_id_number(number):
    return db.session.scalar(sa.select(Member).where(Member.id_number_hash == hash_id_number(number)))


def errors_of(job):
    return {(row, column): message for row, column, message in job.report_data["errors"]}


# --- checking ------------------------------------------------------------------------------------

def test_fast_id_check_and_hash_agree_with_the_roster_rules():
    rng = random.Random(7)
    samples = [make_id(i, born=f"19{rng.randint(50, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}") for i in range(300)]
    samples += [wrong_check_digit(n) for n in samples[:100]] + ["11010519491231002X", "11010519491231002x", "1" * 17,
                                                               "ABCDEFGHIJKLMNOPQR", "", "1101051949123100AX"]
    samples += ["".join(rng.choice("0123456789X") for _ in range(18)) for _ in range(300)]
    for number in samples:
        assert id_number_ok(number) == valid_id_number(number), number
    hasher = id_number_hasher()
    assert hasher is not hash_id_number
    for number in samples[:20]:
        assert hasher(number) == hash_id_number(number)


# --- preview -------------------------------------------------------------------------------------

def test_preview_lists_each_kind_of_error_with_its_row_and_changes_nothing(world, town_c, login):
    county = world.county
    create_union("同名工会", UnionKind.grassroots, world.town)
    create_union("同名工会", UnionKind.grassroots, county)
    elsewhere = make_id(900)
    person(world.union_b, "乙方已在册", elsewhere)
    duplicate = make_id(7)
    rows = [
        ["张三", "13800138000", make_id(1), "甲公司工会"],            # 2 good
        ["", "13800138001", make_id(2), "甲公司工会"],                # 3 no name
        ["李四", "12345", make_id(3), "甲公司工会"],                  # 4 bad phone
        ["王五", "13800138003", wrong_check_digit(make_id(4)), "甲公司工会"],  # 5 wrong check digit
        ["赵六", "13800138004", make_id(5), "不存在的工会"],           # 6 unknown union
        ["钱七", "13800138005", duplicate, "丙公司工会"],              # 7 duplicate …
        ["钱七", "13800138005", duplicate, "丙公司工会"],              # 8 … of row 7
        ["孙八", "13800138006", elsewhere, "丙公司工会"],              # 9 on a roster outside the scope
        ["周九", "13800138007", "", "丙公司工会"],                     # 10 no ID number
        ["吴十", "13800138008", make_id(9), "同名工会"],               # 11 ambiguous union
        ["郑十一", "13800138009", make_id(10), "乙公司工会"],          # 12 a union outside the scope
        ["冯十二", "13800138010", make_id(11), ""],                   # 13 no union
    ]
    before, audits = members_snapshot(), audit_count()
    client = login("county_officer")
    job = job_of(upload(client, county, csv_file(rows)))
    assert job.stage == ImportStage.previewed
    errors = errors_of(job)
    assert errors[(3, "姓名")] == "姓名为空。"
    assert "手机号“12345”格式不正确" in errors[(4, "手机号")]
    assert "校验位不正确" in errors[(5, "身份证号")]
    assert "不存在的工会" in errors[(6, "工会")] and "不在本次导入的范围" in errors[(6, "工会")]
    assert "与第 8 行相同" in errors[(7, "身份证号")]
    assert "与第 7 行重复" in errors[(8, "身份证号")]
    assert "范围以外的工会花名册" in errors[(9, "身份证号")] and "乙公司工会" not in errors[(9, "身份证号")]
    assert errors[(10, "身份证号")] == "身份证号为空。"
    assert "不止一个" in errors[(11, "工会")]
    assert "不在本次导入的范围" in errors[(12, "工会")]
    assert errors[(13, "工会")] == "工会为空。"
    assert len(errors) == 11
    counts = job.counts
    assert counts["rows"] == 12 and counts["errors"] == 11 and counts["new"] == 1
    assert counts["deactivated"] == 0 and counts["without_id"] == 6  # the world's members have no ID numbers

    page = client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)
    assert "检查结果" in page and '<td class="num">9</td><td>身份证号</td>' in page
    assert "跳过有错误的行" in page
    refused = client.post(f"/rosters/jobs/{job.id}/apply", data={})
    assert refused.status_code == 400 and "11 行有错误" in refused.get_data(as_text=True)
    assert members_snapshot() == before and audit_count() == audits


def test_headers_with_spaces_aliases_and_a_title_row_are_accepted(world, login):
    data = xlsx_file([["张三", 13800138000, make_id(1), "甲公司工会"]],
                     header=[" 姓名 ", "手机号码", " 身份证号码", "工会 "], title="2026年会员花名册")
    job = job_of(upload(login("county_officer"), world.county, data, "名册.xlsx"))
    assert job.stage == ImportStage.previewed and job.counts["new"] == 1 and job.counts["errors"] == 0


@pytest.mark.parametrize("header, missing", [
    (["姓名", "手机号", "工会"], "身份证号"),
    (["姓名", "身份证号", "工会"], "手机号"),
    (["姓名", "手机号", "身份证号"], "工会"),
])
def test_files_without_the_required_headers_are_refused(world, login, upload_folder, header, missing):
    response = upload(login("county_officer"), world.county, csv_file([["张三"] * len(header)], header=header))
    assert response.status_code == 400
    assert f"文件缺少必需的列：{missing}" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportJob)) == 0
    assert not any(upload_folder.iterdir())


def test_a_grassroots_union_may_leave_out_the_union_column(world, login):
    rows = [["张三", "13800138000", make_id(1)], ["李四", "", make_id(2)]]
    job = job_of(upload(login("county_officer"), world.union_a, csv_file(rows, header=["姓名", "手机号", "身份证号"])))
    assert job.counts["new"] == 2 and job.counts["errors"] == 0


@pytest.mark.parametrize("data, message", [
    (b"", "文件是空的"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "不支持旧版 Excel"),
    (b"PK\x03\x04 not really a workbook", "无法读取该 Excel 文件"),
    (b"name,phone\nx,y\n", "找不到表头"),
    ("姓名,手机号,身份证号,工会\n".encode(), "没有会员数据"),
])
def test_unreadable_or_empty_files_get_a_clear_message(world, login, upload_folder, data, message):
    client = login("county_officer")
    response = upload(client, world.county, data)
    if response.status_code == 302:  # a header without rows is found by the preview
        job = job_of(response)
        assert job.stage == ImportStage.failed and message in job.message
        assert message in client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)
    else:
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert not any(upload_folder.iterdir())


# --- apply ---------------------------------------------------------------------------------------

def test_apply_adds_updates_moves_reactivates_and_deactivates(world, town_c, login, upload_folder):
    renamed = person(world.union_a, "旧名字", make_id(1), "13800138001")
    mover = person(world.union_a, "调动者", make_id(2), "13800138002")
    returning = person(world.union_a, "回来的人", make_id(3), "13800138003", active=False)
    leaver = person(world.union_a, "离开的人", make_id(4), "13800138004")
    same = person(town_c, "不变的人", make_id(5), "13800138005")
    newcomer_from_elsewhere = person(world.union_b, "曾在乙公司", make_id(6), "13800138006", active=False)
    rows = [
        ["新名字", "13900139001", make_id(1), "甲公司工会"],
        ["调动者", "", make_id(2), " 丙公司工会 "],
        ["回来的人", "13800138003", make_id(3), "甲公司工会"],
        ["不变的人", "13800138005", make_id(5), "丙公司工会"],
        ["曾在乙公司", "13800138006", make_id(6), "甲公司工会"],
        ["新会员", "13800138007", make_id(7).lower(), "丙公司工会"],
    ]
    others, audits = members_snapshot(), audit_count()
    client = login("county_officer")
    job = job_of(upload(client, world.county, csv_file(rows)))
    assert job.counts == {"rows": 6, "unusable_ids": 0, "new": 1, "updated": 1, "moved": 2, "transferred_in": 1, "reactivated": 1,
                          "unchanged": 1, "deactivated": 1, "without_id": 6, "active_before": 10, "errors": 0}
    assert {row[0] for row in members_snapshot()} == {row[0] for row in others}
    preview = client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)
    assert "现有在册会员 10 人，其中 1 人不在文件中" in preview and "确认导入" in preview

    response = client.post(f"/rosters/jobs/{job.id}/apply", data={})
    assert response.status_code == 302
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.stage == ImportStage.applied and job.counts["skipped"] == 0
    assert (renamed.name, renamed.phone, renamed.union_id) == ("新名字", "13900139001", world.union_a.id)
    assert (mover.union_id, mover.phone, mover.active) == (town_c.id, "13800138002", True)  # empty phone keeps the old
    assert returning.active and not leaver.active and leaver.union_id == world.union_a.id
    assert (same.name, same.union_id, same.active) == ("不变的人", town_c.id, True)
    assert (newcomer_from_elsewhere.union_id, newcomer_from_elsewhere.active) == (world.union_a.id, True)
    new = by_id_number(make_id(7))
    assert (new.name, new.union_id, new.id_number_last4, new.active, new.account_id) == (
        "新会员", town_c.id, make_id(7)[-4:], True, None)
    assert all(m.active for m in world.union_a.members if m.id_number_hash is None)  # no ID: left alone
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == len(others) + 1

    assert audit_count() == audits + 1
    entry = db.session.scalar(sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    assert entry.action == "roster.imported" and entry.object_type == "ImportJob" and entry.object_id == job.id
    assert entry.actor_id == world.county_officer.id
    assert '"new": 1' in entry.details and '"deactivated": 1' in entry.details
    assert audit.verify_chain() is None
    assert not any(upload_folder.iterdir())

    page = client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)
    assert "导入结果" in page and "已导入" in page and 'http-equiv="refresh"' not in page
    roster = client.get(f"/unions/{world.union_a.id}").get_data(as_text=True)
    assert "新名字" in roster and "导入花名册" in roster


def test_reimporting_the_same_file_changes_nothing(world, town_c):
    rows = [[f"会员{i}", f"138001380{i:02d}", make_id(i), "甲公司工会" if i % 2 else "丙公司工会"] for i in range(1, 30)]
    data = csv_file(rows)
    first = run_import(world.county, world.county_officer, data)
    assert first.stage == ImportStage.applied and first.counts["new"] == 29
    before = members_snapshot()
    second = run_import(world.county, world.county_officer, data)
    assert second.stage == ImportStage.applied
    counts = second.counts
    assert counts["unchanged"] == 29
    assert counts["new"] == counts["updated"] == counts["moved"] == counts["reactivated"] == counts["deactivated"] == 0
    assert members_snapshot() == before
    assert audit_count("roster.imported") == 2


@pytest.mark.parametrize("where", ["deactivations", "audit"])
def test_a_failure_half_way_through_the_apply_leaves_the_database_as_it_was(world, town_c, monkeypatch,
                                                                          upload_folder, where):
    person(world.union_a, "改名前", make_id(1))
    person(world.union_a, "将离开", make_id(2))
    rows = [["改名后", "13800138000", make_id(1), "丙公司工会"], ["新人", "13800138001", make_id(3), "甲公司工会"]]
    before, audits = members_snapshot(), audit_count()
    if where == "deactivations":  # after the updates and inserts have run
        monkeypatch.setattr(importer, "APPLY_DEACTIVATIONS", sa.text("UPDATE members SET active = no_such_column"))
    else:
        def broken(*_args, **_kwargs):
            raise RuntimeError("disk full")
        monkeypatch.setattr(importer.audit, "record", broken)
    job = run_import(world.county, world.county_officer, csv_file(rows))
    assert job.stage == ImportStage.failed and job.message == operations.FAILED
    assert members_snapshot() == before and audit_count() == audits
    assert job.stored_name is None and not any(upload_folder.iterdir())


def test_errors_block_the_apply_unless_the_officer_skips_them(world, town_c):
    present = person(world.union_a, "有错的行", make_id(1), "13800138001")
    rows = [["有错的行", "123", make_id(1), "甲公司工会"], ["新人", "13800138002", make_id(2), "丙公司工会"]]
    job = run_import(world.county, world.county_officer, csv_file(rows), apply=False)
    assert job.counts["errors"] == 1 and job.counts["deactivated"] == 0
    with pytest.raises(operations.Refused, match="1 行有错误"):
        operations.request_apply(job, world.county_officer)
    db.session.rollback()
    operations.request_apply(job, world.county_officer, skip_errors=True)
    db.session.commit()
    operations.run_apply(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.stage == ImportStage.applied and job.counts["skipped"] == 1 and job.skip_errors
    # The skipped row still names its person: kept on the roster, not updated.
    assert present.active and present.phone == "13800138001"
    assert by_id_number(make_id(2)).union_id == town_c.id


def test_new_errors_found_at_apply_time_send_the_job_back_to_review(world, town_c):
    job = run_import(world.county, world.county_officer, csv_file([["新人", "13800138000", make_id(1), "甲公司工会"]]),
                     apply=False)
    assert job.counts["errors"] == 0
    person(world.union_b, "同时被别处录入", make_id(1))
    before = members_snapshot()
    operations.request_apply(job, world.county_officer)
    db.session.commit()
    operations.run_apply(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.stage == ImportStage.previewed and "出现了新的错误" in job.message and job.counts["errors"] == 1
    assert members_snapshot() == before


def test_a_deactivated_member_keeps_their_ballots_and_participation(world):
    voter = world.members[0].member
    voter.id_number_hash, voter.id_number_last4 = hash_id_number(make_id(1)), make_id(1)[-4:]
    db.session.commit()
    campaign = make_campaign(world, "closed", votes=[[1, 1, 1], [2, 2, 2]])
    ballots = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot))
    rows = [["别人", "13800138000", make_id(2)]]
    job = run_import(world.union_a, world.county_officer, csv_file(rows, header=["姓名", "手机号", "身份证号"]))
    assert job.stage == ImportStage.applied and job.counts["deactivated"] == 1
    db.session.refresh(voter)
    assert not voter.active and voter.union_id == world.union_a.id
    assert db.session.get(Participation, (campaign.id, voter.id)) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == ballots == 2


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_gb18030(world, encoding):
    rows = [["欧阳娜娜", "13800138000", make_id(1), "甲公司工会"], ["司马懿", "１３８００１３８００１", make_id(2), "甲公司工会"]]
    job = run_import(world.county, world.county_officer, csv_file(rows, encoding=encoding))
    assert job.stage == ImportStage.applied and job.counts["new"] == 2, job.report
    assert by_id_number(make_id(1)).name == "欧阳娜娜"
    assert by_id_number(make_id(2)).phone == "13800138001"


def test_xlsx_import(world, town_c):
    rows = [["张三", 13800138000, make_id(1), "甲公司工会"], [None, None, None, None],
            ["李四", "13800138001", make_id(2), "丙公司工会"], ["王五", "bad", make_id(3), "丙公司工会"]]
    job = run_import(world.county, world.county_officer, xlsx_file(rows), apply=False, filename="名册.xlsx")
    assert job.file_format == "xlsx" and job.counts["rows"] == 3 and job.counts["new"] == 2
    assert list(errors_of(job)) == [(5, "手机号")]  # the blank row 3 is skipped but counted in row numbers


# --- who may see what, and what is kept --------------------------------------------------------

@pytest.mark.parametrize("username", ["other_officer", "chair", "m1", "outsider"])
def test_other_users_get_404_for_the_scope_and_its_jobs(world, login, upload_folder, username):
    job = run_import(world.county, world.county_officer, csv_file([["张三", "13800138000", make_id(1), "甲公司工会"]]),
                     apply=False)
    client = login(username)
    assert client.get(f"/rosters/unions/{world.county.id}/import").status_code == 404
    assert upload(client, world.county, csv_file([["李四", "13800138001", make_id(2), "甲公司工会"]])).status_code == 404
    assert client.get(f"/rosters/jobs/{job.id}").status_code == 404
    assert client.post(f"/rosters/jobs/{job.id}/apply", data={}).status_code == 404
    assert client.post(f"/rosters/jobs/{job.id}/abandon", data={}).status_code == 404
    assert client.get("/rosters/jobs/999999").status_code == 404
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).stage == ImportStage.previewed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportJob)) == 1
    assert len(list(upload_folder.iterdir())) == 1  # only the officer's own file, kept for the apply


@pytest.mark.parametrize("username", ["city_officer", "admin"])
def test_officers_above_and_admins_see_the_job(world, login, username):
    job = run_import(world.county, world.county_officer, csv_file([["张三", "13800138000", make_id(1), "甲公司工会"]]),
                     apply=False)
    assert login(username).get(f"/rosters/jobs/{job.id}").status_code == 200
    assert login("county_officer").get(f"/rosters/unions/{world.union_b.id}/import").status_code == 404


def test_the_full_id_number_is_never_stored_nor_shown(world, login, upload_folder):
    good, bad = make_id(123), wrong_check_digit(make_id(456))
    rows = [["张三", "13800138000", good, "甲公司工会"], ["李四", "13800138001", bad, "甲公司工会"]]
    client = login("county_officer")
    job = job_of(upload(client, world.county, csv_file(rows)))
    page = client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)
    assert f"尾号 {bad[-4:]}" in page
    client.post(f"/rosters/jobs/{job.id}/apply", data={"skip_errors": "y"})
    page += client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)
    page += client.get(f"/unions/{world.union_a.id}").get_data(as_text=True)
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            for value in row:
                assert good[:14] not in str(value) and bad[:14] not in str(value), table.name
    for number in (good, bad):
        assert number[:14] not in page
    assert by_id_number(good).id_number_last4 == good[-4:]
    assert not any(upload_folder.iterdir())


def test_abandoning_a_previewed_import_deletes_its_file(world, login, upload_folder):
    client = login("county_officer")
    job = job_of(upload(client, world.county, csv_file([["张三", "13800138000", make_id(1), "甲公司工会"]])))
    assert len(list(upload_folder.iterdir())) == 1
    response = client.post(f"/rosters/jobs/{job.id}/abandon", data={})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).stage == ImportStage.abandoned
    assert not any(upload_folder.iterdir())
    assert client.post(f"/rosters/jobs/{job.id}/apply", data={}).status_code == 409


def test_imports_left_for_a_day_are_abandoned_with_their_files(world, upload_folder):
    job = run_import(world.county, world.county_officer, csv_file([["张三", "13800138000", make_id(1), "甲公司工会"]]),
                     apply=False)
    job.updated_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    assert operations.abandon_forgotten() == 1
    db.session.commit()
    assert job.stage == ImportStage.abandoned and not any(upload_folder.iterdir())


def test_the_job_page_refreshes_itself_while_running_and_offers_abandon_when_stalled(world, login):
    job = ImportJob(union=world.county, created_by=world.county_officer, filename="x.csv", stage=ImportStage.applying,
                    total=1000, processed=250)
    db.session.add(job)
    db.session.commit()
    client = login("county_officer")
    response = client.get(f"/rosters/jobs/{job.id}")
    page = response.get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page and response.headers["Refresh"] == "2"
    assert "已读取 250 / 约 1000 行" in page and '<progress value="250" max="1000">' in page
    assert "<script" not in page
    assert client.post(f"/rosters/jobs/{job.id}/abandon", data={}).status_code == 409

    job.updated_at = utcnow() - timedelta(minutes=30)
    db.session.commit()
    page = client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page and "可能已经中断" in page
    assert client.post(f"/rosters/jobs/{job.id}/abandon", data={}).status_code == 302


def test_roster_uploads_have_their_own_size_limit(world, login, app, monkeypatch, upload_folder):
    data = csv_file([[f"会员{i}", "13800138000", make_id(i), "甲公司工会"] for i in range(200)])
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)  # the general limit would refuse it
    client = login("county_officer")
    assert upload(client, world.county, data).status_code == 302
    monkeypatch.setitem(app.config, "ROSTER_MAX_UPLOAD_BYTES", 1000)
    assert upload(client, world.county, data).status_code == 413
    assert len(list(upload_folder.iterdir())) == 1  # the accepted one, waiting; nothing left by the refused one


def test_command_line_import_previews_then_applies(world, app, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_file([["张三", "13800138000", make_id(1), "甲公司工会"], ["李四", "1", make_id(2), "甲公司工会"]]))
    db.session.commit()
    runner = app.test_cli_runner()
    preview = runner.invoke(args=["rosters", "import", str(path), "--union", str(world.county.id)])
    assert preview.exit_code == 0, preview.output
    assert "new members" in preview.output and "row 3, 手机号" in preview.output and "nothing was changed" in preview.output
    refused = runner.invoke(args=["rosters", "import", str(path), "--union", str(world.county.id), "--apply"])
    assert refused.exit_code == 1 and "--skip-errors" in refused.output
    applied = runner.invoke(args=["rosters", "import", str(path), "--union", str(world.county.id), "--apply",
                                  "--skip-errors"])
    assert applied.exit_code == 0, applied.output
    assert "import of job" in applied.output and path.exists()
    db.session.expire_all()
    assert by_id_number(make_id(1)).union_id == world.union_a.id and by_id_number(make_id(2)) is None
    assert audit_count("roster.imported") == 1


def test_background_jobs_run_in_a_thread_with_their_own_app_context(app, monkeypatch):
    from flask import current_app

    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    seen = []
    thread = run_in_background(app, lambda value: seen.append((value, current_app.name)), 42)
    assert isinstance(thread, threading.Thread) and thread.daemon
    thread.join(5)
    assert seen == [(42, app.name)]


def test_only_officers_of_the_union_get_the_large_upload_limit(world, login, app, monkeypatch):
    import io

    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)  # the general limit, kept small here
    roster = "姓名,手机号,身份证号\n" + "张三,13800138000,11010519491231002X\n" * 200
    data = {"roster": (io.BytesIO(roster.encode()), "roster.csv")}
    response = login("m1").post(f"/rosters/unions/{world.union_a.id}/import", data=data,
                                content_type="multipart/form-data")
    assert response.status_code == 413
    data = {"roster": (io.BytesIO(roster.encode()), "roster.csv")}
    response = login("county_officer").post(f"/rosters/unions/{world.union_a.id}/import", data=data,
                                            content_type="multipart/form-data")
    assert response.status_code == 302


def test_a_typo_in_an_id_number_marks_nobody_as_left(world, town_c):
    """The real 李四 is on the roster; the file has his ID with a wrong check digit."""
    lisi = person(world.union_a, "李四", make_id(1), "13800138001")
    other = person(world.union_a, "真的离开了", make_id(3), "13800138003")
    rows = [["李四", "13800138001", wrong_check_digit(make_id(1)), "甲公司工会"],
            ["新人", "13800138002", make_id(2), "丙公司工会"]]
    job = run_import(world.county, world.county_officer, csv_file(rows), apply=False)
    assert job.counts["unusable_ids"] == 1 and job.counts["deactivated"] == 0
    assert job.counts["deactivation_withheld"] >= 2  # 李四 and the one who really left (and the world's members)
    operations.request_apply(job, world.county_officer, skip_errors=True)
    db.session.commit()
    operations.run_apply(job.id)
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).stage == ImportStage.applied
    assert db.session.get(Member, lisi.id).active and db.session.get(Member, other.id).active
    assert by_id_number(make_id(2)).union_id == town_c.id


def test_id_numbers_that_excel_stored_as_numbers_are_refused(world, town_c):
    # Find an ID whose float-mangled form still passes the check digit: the dangerous case.
    number = next(n for n in (make_id(serial) for serial in range(1000)) if n[-1] != "X"
                  and valid_id_number(str(int(float(n)))) and str(int(float(n))) != n)
    rows = [["数字身份证", "13800138001", float(number), "丙公司工会"]]  # as Excel stores a typed number
    job = run_import(world.county, world.county_officer, xlsx_file(rows), apply=False, filename="roster.xlsx")
    assert job.counts["errors"] == 1 and job.counts["new"] == 0
    assert "身份证号被存成了数字" in str(job.report_data["errors"])


def test_applying_is_refused_when_the_rosters_changed_since_the_approved_preview(world, town_c):
    rows = [["留下的人", "13800138001", make_id(1), "丙公司工会"]]
    person(town_c, "留下的人", make_id(1), "13800138001")
    job = run_import(town_c, world.county_officer, csv_file(rows, header=ROSTER_HEADER[:3] + ["工会"]), apply=False)
    assert job.counts["deactivated"] == 0
    person(town_c, "后来调入的人", make_id(2), "13800138002")  # another import moved someone in meanwhile
    before = members_snapshot()
    operations.request_apply(job, world.county_officer)
    db.session.commit()
    operations.run_apply(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.stage == ImportStage.previewed and "与您确认时不同" in job.message
    assert job.counts["deactivated"] == 1 and members_snapshot() == before


def test_rows_may_name_their_union_by_code_and_a_code_wins_over_the_name(world, town_c):
    world.union_a.code, town_c.code, world.union_b.code = "A-1", "C-1", "B-1"
    db.session.commit()
    header = [*ROSTER_HEADER, "工会代码"]
    rows = [["会员1", "13800138001", make_id(1), "", "ａ-1"],          # the code alone, full-width
            ["会员2", "13800138002", make_id(2), "甲公司工会", "C-1"],  # the code wins over the name
            ["会员3", "13800138003", make_id(3), "甲公司工会", ""],     # the name when no code
            ["会员4", "13800138004", make_id(4), "甲公司工会", "B-1"]]  # a code outside the scope
    job = run_import(world.county, world.county_officer, csv_file(rows, header), apply=False)
    assert errors_of(job) == {(5, "工会代码"): "工会代码“B-1”不在本次导入的范围（新会区总工会及其下属工会）内。"}
    job = run_import(world.county, world.county_officer, csv_file(rows[:3], header, "gb18030"))
    assert job.stage == ImportStage.applied
    assert by_id_number(make_id(1)).union_id == world.union_a.id
    assert by_id_number(make_id(2)).union_id == town_c.id
    assert by_id_number(make_id(3)).union_id == world.union_a.id


def test_a_code_column_stands_for_the_union_column(world, town_c):
    town_c.code = "C-1"
    db.session.commit()
    data = csv_file([["会员1", "13800138001", make_id(1), "C-1"]], ["姓名", "手机号", "身份证号", "工会代码"])
    job = run_import(world.county, world.county_officer, data)
    assert job.stage == ImportStage.applied and by_id_number(make_id(1)).union_id == town_c.id
