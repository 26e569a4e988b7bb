"""Roster files built to hurt: decompression bombs, broken quoting and encodings, numbers for ID numbers.

Each gets a clear message on the web and on the command line, quickly and without a traceback, and
changes nothing. Spreadsheets are only ever parsed by the import job, never by the request that
uploads them.
"""
import io
import re
import time
import tracemalloc
import zipfile

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from evalapp.core.db import db
from evalapp.rosters.models import ImportJob, ImportStage
from tests.builders import csv_file, make_id, xlsx_file
from tests.test_rosters import job_of, members_snapshot

ROWS = [["张三", "13800138000", make_id(1), "甲公司工会"], ["李四", "13800138001", make_id(2), "甲公司工会"]]
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def roster_folder(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "ROSTER_UPLOAD_FOLDER", str(folder))
    return folder


def rebuilt(xlsx, name, head, filler, repeat, tail, changes=None):
    """Return `xlsx` with member `name` written as head + filler * repeat + tail, streamed (small in memory).

    `changes` maps other members to their new content.
    """
    changes = changes or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info.filename, changes.get(info.filename, source.read(info)))
        with target.open(name, "w", force_zip64=True) as member:
            member.write(head)
            block = filler * max(1, (1 << 20) // len(filler))
            for _ in range(repeat * len(filler) // len(block)):
                member.write(block)
            member.write(tail)
    return out.getvalue()


SST = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def shared_strings_bomb(megabytes=40):
    """A valid roster with a table of shared strings padded with millions of one-character strings."""
    plain = xlsx_file(ROWS)
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        types = archive.read("[Content_Types].xml")
    types = types.replace(b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST}"/></Types>'.encode())
    head = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    filler = "<si><t>甲</t></si>".encode()
    return rebuilt(plain, "xl/sharedStrings.xml", head, filler, megabytes * MB // len(filler), b"</sst>",
                   changes={"[Content_Types].xml": types})


def huge_cell_bomb(megabytes=200):
    """A valid roster whose title row holds one inline string of `megabytes` of text."""
    plain = xlsx_file(ROWS, title="TITLE")
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    title = re.search(rb'<c r="A1"[^>]*>.*?</c>', sheet)
    head = sheet[:title.start()] + b'<c r="A1" t="inlineStr"><is><t>'
    tail = b"</t></is></c>" + sheet[title.end():]
    return rebuilt(plain, "xl/worksheets/sheet1.xml", head, b"A", megabytes * MB, tail)


def upload(client, union, data, filename="花名册.csv"):
    """Post a roster encoded in memory (the test client would spool a big body into a file it never closes)."""
    boundary, body = encode_multipart(MultiDict({"roster": FileStorage(io.BytesIO(data), filename=filename)}))
    return client.post(f"/rosters/unions/{union.id}/import", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- decompression bombs ----------------------------------------------------------------------------

@pytest.mark.parametrize("build", [shared_strings_bomb, huge_cell_bomb])
def test_a_small_xlsx_that_expands_hugely_is_refused_fast_without_ballooning_the_request(world, login, roster_folder,
                                                                                        build):
    data = build()
    assert len(data) < 1 * MB  # a small upload
    client = login("county_officer")
    before = members_snapshot()

    tracemalloc.start()
    started = time.perf_counter()
    try:
        response = upload(client, world.county, data, "花名册.xlsx")
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 400
    assert "解压后过大" in response.get_data(as_text=True)
    assert elapsed < 10 and peak < 64 * MB, (elapsed, peak / MB)
    assert count(ImportJob) == 0 and members_snapshot() == before
    assert not any(roster_folder.iterdir())


def test_parts_parsed_whole_are_bounded_even_when_they_compress_poorly(world, login, roster_folder):
    """A styles part of 17 MB, stored without compression (so no suspicious ratio): openpyxl would build
    an object for each of its hundreds of thousands of formats."""
    import random

    plain = xlsx_file(ROWS)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/styles.xml":
                formats = "".join(f'<xf numFmtId="{random.randrange(200)}" fontId="0" fillId="0" borderId="0"/>'
                                  for _ in range(320_000))
                content = content.replace(b"</cellXfs>", formats.encode() + b"</cellXfs>")
                assert len(content) > 16 * MB
            target.writestr(info, content)
    response = upload(login("county_officer"), world.county, out.getvalue(), "花名册.xlsx")
    assert response.status_code == 400 and "解压后过大" in response.get_data(as_text=True)
    assert count(ImportJob) == 0 and not any(roster_folder.iterdir())


def test_the_command_line_refuses_an_xlsx_bomb_with_a_message(world, app, tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(shared_strings_bomb())
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rosters", "import", str(path), "--union", str(world.county.id)])
    assert result.exit_code == 1 and "解压后过大" in result.output
    assert isinstance(result.exception, SystemExit)


def test_xlsx_is_parsed_by_the_job_not_by_the_upload_request(world, login, monkeypatch):
    """The request stores the file and checks its container; openpyxl runs only in the job."""
    import evalapp.rosters.views as views
    from evalapp.rosters import parsing

    queued = []
    monkeypatch.setattr(views, "run_in_background", lambda app, fn, *args: queued.append((fn, args)))
    real_load = parsing.openpyxl.load_workbook

    def refuse_load(*args, **kwargs):
        raise AssertionError("openpyxl ran in the web request")

    monkeypatch.setattr(parsing.openpyxl, "load_workbook", refuse_load)
    job = job_of(upload(login("county_officer"), world.county, xlsx_file(ROWS), "花名册.xlsx"))
    assert job.stage == ImportStage.uploaded and len(queued) == 1

    monkeypatch.setattr(parsing.openpyxl, "load_workbook", real_load)
    fn, args = queued[0]
    fn(*args)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.stage == ImportStage.previewed and job.counts["new"] == 2


def test_an_xlsx_without_the_required_columns_fails_on_the_job_page(world, login, roster_folder):
    client = login("county_officer")
    job = job_of(upload(client, world.county, xlsx_file([["张三", "1"]], header=["姓名", "手机号"]), "花名册.xlsx"))
    assert job.stage == ImportStage.failed
    assert "文件缺少必需的列：身份证号" in client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)
    assert not any(roster_folder.iterdir())


# --- broken CSV ---------------------------------------------------------------------------------

def unclosed_quote_file(rows=5000):
    """A large roster whose title row opens a quote it never closes."""
    return ('"2026年会员花名册\n' + "姓名,手机号,身份证号,工会\n"
            + "".join(f"会员{i},1380013{i % 10000:04d},{make_id(i)},甲公司工会\n" for i in range(rows))).encode()


def undecodable_file():
    """A GBK roster with bytes that neither UTF-8 nor GB18030 decodes in its title row."""
    return "2026年会员花名册".encode("gbk") + b"\x81\x20\n" + csv_file(ROWS, encoding="gbk")


CASES = [(unclosed_quote_file, "引号"), (lambda: unclosed_quote_file(rows=20), "引号"),
         (undecodable_file, "UTF-8 或 GB18030")]


def test_a_title_cell_with_a_line_break_is_still_a_title(world, login):
    data = '"2026年\n会员花名册",,,\n'.encode() + csv_file(ROWS)
    job = job_of(upload(login("county_officer"), world.county, data))
    assert job.stage == ImportStage.previewed and job.counts["new"] == 2


@pytest.mark.parametrize("build, message", CASES)
def test_broken_csv_gets_a_clear_message_on_the_web(world, login, roster_folder, build, message):
    data = build()
    before = members_snapshot()
    client = login("county_officer")
    response = upload(client, world.county, data)
    if response.status_code == 302:
        job = job_of(response)
        assert job.stage == ImportStage.failed and message in job.message
        assert message in client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)
    else:
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert members_snapshot() == before
    assert not any(roster_folder.iterdir())


@pytest.mark.parametrize("build, message", CASES)
def test_broken_csv_gets_a_clear_message_on_the_command_line(world, app, tmp_path, build, message):
    path = tmp_path / "roster.csv"
    path.write_bytes(build())
    db.session.commit()
    before = members_snapshot()
    for extra in ([], ["--apply"]):
        result = app.test_cli_runner().invoke(args=["rosters", "import", str(path), "--union", str(world.county.id),
                                                    *extra])
        assert result.exit_code == 1 and message in result.output, result.output
        assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert members_snapshot() == before


def test_undecodable_bytes_in_a_data_row_name_the_row(world, login):
    client = login("county_officer")
    bad_row = "王五,13800138009,".encode() + b"\x81\x20" + b",\xe7\x94\xb2\n"
    # Within the first megabyte the upload is refused at once; further down, the import job names the row.
    response = upload(client, world.county, csv_file(ROWS * 10) + bad_row)
    assert response.status_code == 400 and "第 22 行有无法识别的字符" in response.get_data(as_text=True)
    job = job_of(upload(client, world.county, csv_file(ROWS * 12000) + bad_row))
    # The decoder reads ahead in blocks: the row named is near the bad one, never after it.
    row = int(re.search(r"第 (\d+) 行附近有无法识别的字符", job.message).group(1))
    assert job.stage == ImportStage.failed and 23_900 < row <= 24_002 and "UTF-8 或 GB18030" in job.message


def test_a_csv_line_of_millions_of_empty_fields_is_refused(world, login):
    data = "姓名,手机号,身份证号,工会\n".encode() + b"," * (20 * MB) + b"\n"
    job = job_of(upload(login("county_officer"), world.county, data))
    assert job.stage == ImportStage.failed and "第 2 行过长" in job.message


# --- ID numbers stored as numbers -------------------------------------------------------------------

NUMBER_MESSAGE = "身份证号被存成了数字"


def test_an_id_number_column_stored_as_numbers_in_xlsx_says_so(world, login):
    rows = [["张三", 13800138000, float(make_id(1)), "甲公司工会"], ["李四", 13800138001, int(make_id(2)), "甲公司工会"]]
    job = job_of(upload(login("county_officer"), world.county, xlsx_file(rows), "花名册.xlsx"))
    assert job.stage == ImportStage.previewed and job.counts["errors"] == 2 and job.counts["new"] == 0
    messages = [message for _row, _column, message in job.report_data["errors"]]
    assert all(NUMBER_MESSAGE in message and "文本" in message for message in messages), messages
    assert not any("校验位" in message for message in messages)


def test_an_id_number_in_scientific_notation_in_csv_says_so(world, login, app, tmp_path):
    rows = [["张三", "13800138000", "4.40702198001011E+17", "甲公司工会"]]
    job = job_of(upload(login("county_officer"), world.county, csv_file(rows)))
    assert job.stage == ImportStage.previewed and job.counts["errors"] == 1
    assert NUMBER_MESSAGE in job.report_data["errors"][0][2]
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_file(rows))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rosters", "import", str(path), "--union", str(world.county.id)])
    assert result.exit_code == 0 and NUMBER_MESSAGE in result.output
