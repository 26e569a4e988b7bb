"""The batch review PDF a superior union files: requested on a page, built as a job, downloaded when done.

The figures are checked against the ballots the fixture cast (see tests/test_batch_ranking.py).
"""
import secrets
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from evalapp.campaigns.models import BatchRule, CampaignBatch, ElectorateScope, SubjectKind
from evalapp.core.db import db
from evalapp.core.timeutil import local_today, utcnow
from evalapp.rectification.models import Rectification
from evalapp.reviews.models import ReviewJob, ReviewStage
from tests import test_batch_ranking
from tests.builders import compact, pdf_text
from tests.test_batch_ranking import ROSTER, SCORES, UNIONS, textbook_lower_bound

#: Four unions' published surveys under the town, three of them ranked.
batch_results = test_batch_ranking.batch_results


def request_review(client, union, start=None, end=None, **extra):
    today = local_today()
    data = {"period_start": (start or date(today.year, 1, 1)).isoformat(), "period_end": (end or today).isoformat()}
    return client.post(f"/unions/{union.id}/review", data=data | extra)


def download(client, response, tmp_path):
    """Follow the request to the job page and download the finished PDF; return its text."""
    assert response.status_code == 302, response.get_data(as_text=True)
    job_page = client.get(response.headers["Location"])
    assert "已完成" in job_page.get_data(as_text=True)
    job = db.session.scalars(select(ReviewJob).order_by(ReviewJob.id.desc())).first()
    pdf = client.get(f"/reviews/{job.id}/download")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "review.pdf"
    path.write_bytes(pdf.data)
    return pdf_text(path)


@pytest.fixture
def overdue_item(world, batch_results):
    """A member's suggestion in 南方's survey, flagged by the county as a rectification item, three days overdue."""
    from evalapp.accounts.models import Account
    from evalapp.suggestions import operations as suggestion_ops

    author = db.session.scalars(select(Account).where(Account.username == "南方公司工会0")).one()
    suggestion = suggestion_ops.add_suggestion(batch_results["南方公司工会"], author, "职工食堂卫生条件差")
    item = suggestion_ops.flag(suggestion, world.county_officer, "职工食堂卫生条件差，须限期整改")
    db.session.execute(update(Rectification).where(Rectification.id == item.id)
                       .values(due_date=local_today() - timedelta(days=3)))
    db.session.commit()
    return item


def test_the_review_ranks_every_union_and_lists_the_overdue_items(world, login, batch_results, overdue_item, tmp_path):
    client = login("county_officer")
    form_page = client.get(f"/unions/{world.town.id}/review").get_data(as_text=True)
    assert "所选期间内已公布的评议结果：4 个" in form_page

    text = download(client, request_review(client, world.town), tmp_path)
    flat = compact(text)

    assert "会城街道总工会" in flat and "评议结果审阅报告" in flat
    electorate = sum(ROSTER + len(ballots) for ballots in UNIONS.values())
    turnout = sum(len(ballots) for ballots in UNIONS.values())
    assert f"{electorate}人/{turnout}人（{turnout / electorate:.1%}）" in flat
    ranked = sorted((name for name in UNIONS if len(UNIONS[name]) >= 5),
                    key=lambda name: -textbook_lower_bound([SCORES[b] for b in UNIONS[name]], ROSTER + len(UNIONS[name])))
    table = flat[flat.index("二、各工会评议结果及排名"):flat.index("三、逾期整改事项")]
    positions = [table.index(name) for name in ranked + ["北方公司工会"]]
    assert positions == sorted(positions), "ranked by the lower bound, the unranked union last"
    for rank, name in enumerate(ranked, start=1):
        scores = [SCORES[b] for b in UNIONS[name]]
        low = textbook_lower_bound(scores, ROSTER + len(scores))
        assert f"{rank}{name}" in table
        assert f"{sum(scores) / len(scores):.1f}（{low:.1f}–" in table
    assert "—北方公司工会" in table  # two voters: no rank
    assert "Kruskal–Wallis" in flat
    overdue = flat[flat.index("三、逾期整改事项"):]
    assert "南方公司工会" in overdue and overdue_item.problem.replace(" ", "") in overdue
    assert "待提交整改方案" in overdue
    assert "第1页/共" in flat


