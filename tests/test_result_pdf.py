"""The result PDF: what an officer downloads, read back with poppler's pdftotext and pdffonts."""
import subprocess

import pytest
from sqlalchemy import select

from evalapp.core.db import db
from evalapp.results.models import Result
from tests.builders import pdf_text
from tests.factories import make_campaign

# Full turnout (5 of 5): item rates 80%, 60%, 80%; overall (64 + 2*52 + 3*80) / 6 = 68.0 → 合格.
VOTES = [[1, 1, 1], [1, 2, 2], [2, 1, 3], [2, 3, 1], [3, 3, 2]]


def pdf_fonts(path):
    """Return [(name, embedded)] from `pdffonts`, cutting columns by the header's dashes."""
    lines = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout.splitlines()
    dashes = lines[1]
    spans, start = [], 0
    for width in (len(part) for part in dashes.split(" ")):
        spans.append((start, start + width))
        start += width + 1
    header = [lines[0][a:b].strip() for a, b in spans]
    name_col, emb_col = header.index("name"), header.index("emb")
    rows = []
    for line in lines[2:]:
        cells = [line[a:b].strip() for a, b in spans]
        rows.append((cells[name_col], cells[emb_col] == "yes"))
    return rows


@pytest.fixture
def published(world):
    return make_campaign(world, "published", votes=VOTES)


@pytest.fixture
def downloaded_pdf(published, login, tmp_path):
    response = login("county_officer").get(f"/campaigns/{published.id}/result.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    path = tmp_path / "result.pdf"
    path.write_bytes(response.data)
    return path


def test_officer_downloads_a_pdf_with_the_result_in_chinese(published, downloaded_pdf):
    digest = published.result.ballot_digest
    text = pdf_text(downloaded_pdf)
    compact = "".join(text.split())

    assert "2026年度述职评议" in compact
    assert "评议结果报告" in compact
    assert "甲公司工会" in compact
    assert "应参评人数5人" in compact
    assert "实参评人数5人（参评率100.0%）" in compact
    assert "法定人数4人，已达到" in compact
    assert "综合得分68.0" in compact
    assert "评议等次合格" in compact
    assert "60.0%" in compact   # item 2, the one that opens a rectification
    assert "须制定整改方案" in compact
    assert digest in compact
    assert "第1页/共" in compact


def test_pdf_embeds_a_noto_sans_cjk_font(downloaded_pdf):
    fonts = pdf_fonts(downloaded_pdf)
    cjk = [(name, embedded) for name, embedded in fonts
           if "notosanscjk" in name.lower().replace("-", "").replace(" ", "")]
    assert cjk, f"no Noto Sans CJK font in {fonts}"
    assert all(embedded for _name, embedded in cjk)


def test_the_chair_may_download_the_pdf_too(published, login):
    response = login("chair").get(f"/campaigns/{published.id}/result.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")


@pytest.mark.parametrize("username", ["m1", "outsider", "other_officer"])
def test_pdf_is_not_found_for_members_and_strangers(published, login, username):
    response = login(username).get(f"/campaigns/{published.id}/result.pdf")
    assert response.status_code == 404
    assert not response.data.startswith(b"%PDF")


@pytest.mark.parametrize("state", ["open", "closed"])
def test_pdf_of_an_unpublished_campaign_is_not_found(world, login, state):
    campaign = make_campaign(world, state, votes=VOTES)
    response = login("county_officer").get(f"/campaigns/{campaign.id}/result.pdf")
    assert response.status_code == 404
    assert not response.data.startswith(b"%PDF")
    # Asking for the PDF counts nothing: an open campaign has no result, a closed one the one counted at closing.
    results = db.session.scalars(select(Result).where(Result.campaign_id == campaign.id)).all()
    assert len(results) == (0 if state == "open" else 1)


def test_the_pdf_opens_with_a_cover_page_and_draws_the_rates_chart(published, downloaded_pdf):
    first_page = "".join(subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(downloaded_pdf), "-"], check=True,
                                        capture_output=True, text=True).stdout.split())
    assert "评议结果报告" in first_page
    assert "被评议工会甲公司工会" in first_page
    assert "评议等次合格" in first_page
    assert "各题评议情况" not in first_page  # the figures start on page two
    compact = "".join(pdf_text(downloaded_pdf).split())
    # The chart's own labels: one row per scored item with its rate, and the 80% rectification line.
    assert "蓝色虚线为整改线80%" in compact
    chart_rates = [line.split() for line in pdf_text(downloaded_pdf).splitlines()]
    assert any(row[:2] == ["2", "60.0%"] for row in chart_rates), "the chart's row for item 2"


def test_the_pdf_lists_suggestions_with_the_chairs_responses(world, published, login, tmp_path):
    from evalapp.suggestions import operations as suggestion_ops

    answered = suggestion_ops.add_suggestion(published, world.members[0], "食堂饭菜品种太少", named=True)
    suggestion_ops.add_suggestion(published, world.members[1], "希望增加技能培训")
    abusive = suggestion_ops.add_suggestion(published, world.members[2], "骂人的话")
    suggestion_ops.respond(answered, world.chair, "已与食堂承包方商定每周新增两个菜品")
    suggestion_ops.hide(abusive, world.county_officer, "人身攻击")
    db.session.commit()

    response = login("county_officer").get(f"/campaigns/{published.id}/result.pdf")
    path = tmp_path / "result.pdf"
    path.write_bytes(response.data)
    compact = "".join(pdf_text(path).split())

    assert "意见建议及回应" in compact
    assert "会员共提出意见建议3条，已回应1条；另有1条因内容不当已由上级工会隐藏" in compact
    assert "食堂饭菜品种太少（会员1，" in compact
    assert "已与食堂承包方商定每周新增两个菜品" in compact
    assert "希望增加技能培训（匿名会员，" in compact
    assert "尚未回应" in compact
    assert "骂人的话" not in compact
