"""The duty report: sanitised rich text, checked and re-encoded uploads, range requests, versions, the lock."""
import io
import json
import re
import struct
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.duty_reports.models import DutyReport, FileKind, ReportFile, ReportVersion
from evalapp.duty_reports.operations import add_images, save_report
from tests.builders import PDF, box, docx, jpeg, mp4, stored
from tests.factories import make_campaign

# Every test stores its files in a folder of its own.
pytestmark = pytest.mark.usefixtures("uploads")


def report_url(campaign, suffix=""):
    return f"/campaigns/{campaign.id}/report{suffix}"


def file_url(campaign, file, suffix=""):
    return f"/campaigns/{campaign.id}/report/files/{file.id}{suffix}"


def text(response):
    return response.get_data(as_text=True)


# --- Files only these tests upload ---------------------------------------------------------------


def jpeg_with_gps():
    """A phone photo: camera make, GPS position and 'rotate 90°' orientation in its EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (22.0, 35.0, 1.5), 3: "E", 4: (113.0, 5.0, 2.0)}
    return jpeg((2400, 1800), exif=exif)


def png_claiming(width, height):
    """A tiny PNG whose header claims the given dimensions (a decompression bomb's calling card)."""
    def chunk(kind, data):
        import zlib

        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    import zlib

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def webm(doc_type=b"webm"):
    header = b"\x42\x86\x81\x01" + b"\x42\x82" + bytes([0x80 | len(doc_type)]) + doc_type
    return (b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header
            + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + b"\x00" * 200)


def post_files(client, url, files, **fields):
    """Post `files` ({field: [(content, name, type)]}) as multipart, encoded in memory.

    (Werkzeug's test client spools big bodies into a temporary file that it never closes.)
    """
    values = MultiDict(fields)
    for field, items in files.items():
        for content, name, mimetype in items:
            values.add(field, FileStorage(io.BytesIO(content), filename=name, content_type=mimetype))
    boundary, body = encode_multipart(values)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def upload(client, campaign, what, content, name, mimetype="application/octet-stream", **fields):
    field = {"images": "images", "video": "video", "attachments": "attachment"}[what]
    return post_files(client, report_url(campaign, f"/{what}"), {field: [(content, name, mimetype)]}, **fields)


# --- rich text -----------------------------------------------------------------------------------

XSS = ('<h2>工作回顾</h2><p style="color:red" onclick="steal()">正文<script>alert(1)</script></p>'
       '<img src=x onerror="alert(2)"><a href="javascript:alert(3)">坏链接</a>'
       '<a href="https://example.org/x" target="_blank" onmouseover="alert(4)">好链接</a>'
       '<style>body{display:none}</style><iframe src="https://evil.example"></iframe>'
       '<ul><li><strong>一</strong></li></ul><blockquote>引用</blockquote><a href="/logout">站内</a>')


def test_rich_text_is_sanitised_and_shown_to_members(world, login):
    campaign = make_campaign(world, "reporting")
    assert login("chair").post(report_url(campaign), data={"body": XSS}).status_code == 302
    body = db.session.scalar(db.select(DutyReport.body))
    for bad in ("<script", "alert(", "onerror", "onclick", "onmouseover", "javascript:", "style", "<iframe", "<img",
                "/logout", "target="):
        assert bad not in body, bad
    for kept in ("<h2>工作回顾</h2>", "<p>正文</p>", "<ul><li><strong>一</strong></li></ul>", "<blockquote>引用</blockquote>",
                 '<a href="https://example.org/x" rel="noopener noreferrer">好链接</a>'):
        assert kept in body, kept
    page = text(login("m1").get(f"/campaigns/{campaign.id}"))
    assert "<h2>工作回顾</h2>" in page and "<script>alert" not in page and "javascript:" not in page


def test_saving_the_text_stays_in_the_editor_with_the_pictures_and_attachments_at_hand(world, login):
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    response = chair.post(report_url(campaign), data={"body": "<p>第一稿</p>"})
    assert response.status_code == 302 and response.headers["Location"].endswith(report_url(campaign))
    page = chair.get(response.headers["Location"]).get_data(as_text=True)
    assert "述职报告已保存。可以接着修改、上传图片和附件" in page and "第一稿" in page
    assert "上传图片" in page and "查看会员将看到的报告" in page


def test_plain_text_typed_without_the_editor_becomes_escaped_paragraphs(world, login):
    campaign = make_campaign(world, "reporting")
    login("chair").post(report_url(campaign), data={"body": "第一段 a < b\n第二行\n\n第二段"})
    assert db.session.scalar(db.select(DutyReport.body)) == "<p>第一段 a &lt; b<br>第二行</p><p>第二段</p>"


def test_text_longer_than_the_limit_or_only_markup_is_refused(world, login):
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    response = chair.post(report_url(campaign), data={"body": "<p>" + "字" * 50_001 + "</p>"})
    assert response.status_code == 400 and "不能超过 50000 字" in text(response)
    response = chair.post(report_url(campaign), data={"body": "<p><script>x</script></p>"})
    assert response.status_code == 400 and "述职报告不能为空" in text(response)
    assert db.session.scalar(db.select(DutyReport.body)) == "<p>一年来的工作报告。</p>"
    # Markup does not count towards the limit: 50,000 characters of text with formatting are fine.
    assert chair.post(report_url(campaign), data={"body": "<p><b>" + "字" * 49_990 + "</b></p>"}).status_code == 302


def test_the_editor_is_self_hosted_and_the_page_keeps_a_strict_policy(world, login):
    campaign = make_campaign(world, "reporting")
    response = login("chair").get(report_url(campaign))
    page = text(response)
    assert re.search(r'<script src="/static/js/rich_editor\.js\?v=[0-9a-f]{10}" defer></script>', page)
    assert 'data-rich-editor="1"' in page and "<textarea" in page  # usable without JavaScript
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert login("chair").get("/static/js/rich_editor.js").status_code == 200


# --- images --------------------------------------------------------------------------------------


def test_images_are_reencoded_without_exif_or_gps_with_orientation_applied(world, login, uploads):
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    response = upload(chair, campaign, "images", jpeg_with_gps(), "IMG_0001.jpg", "image/jpeg", caption="慰问困难职工")
    assert response.status_code == 302
    image = db.session.scalar(db.select(ReportFile))
    assert image.kind == FileKind.image and image.caption == "慰问困难职工" and image.mimetype == "image/jpeg"
    assert len(stored(uploads)) == 2  # the large and the phone-width variant
    for suffix, longest in (("", 1600), ("/small", 640)):
        served = login("m1").get(file_url(campaign, image, suffix))
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        data = served.get_data()
        assert b"SpyCam" not in data and b"Exif" not in data
        picture = Image.open(io.BytesIO(data))
        assert not picture.getexif() and not picture.getexif().get_ifd(0x8825)
        assert picture.size == (longest * 3 // 4, longest)  # 2400×1800 turned upright, then scaled
    page = text(login("m1").get(f"/campaigns/{campaign.id}"))
    assert f'src="{file_url(campaign, image, "/small")}"' in page and 'loading="lazy"' in page and "慰问困难职工" in page


def test_a_web_page_named_jpg_is_refused_and_nothing_is_stored(world, login, uploads):
    campaign = make_campaign(world, "reporting")
    response = upload(login("chair"), campaign, "images", b"<html><script>alert(1)</script></html>", "photo.jpg",
                      "image/jpeg")
    assert response.status_code == 400 and "不是可识别的图片" in text(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportFile)) == 0 and stored(uploads) == []


@pytest.mark.parametrize("content, message", [
    (png_claiming(30_000, 30_000), "图片尺寸过大"),  # 900 megapixels in a few bytes: Pillow's own bomb check
    (png_claiming(20_000, 200), "图片尺寸过大"),  # a side longer than any photo
    (png_claiming(7_000, 7_000), "图片尺寸过大"),  # 49 megapixels: over the configured 40
])
def test_decompression_bombs_and_huge_images_are_refused(world, login, uploads, content, message):
    campaign = make_campaign(world, "reporting")
    response = upload(login("chair"), campaign, "images", content, "bomb.png", "image/png")
    assert response.status_code == 400 and message in text(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportFile)) == 0 and stored(uploads) == []