def test_campaigns_published_outside_the_period_are_left_out(world, login, batch_results, tmp_path):
    east = batch_results["东方公司工会"]
    db.session.execute(update(type(east)).where(type(east).id == east.id)
                       .values(published_at=utcnow() - timedelta(days=800)))
    db.session.commit()
    client = login("county_officer")
    flat = compact(download(client, request_review(client, world.town), tmp_path))
    assert "东方公司工会" not in flat
    assert "南方公司工会" in flat and "评议结果3个" in flat


def test_a_batch_review_covers_only_that_batch(world, login, batch_results, tmp_path):
    batch = CampaignBatch(title="2026年度问卷", root_union_id=world.town.id, template_id=world.form.id,
                          rule=BatchRule.picked, rule_params={"union_ids": []}, subject_kind=SubjectKind.none,
                          electorate_scope=ElectorateScope.union, title_pattern="{工会}",
                          created_by_id=world.county_officer.id, request_token=secrets.token_hex(16))
    db.session.add(batch)
    db.session.flush()
    for name in ("东方公司工会", "南方公司工会"):
        batch_results[name].batch_id = batch.id
    db.session.commit()
    client = login("county_officer")
    assert "生成本批次审阅报告" in client.get(f"/batches/{batch.id}").get_data(as_text=True)
    flat = compact(download(client, request_review(client, world.town, batch=str(batch.id)), tmp_path))
    assert "批次“2026年度问卷”" in flat
    assert "东方公司工会" in flat and "南方公司工会" in flat and "西方公司工会" not in flat
    # The batch belongs to the town: asking for it under another union is a plain 404.
    assert request_review(client, world.county, batch=str(batch.id)).status_code == 404


@pytest.mark.parametrize(("start", "end", "message"), [
    (date(2026, 6, 1), date(2026, 1, 1), "结束日期不能早于开始日期"),
    (date(2020, 1, 1), date(2026, 1, 1), "最多覆盖两年"),
    (date(1900, 1, 1), date(2026, 1, 1), "请输入 2000 年到 2099 年之间的日期"),
])
def test_a_bad_period_is_refused_with_a_message_and_starts_nothing(world, login, start, end, message):
    response = request_review(login("county_officer"), world.town, start, end)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert db.session.scalar(select(func.count()).select_from(ReviewJob)) == 0


def test_garbage_dates_are_refused(world, login):
    response = login("county_officer").post(f"/unions/{world.town.id}/review",
                                            data={"period_start": "abc", "period_end": "2026-13-45"})
    assert response.status_code == 400
    assert "Not a valid date value" not in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ReviewJob)) == 0


@pytest.mark.parametrize("username", ["other_officer", "chair", "m1", "outsider"])
def test_only_officers_of_the_subtree_request_read_and_download(world, login, batch_results, username, tmp_path):
    owner = login("county_officer")
    download(owner, request_review(owner, world.town), tmp_path)
    job = db.session.scalars(select(ReviewJob)).one()
    client = login(username)
    assert client.get(f"/unions/{world.town.id}/review").status_code == 404
    assert request_review(client, world.town).status_code == 404
    assert client.get(f"/reviews/{job.id}").status_code == 404
    assert client.get(f"/reviews/{job.id}/download").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(ReviewJob)) == 1


def test_an_officer_above_reads_the_report_and_a_guessed_id_is_not_found(world, login, batch_results, tmp_path):
    owner = login("county_officer")
    download(owner, request_review(owner, world.town), tmp_path)
    job = db.session.scalars(select(ReviewJob)).one()
    city = login("city_officer")
    assert city.get(f"/reviews/{job.id}/download").status_code == 200
    assert city.get(f"/reviews/{job.id + 1000}").status_code == 404
    assert city.get(f"/reviews/{job.id + 1000}/download").status_code == 404


