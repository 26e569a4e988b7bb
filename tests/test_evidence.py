"""Progress updates with evidence: files checked by content, images re-encoded without metadata, who may read them."""
import io
import json

import pytest
import sqlalchemy as sa
from PIL import Image

from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.rectification.models import Evidence, EvidenceKind, RectificationEvent
from tests.builders import docx, stored
from tests.factories import drive_rectification, published_rectification

PROGRESS = "座谈会已召开，照片和会议纪要见附件。"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def rectification(world, uploads):
    return drive_rectification(world, published_rectification(world), "in_progress")


def photo_with_gps():
    image = Image.new("RGB", (2400, 1200), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"                       # Make
    exif[0x8825] = {1: "N", 2: (22.0, 35.0, 0.0)}      # GPS: where the photo was taken
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def post_progress(client, rectification, files, text=PROGRESS):
    data = {"text": text, "files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post(f"/rectifications/{rectification.id}/progress", data=data, content_type="multipart/form-data")


def fetch(client, url):
    response = client.get(url)
    data = response.get_data()
    response.close()
    return response, data


def test_a_progress_update_carries_a_photo_and_documents(world, login, rectification, uploads):
    response = post_progress(login("chair"), rectification,
                             [(photo_with_gps(), "座谈会.jpg"), (PDF, "纪要.pdf"), (docx(), "通知.docx")])
    assert response.status_code == 302
    evidence = list(db.session.scalars(sa.select(Evidence).order_by(Evidence.id)))
    assert [(e.kind, e.mimetype, e.original_name) for e in evidence] == [
        (EvidenceKind.image, "image/jpeg", "座谈会.jpg"), (EvidenceKind.document, "application/pdf", "纪要.pdf"),
        (EvidenceKind.document, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "通知.docx")]
    assert len(stored(uploads)) == 3

    member = login("m1")
    page = member.get(f"/rectifications/{rectification.id}").get_data(as_text=True)
    assert PROGRESS in page and "纪要.pdf" in page and f"/rectifications/evidence/{evidence[0].id}" in page

    photo, data = fetch(member, f"/rectifications/evidence/{evidence[0].id}")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    reencoded = Image.open(io.BytesIO(data))
    assert max(reencoded.size) == 1600                 # re-encoded at a sensible size
    assert not reencoded.getexif()                     # no camera, no GPS
    assert b"PhoneMaker" not in data

    pdf, data = fetch(member, f"/rectifications/evidence/{evidence[1].id}")
    assert pdf.status_code == 200 and data == PDF and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]

    [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "rectification.progress"))
    assert [e["name"] for e in json.loads(entry.details)["evidence"]] == ["座谈会.jpg", "纪要.pdf", "通知.docx"]


@pytest.mark.parametrize("content, name, message", [
    (b"just text, not a picture", "照片.jpg", "无法识别的文件"),
    (b"PK\x03\x04not really a zip", "表格.xlsx", "不是有效的 Word（.docx）文件。"),
    (b"", "空.png", "空文件"),
])
def test_a_file_that_is_not_what_it_claims_is_refused_and_nothing_is_kept(world, login, rectification,
                                                                          uploads, content, name, message):
    response = post_progress(login("chair"), rectification, [(PDF, "纪要.pdf"), (content, name)])
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert message in body and name in body
    assert PROGRESS in body                              # what was typed is still there
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RectificationEvent)
                             .where(RectificationEvent.kind == "progress")) == 0
    assert stored(uploads) == []


def test_at_most_five_files_per_update(world, login, rectification, uploads):
    response = post_progress(login("chair"), rectification, [(PDF, f"{i}.pdf") for i in range(6)])
    assert response.status_code == 400 and "每次最多上传 5 个证明材料。" in response.get_data(as_text=True)
    assert stored(uploads) == []


def test_a_progress_update_without_files_is_fine(world, login, rectification, uploads):
    assert post_progress(login("chair"), rectification, []).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0


@pytest.mark.parametrize("username, status", [
    ("m1", 200), ("chair", 200), ("county_officer", 200), ("admin", 200),
    ("outsider", 404), ("other_officer", 404)])
def test_who_may_fetch_evidence(world, login, rectification, uploads, username, status):
    assert post_progress(login("chair"), rectification, [(PDF, "纪要.pdf")]).status_code == 302
    [evidence] = db.session.scalars(sa.select(Evidence))
    response, data = fetch(login(username), f"/rectifications/evidence/{evidence.id}")
    assert response.status_code == status
    assert (data == PDF) == (status == 200)


def test_unknown_evidence_and_missing_bytes_are_404(world, login, rectification, uploads):
    assert post_progress(login("chair"), rectification, [(PDF, "纪要.pdf")]).status_code == 302
    [evidence] = db.session.scalars(sa.select(Evidence))
    member = login("m1")
    assert fetch(member, f"/rectifications/evidence/{evidence.id + 1}")[0].status_code == 404
    for path in stored(uploads):
        path.unlink()
    assert fetch(member, f"/rectifications/evidence/{evidence.id}")[0].status_code == 404


def test_members_may_not_post_progress(world, login, rectification, uploads):
    assert post_progress(login("m1"), rectification, [(PDF, "纪要.pdf")]).status_code == 404
    assert stored(uploads) == []


def big_pdf(megabytes):
    return PDF + b"%" + b"0" * (megabytes * 1024 * 1024 - len(PDF) - 2) + b"\n"


def post_in_memory(client, rectification, files, text=PROGRESS):
    """Post as multipart encoded in memory (Werkzeug's test client spools big bodies into a file it never closes)."""
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    values = MultiDict({"text": text})
    for content, name in files:
        values.add("files", FileStorage(io.BytesIO(content), filename=name, content_type="application/pdf"))
    boundary, body = encode_multipart(values)
    return client.post(f"/rectifications/{rectification.id}/progress", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_the_chair_may_post_files_beyond_the_sites_general_limit(app, world, login, rectification, uploads):
    files = [(big_pdf(9), "会议纪要.pdf"), (big_pdf(9), "签到表.pdf")]      # 18 MB: over the site's 16 MB
    assert sum(len(content) for content, _ in files) > app.config["MAX_CONTENT_LENGTH"]
    response = post_in_memory(login("chair"), rectification, files)
    assert response.status_code == 302
    assert [e.original_name for e in db.session.scalars(sa.select(Evidence).order_by(Evidence.id))] == [
        "会议纪要.pdf", "签到表.pdf"]
    assert PROGRESS in login("m1").get(f"/rectifications/{rectification.id}").get_data(as_text=True)
    # Only those who may post progress get the higher limit.
    assert post_in_memory(login("county_officer"), rectification, files).status_code == 413