def test_an_image_over_the_size_limit_is_refused(app, world, login, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_IMAGE_MAX_BYTES", 20_000)
    campaign = make_campaign(world, "reporting")
    noise = Image.effect_noise((600, 600), 80).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "PNG")
    assert len(out.getvalue()) > 20_000
    response = upload(login("chair"), campaign, "images", out.getvalue(), "big.png", "image/png")
    assert response.status_code == 400 and "图片不能超过" in text(response)
    assert stored(uploads) == []


def test_one_bad_image_among_several_stores_none(world, login, uploads):
    campaign = make_campaign(world, "reporting")
    response = post_files(login("chair"), report_url(campaign, "/images"), {
        "images": [(jpeg(), "good.jpg", "image/jpeg"), (b"GIF89a rubbish", "bad.gif", "image/gif")]})
    assert response.status_code == 400 and "bad.gif" in text(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportFile)) == 0 and stored(uploads) == []


def test_the_number_of_images_and_attachments_is_limited(app, world, login, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_IMAGE_MAX_COUNT", 2)
    monkeypatch.setitem(app.config, "REPORT_ATTACHMENT_MAX_COUNT", 1)
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    assert upload(chair, campaign, "images", jpeg(), "1.jpg").status_code == 302
    response = post_files(chair, report_url(campaign, "/images"), {"images": [(jpeg(), "2.jpg", "image/jpeg"),
                                                                             (jpeg(), "3.jpg", "image/jpeg")]})
    assert response.status_code == 400 and "最多 2 张图片，已有 1 张" in text(response)
    assert upload(chair, campaign, "attachments", PDF, "1.pdf").status_code == 302
    response = upload(chair, campaign, "attachments", PDF, "2.pdf")
    assert response.status_code == 400 and "最多 1 个附件，已有 1 个" in text(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportFile)) == 2