def test_a_failed_render_ends_in_a_clear_message(world, login, batch_results, monkeypatch):
    import evalapp.reviews.pdf as pdf

    def broken(*_args, **_kwargs):
        raise RuntimeError("font cache gone")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    client = login("county_officer")
    response = request_review(client, world.town)
    job = db.session.scalars(select(ReviewJob)).one()
    assert job.stage == ReviewStage.failed and job.file_key is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "生成审阅报告时出错" in page
    assert client.get(f"/reviews/{job.id}/download").status_code == 404


def test_a_job_without_progress_for_long_shows_as_stalled(world, login):
    job = ReviewJob(union=world.town, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
                    created_by_id=world.county_officer.id, stage=ReviewStage.collecting,
                    updated_at=utcnow() - timedelta(hours=1))
    db.session.add(job)
    db.session.commit()
    page = login("county_officer").get(f"/reviews/{job.id}").get_data(as_text=True)
    assert "已经很久没有进展" in page and "重新生成" in page
    assert 'http-equiv="refresh"' not in page


def test_an_empty_period_gives_a_report_that_says_so(world, login, tmp_path):
    client = login("county_officer")
    flat = compact(download(client, request_review(client, world.town), tmp_path))
    assert "所选期间内没有公布的评议结果" in flat


def test_with_a_replica_configured_the_review_reads_there_and_writes_its_progress_to_the_primary(
        app, world, batch_results, tmp_path):
    from sqlalchemy import event

    from evalapp import create_app
    from evalapp.reviews.review import request_review as ask_for_review
    from evalapp.reviews.review import run_review
    from tests.conftest import IsolatedClient

    # The "replica" is the same database under a second URL: what matters is which engine each statement takes.
    node = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x", "TESTING": True,
                       "REPLICA_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "JOBS_INLINE": True,
                       "UPLOAD_FOLDER": str(tmp_path), "RATELIMIT_STORAGE_URI": "memory://"})
    node.test_client_class = IsolatedClient
    officer_id, town_id = world.county_officer.id, world.town.id
    db.session.commit()
    with node.app_context():
        statements = {"primary": [], "replica": []}
        for name, engine in (("primary", db.engines[None]), ("replica", db.engines["replica"])):
            event.listen(engine, "before_cursor_execute",
                         lambda *args, name=name: statements[name].append(args[2].split()[0].upper()))
        from evalapp.accounts.models import Account
        from evalapp.unions.models import Union

        officer, town = db.session.get(Account, officer_id), db.session.get(Union, town_id)
        job = ask_for_review(officer, town, date(local_today().year, 1, 1), local_today(), None)
        db.session.commit()
        run_review(job.id)
        job = db.session.get(ReviewJob, job.id)
        assert job.stage == ReviewStage.done and job.processed == 4
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    assert statements["replica"] and set(statements["replica"]) == {"SELECT"}
    assert "UPDATE" in statements["primary"], "the job's progress goes to the primary"


def test_a_union_evaluated_twice_in_the_period_is_ranked_once_on_its_latest_result(world, batch_results, tmp_path):
    from evalapp.campaigns.models import Campaign
    from evalapp.reviews.review import review_data
    from tests.factories import make_campaign

    earlier = make_campaign(world, "published", votes=[[1, 1, 1]] * 5)
    later = make_campaign(world, "published", votes=[[3, 3, 2]] * 5)
    db.session.execute(update(Campaign).where(Campaign.id == earlier.id)
                       .values(published_at=utcnow() - timedelta(days=200)))
    db.session.commit()
    data = review_data(world.county, local_today() - timedelta(days=365), local_today())
    mine = [row.campaign for row in data["rows"] if row.campaign.union_id == world.union_a.id]
    assert mine == [later] and data["totals"]["earlier"] == 1
    assert data["totals"]["campaigns"] == len({(row.campaign.union_id, row.campaign.subject_kind)
                                               for row in data["rows"]})
