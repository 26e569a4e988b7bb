"""Downloads named in Chinese: an RFC 6266 Content-Disposition, ASCII on the wire, whoever sends the bytes."""
import pytest
from werkzeug.http import parse_options_header

from evalapp.core.downloads import ascii_fallback, content_disposition


@pytest.mark.parametrize(("name", "plain"), [
    ("评议结果-2026年度述职评议.pdf", "2026.pdf"),
    ("述职.mp4", "download.mp4"),
    ("report 2026 (final).pdf", "report_2026_final.pdf"),
    ('a"b\\c.csv', "a_b_c.csv"),
    ("", "download"),
])
def test_the_ascii_name_keeps_what_ascii_can_say_and_the_extension(name, plain):
    assert ascii_fallback(name) == plain


@pytest.mark.parametrize("name", ["评议结果-2026年度述职评议（甲公司工会）.pdf", "述职报告 “终稿”.docx", "tally-12.csv"])
def test_browsers_read_back_the_exact_name_and_the_header_is_ascii(name):
    value = content_disposition(name)
    value.encode("ascii")                     # what gunicorn and nginx accept in a header
    kind, options = parse_options_header(value)
    assert kind == "attachment" and options["filename"] == name
    assert content_disposition(name, as_attachment=False).startswith("inline; ")


def test_files_handed_to_nginx_carry_the_encoded_name(app, monkeypatch):
    from evalapp.core.storage import _accel_redirect

    with app.test_request_context():
        response = _accel_redirect("/_uploads/", "ab12cd", "application/pdf", "评议结果.pdf", True)
    value = response.headers["Content-Disposition"]
    value.encode("latin-1")
    assert parse_options_header(value)[1]["filename"] == "评议结果.pdf"
    assert response.headers["X-Accel-Redirect"] == "/_uploads/ab/ab12cd"


def test_the_result_pdf_download_is_named_in_chinese_with_an_ascii_fallback(world, login):
    from tests.factories import close_and_publish, make_campaign

    campaign = close_and_publish(world, make_campaign(world, "open"))
    response = login("county_officer").get(f"/campaigns/{campaign.id}/result.pdf")
    value = response.headers["Content-Disposition"]
    value.encode("ascii")
    assert f'filename="result-{campaign.id}.pdf"' in value
    assert parse_options_header(value)[1]["filename"] == "评议结果-2026年度述职评议.pdf"