# --- video ---------------------------------------------------------------------------------------


def test_the_video_is_served_with_range_requests_so_phones_can_seek(world, login):
    campaign = make_campaign(world, "reporting")
    content = mp4()
    assert upload(login("chair"), campaign, "video", content, "述职.mp4", "text/html").status_code == 302
    video = db.session.scalar(db.select(ReportFile))
    assert video.kind == FileKind.video and video.mimetype == "video/mp4"  # the browser's claim is ignored
    member = login("m1")
    whole = member.get(file_url(campaign, video))
    assert whole.status_code == 200 and whole.get_data() == content and whole.headers["Accept-Ranges"] == "bytes"
    part = member.get(file_url(campaign, video), headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(content)}"
    assert part.get_data() == content[1000:2000] and part.mimetype == "video/mp4"
    page = text(member.get(f"/campaigns/{campaign.id}"))
    assert 'preload="none"' in page and f'src="{file_url(campaign, video)}" type="video/mp4"' in page


def test_a_webm_video_is_accepted_and_a_new_video_replaces_the_old(world, login, uploads):
    campaign = make_campaign(world, "draft")
    chair = login("chair")
    assert upload(chair, campaign, "video", mp4(), "a.mp4").status_code == 302
    assert upload(chair, campaign, "video", webm(), "b.webm").status_code == 302
    videos = db.session.scalars(db.select(ReportFile)).all()
    assert [v.mimetype for v in videos] == ["video/webm"] and len(stored(uploads)) == 1  # a draft's old video: gone
    login("county_officer").post(f"/campaigns/{campaign.id}/actions/start_reporting")
    assert upload(chair, campaign, "video", mp4(), "c.mp4").status_code == 302
    report = db.session.scalar(db.select(DutyReport))
    assert report.video.mimetype == "video/mp4"
    assert [v.mimetype for v in report.removed_files] == ["video/webm"] and len(stored(uploads)) == 2  # members saw it


@pytest.mark.parametrize("content, message", [
    (b"<html><body>not a film</body></html>", "只支持 MP4 或 WebM"),
    (mp4()[:-500], "不完整或已损坏"),  # the last box runs past the end of the file
    (box(b"ftyp", b"isom\x00\x00\x02\x00isom") + b"\x00" * 50, "不完整或已损坏"),
    (box(b"ftyp", b"isom\x00\x00\x02\x00isom") + box(b"free", b"x" * 20), "不完整或已损坏"),  # no moov/mdat
    (mp4(brand=b"qt  "), "QuickTime"),
    (webm(b"matroska"), "Matroska"),
    (b"\x1a\x45\xdf\xa3\x84\x42\x82\x81", "WebM"),
])
def test_a_fake_or_broken_video_is_refused(world, login, uploads, content, message):
    campaign = make_campaign(world, "reporting")
    response = upload(login("chair"), campaign, "video", content, "video.mp4", "video/mp4")
    assert response.status_code == 400 and message in text(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportFile)) == 0 and stored(uploads) == []


def test_a_video_larger_than_the_general_request_limit_is_accepted_from_the_chair_only(app, world, login, monkeypatch):
    campaign = make_campaign(world, "reporting")
    content = mp4(payload_size=app.config["MAX_CONTENT_LENGTH"] + 1024)
    assert upload(login("county_officer"), campaign, "video", content, "v.mp4").status_code == 413
    assert upload(login("chair"), campaign, "video", content, "v.mp4").status_code == 302
    video = db.session.scalar(db.select(ReportFile))
    assert video.size == len(content)
    end = len(content) - 1
    part = login("m1").get(file_url(campaign, video), headers={"Range": f"bytes={end - 99}-"})  # streamed from disk
    assert part.status_code == 206 and part.get_data() == content[-100:]
    assert part.headers["Content-Range"] == f"bytes {end - 99}-{end}/{len(content)}"
    monkeypatch.setitem(app.config, "REPORT_VIDEO_MAX_BYTES", 1_000)
    response = upload(login("chair"), campaign, "video", mp4(), "v.mp4")
    assert response.status_code == 400 and "视频不能超过" in text(response)


# --- attachments ---------------------------------------------------------------------------------


def test_pdf_and_docx_attachments_download_under_their_own_name(world, login):
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    assert upload(chair, campaign, "attachments", PDF, "..\\..\\述职 报告\u202e\x07.pdf", "text/html").status_code == 302
    assert upload(chair, campaign, "attachments", docx(), "工作总结.docx").status_code == 302
    pdf, word = db.session.scalars(db.select(ReportFile).order_by(ReportFile.id)).all()
    assert pdf.original_name == "述职 报告.pdf" and word.original_name == "工作总结.docx"
    response = login("m1").get(file_url(campaign, pdf))
    assert response.status_code == 200 and response.mimetype == "application/pdf" and response.get_data() == PDF
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''%E8%BF%B0%E8%81%8C%20%E6%8A%A5%E5%91%8A.pdf" in disposition
    assert "\x07" not in disposition and "\u202e" not in disposition and ".." not in disposition
    response = login("m1").get(file_url(campaign, word))
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize("content, message", [
    (b"MZ\x90\x00 an executable", "只支持 PDF 和 Word"),
    (docx(main_type="application/vnd.ms-word.document.macroEnabled.main+xml"), "含宏"),
    (docx(extra=["word/vbaProject.bin"]), "含宏"),
    (docx(main_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"), "不是有效的 Word"),
    (b"PK\x03\x04 not really a zip", "不是有效的 Word"),
])
def test_other_files_and_macro_documents_are_refused(world, login, uploads, content, message):
    campaign = make_campaign(world, "reporting")
    response = upload(login("chair"), campaign, "attachments", content, "文件.pdf", "application/pdf")
    assert response.status_code == 400 and message in text(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportFile)) == 0 and stored(uploads) == []


def test_an_empty_zip_named_docx_is_refused(world, login):
    campaign = make_campaign(world, "reporting")
    out = io.BytesIO()
    zipfile.ZipFile(out, "w").close()
    response = upload(login("chair"), campaign, "attachments", out.getvalue(), "a.docx")
    assert response.status_code == 400 and "只支持 PDF 和 Word" in text(response)


# --- versions, removal and the lock --------------------------------------------------------------


def test_every_save_keeps_the_previous_version_with_its_files(world, login, uploads):
    campaign = make_campaign(world, "reporting")  # version 1: "一年来的工作报告。"
    chair = login("chair")
    upload(chair, campaign, "images", jpeg(), "a.jpg")
    assert chair.post(report_url(campaign), data={"body": "<p>第二稿</p>"}).status_code == 302
    assert chair.post(report_url(campaign), data={"body": "<p>第二稿</p>"}).status_code == 302  # unchanged: no version
    assert chair.post(report_url(campaign), data={"body": "<p>第三稿</p>"}).status_code == 302
    report = db.session.scalar(db.select(DutyReport))
    assert report.version == 3 and report.body == "<p>第三稿</p>"
    assert [(v.number, v.body, len(v.files)) for v in report.versions] == [
        (2, "<p>第二稿</p>", 1), (1, "<p>一年来的工作报告。</p>", 1)]

    image = report.images[0]
    assert chair.post(file_url(campaign, image, "/remove")).status_code == 302
    db.session.refresh(image)
    assert image.removed_at is not None and len(stored(uploads)) == 2  # kept: the earlier versions show it
    assert "第二稿" not in text(login("m1").get(f"/campaigns/{campaign.id}"))
    assert file_url(campaign, image, "/small") not in text(login("m1").get(f"/campaigns/{campaign.id}"))
    for username in ("chair", "county_officer", "city_officer"):
        client = login(username)
        listing = text(client.get(report_url(campaign, "/versions")))
        assert "第 3 版（当前）" in listing and "第 2 版" in listing and "第 1 版" in listing
        old = client.get(report_url(campaign, "/versions/1"))
        assert old.status_code == 200 and "一年来的工作报告。" in text(old) and file_url(campaign, image, "/small") in text(old)
        assert client.get(file_url(campaign, image)).status_code == 200
    member = login("m1")
    assert member.get(report_url(campaign, "/versions")).status_code == 404
    assert member.get(report_url(campaign, "/versions/1")).status_code == 404
    assert member.get(file_url(campaign, image)).status_code == 404  # removed from what members read
    assert login("chair").get(report_url(campaign, "/versions/9")).status_code == 404


def test_a_draft_file_no_version_shows_is_deleted_from_storage_and_audited(world, login, uploads):
    campaign = make_campaign(world, "draft")
    chair = login("chair")
    upload(chair, campaign, "images", jpeg(), "a.jpg")
    upload(chair, campaign, "attachments", PDF, "a.pdf")
    assert len(stored(uploads)) == 3
    for file in db.session.scalars(db.select(ReportFile)).all():
        assert chair.post(file_url(campaign, file, "/remove")).status_code == 302
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportFile)) == 0 and stored(uploads) == []
    actions = db.session.scalars(db.select(AuditEntry.action).where(AuditEntry.action.like("report.%"))).all()
    assert actions.count("report.file_added") == 2 and actions.count("report.file_removed") == 2


def test_captions_can_be_changed_while_editable(world, login):
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    upload(chair, campaign, "images", jpeg(), "a.jpg")
    image = db.session.scalar(db.select(ReportFile))
    assert chair.post(file_url(campaign, image, "/caption"), data={f"f{image.id}-caption": " 职工书屋  揭牌 "}).status_code == 302
    db.session.refresh(image)
    assert image.caption == "职工书屋 揭牌"


def test_everything_is_locked_once_voting_opens(world, login, uploads):
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    upload(chair, campaign, "images", jpeg(), "a.jpg")
    image = db.session.scalar(db.select(ReportFile))
    login("county_officer").post(f"/campaigns/{campaign.id}/actions/open")
    files_before, audit_before = stored(uploads), db.session.scalar(db.select(db.func.count()).select_from(AuditEntry))
    attempts = [
        chair.post(report_url(campaign), data={"body": "改一下"}),
        upload(chair, campaign, "images", jpeg(), "b.jpg"),
        upload(chair, campaign, "video", mp4(), "v.mp4"),
        upload(chair, campaign, "attachments", PDF, "a.pdf"),
        chair.post(file_url(campaign, image, "/remove")),
        chair.post(file_url(campaign, image, "/caption"), data={f"f{image.id}-caption": "新说明"}),
    ]
    for response in attempts:
        assert response.status_code == 409 and "述职报告已锁定" in text(response)
    assert stored(uploads) == files_before
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)) == audit_before
    assert db.session.scalar(db.select(DutyReport.body)) == "<p>一年来的工作报告。</p>"
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportFile)) == 1
    assert chair.get(report_url(campaign)).status_code == 302  # the editor sends the chair back to the campaign
    assert "述职报告已锁定" in text(chair.get(f"/campaigns/{campaign.id}"))


def test_a_report_with_pictures_but_no_text_does_not_let_voting_open(world, login):
    campaign = make_campaign(world, "draft")
    officer = login("county_officer")
    officer.post(f"/campaigns/{campaign.id}/actions/start_reporting")
    upload(login("chair"), campaign, "images", jpeg(), "a.jpg")
    response = officer.post(f"/campaigns/{campaign.id}/actions/open", follow_redirects=True)
    assert "尚未提交述职报告" in text(response)


# --- who sees what -------------------------------------------------------------------------------


def _report_with_every_kind_of_file(world, login, state="reporting"):
    campaign = make_campaign(world, "draft")
    save_report(campaign, world.chair, "<p>草稿</p>")
    add_images(campaign, world.chair, [(io.BytesIO(jpeg()), "a.jpg")])
    db.session.commit()
    chair = login("chair")
    assert upload(chair, campaign, "video", mp4(), "v.mp4").status_code == 302
    assert upload(chair, campaign, "attachments", PDF, "a.pdf").status_code == 302
    if state == "reporting":
        login("county_officer").post(f"/campaigns/{campaign.id}/actions/start_reporting")
        db.session.refresh(campaign)
        assert campaign.state.value == "reporting"
    files = db.session.scalars(db.select(ReportFile).order_by(ReportFile.id)).all()
    assert [f.kind for f in files] == [FileKind.image, FileKind.video, FileKind.attachment]
    return campaign, files


def test_outsiders_get_404_for_the_page_and_every_file(world, login):
    campaign, files = _report_with_every_kind_of_file(world, login)
    urls = ([file_url(campaign, f) for f in files] + [file_url(campaign, files[0], "/small"),
            report_url(campaign), report_url(campaign, "/versions")])
    for username in ("outsider", "other_officer"):
        client = login(username)
        assert client.get(f"/campaigns/{campaign.id}").status_code == 404
        for url in urls:
            assert client.get(url).status_code == 404, (username, url)
    for url in [file_url(campaign, f) for f in files]:
        assert login("m1").get(url).status_code == 200
        assert login("county_officer").get(url).status_code == 200
    # Members may read the report but not write it.
    assert login("m1").get(report_url(campaign)).status_code == 404
    assert upload(login("m1"), campaign, "images", jpeg(), "x.jpg").status_code == 404
    assert login("m1").post(file_url(campaign, files[0], "/remove")).status_code == 404


def test_members_see_nothing_while_the_campaign_is_a_draft(world, login):
    campaign, files = _report_with_every_kind_of_file(world, login, state="draft")
    for file in files:
        assert login("m1").get(file_url(campaign, file)).status_code == 404
        assert login("chair").get(file_url(campaign, file)).status_code == 200


def test_a_file_id_under_another_campaign_is_404(world, login):
    campaign, files = _report_with_every_kind_of_file(world, login)
    other = make_campaign(world, "reporting")
    for file in files:
        assert login("m1").get(file_url(other, file)).status_code == 404
        assert login("chair").post(file_url(other, file, "/remove")).status_code == 404
    assert login("m1").get(f"/campaigns/{campaign.id}/report/files/999999").status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportFile)) == len(files)


def test_served_files_carry_safe_headers_and_never_the_uploaders_type(world, login):
    campaign, files = _report_with_every_kind_of_file(world, login)
    member = login("m1")
    for file, expected in zip(files, ("image/jpeg", "video/mp4", "application/pdf")):
        response = member.get(file_url(campaign, file))
        assert response.mimetype == expected
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "attachment" not in member.get(file_url(campaign, files[0])).headers.get("Content-Disposition", "")


def removals_audited():
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "report.file_removed")
                                 .order_by(AuditEntry.seq)).all()
    return [(e.object_type, e.object_id, json.loads(e.details)["file_id"], json.loads(e.details)["kept_for_versions"])
            for e in entries]


def test_uploads_and_removals_are_audited_against_the_campaign(world, login, uploads):
    campaign, files = _report_with_every_kind_of_file(world, login, state="draft")
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "report.file_added")).all()
    assert len(entries) == 3 and {(e.object_type, e.object_id) for e in entries} == {("Campaign", campaign.id)}
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportVersion)) == 0
    chair = login("chair")
    image, video, attachment = files
    image_id, video_id, attachment_id = image.id, video.id, attachment.id
    # In draft, with no version showing it, a removed file is deleted outright.
    assert chair.post(file_url(campaign, image, "/remove")).status_code == 302
    assert db.session.get(ReportFile, image_id) is None
    assert removals_audited() == [("Campaign", campaign.id, image_id, False)]
    # Once the campaign is out of draft, a removed file is kept for the record; audited all the same.
    login("county_officer").post(f"/campaigns/{campaign.id}/actions/start_reporting")
    assert chair.post(file_url(campaign, attachment, "/remove")).status_code == 302
    assert db.session.get(ReportFile, attachment_id).removed_at is not None
    # Replacing the video removes the old one: that is audited too.
    assert upload(chair, campaign, "video", webm(), "new.webm").status_code == 302
    assert removals_audited() == [("Campaign", campaign.id, image_id, False),
                                  ("Campaign", campaign.id, attachment_id, True),
                                  ("Campaign", campaign.id, video_id, True)]
    assert len(stored(uploads)) == 3  # the removed video and attachment kept, plus the new video


def test_a_file_shown_to_members_and_removed_between_text_saves_stays_in_the_history(world, login, uploads):
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    assert upload(chair, campaign, "attachments", PDF, "财务公开.pdf").status_code == 302
    attachment = db.session.scalar(db.select(ReportFile))
    member = login("m1")
    assert "财务公开.pdf" in text(member.get(f"/campaigns/{campaign.id}"))  # the electorate sees it
    assert member.get(file_url(campaign, attachment)).status_code == 200
    assert chair.post(file_url(campaign, attachment, "/remove")).status_code == 302  # no text save in between
    assert "财务公开.pdf" not in text(member.get(f"/campaigns/{campaign.id}"))
    assert member.get(file_url(campaign, attachment)).status_code == 404
    assert len(stored(uploads)) == 1
    officer = login("county_officer")
    assert "已删除的文件" in text(officer.get(f"/campaigns/{campaign.id}"))
    history = text(officer.get(report_url(campaign, "/versions")))
    assert "已删除的文件" in history and "附件：财务公开.pdf" in history and file_url(campaign, attachment) in history
    assert officer.get(file_url(campaign, attachment)).get_data() == PDF


# --- text written but not saved yet --------------------------------------------------------------


def test_uploading_with_changed_text_saves_the_text_first(world, login, uploads):
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    response = upload(chair, campaign, "images", jpeg(), "a.jpg", "image/jpeg", body="<p>还没保存的第二稿</p>")
    assert response.status_code == 302
    report = db.session.scalar(db.select(DutyReport))
    assert report.body == "<p>还没保存的第二稿</p>" and report.version == 2 and len(report.images) == 1
    assert [v.body for v in report.versions] == ["<p>一年来的工作报告。</p>"]
    page = text(chair.get(report_url(campaign)))
    assert "还没保存的第二稿" in page and "述职报告正文已保存" in page and "data-unsaved" not in page
    assert "还没保存的第二稿" in text(login("m1").get(f"/campaigns/{campaign.id}"))
    # The same for the other forms of the editor; text that did not change makes no new version.
    assert upload(chair, campaign, "attachments", PDF, "a.pdf", body="<p>第三稿</p>").status_code == 302
    image = report.images[0]
    assert chair.post(file_url(campaign, image, "/caption"),
                      data={f"f{image.id}-caption": "说明", "body": "<p>第四稿</p>"}).status_code == 302
    assert chair.post(file_url(campaign, image, "/remove"), data={"body": "<p>第五稿</p>"}).status_code == 302
    assert upload(chair, campaign, "video", mp4(), "v.mp4", body="<p>第五稿</p>").status_code == 302
    db.session.expire_all()
    report = db.session.scalar(db.select(DutyReport))
    assert report.body == "<p>第五稿</p>" and report.version == 5
    assert report.video is not None and len(report.attachments) == 1 and report.images == []


def test_text_that_cannot_be_saved_stops_the_upload_and_is_shown_again(world, login, uploads):
    campaign = make_campaign(world, "reporting")
    response = upload(login("chair"), campaign, "images", jpeg(), "a.jpg", "image/jpeg",
                      body="<p>" + "字" * 50_001 + "</p>")
    assert response.status_code == 400 and "不能超过 50000 字" in text(response)
    assert "字" * 50_001 in text(response) and "data-unsaved" in text(response)  # still on screen, marked unsaved
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportFile)) == 0 and stored(uploads) == []
    assert db.session.scalar(db.select(DutyReport.body)) == "<p>一年来的工作报告。</p>"


# --- the storage interface -----------------------------------------------------------------------


def test_storage_keys_are_random_and_never_name_a_path_outside_the_store(uploads):
    from evalapp.core.storage import TooLarge, storage

    store = storage()
    key = store.save(io.BytesIO(b"hello"))
    assert len(key) == 32 and store.size(key) == 5 and store.exists(key)
    with store.open(key) as f:
        assert f.read() == b"hello"
    for bad in ("../../etc/passwd", "/etc/passwd", key.upper(), key + "/..", "", None):
        with pytest.raises(FileNotFoundError):
            store.open(bad)
        assert not store.exists(bad)
    with pytest.raises(TooLarge):
        store.save(io.BytesIO(b"x" * 11), max_bytes=10)
    assert stored(uploads) == [Path(uploads) / key[:2] / key]  # no partial file left behind
    store.delete(key)
    store.delete(key)  # deleting twice is fine
    assert stored(uploads) == []


def test_stored_files_follow_the_fate_of_the_transaction(world, uploads):
    from evalapp.core.storage import delete_on_commit, discard_on_rollback, storage

    kept = storage().save(io.BytesIO(b"kept"))
    fresh = storage().save(io.BytesIO(b"fresh"))
    discard_on_rollback(fresh)
    delete_on_commit(kept)
    world.chair.display_name = "改名"  # some database work in the same transaction
    db.session.rollback()
    assert not storage().exists(fresh) and storage().exists(kept)  # the rollback undid both intentions
    delete_on_commit(kept)
    world.chair.display_name = "改名"
    db.session.commit()
    assert not storage().exists(kept)


def test_behind_nginx_files_are_handed_over_with_x_accel_redirect_after_the_checks(world, login, app, monkeypatch):
    campaign = make_campaign(world, "reporting")
    assert upload(login("chair"), campaign, "video", mp4(), "述职.mp4").status_code == 302
    video = db.session.scalar(db.select(ReportFile))
    monkeypatch.setitem(app.config, "UPLOADS_ACCEL_PREFIX", "/_uploads/")
    response = login("m1").get(file_url(campaign, video))
    assert response.status_code == 200 and response.get_data() == b""
    key = video.key
    assert response.headers["X-Accel-Redirect"] == f"/_uploads/{key[:2]}/{key}"
    assert response.mimetype == "video/mp4"
    assert "X-Accel-Redirect" not in login("outsider").get(file_url(campaign, video)).headers
