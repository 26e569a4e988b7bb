"""The batch review PDF: every published campaign under a superior union in a period, in one report.

For a county of hundreds of unions this takes longer than a request should, so it runs as a job:
`request_review` records it and starts it, `run_review` gathers the figures in a few queries and
renders the PDF into storage, writing its progress where the job page (in any process) reads it;
`retry_review` starts a failed or stalled one again.
"""
import io
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import joinedload

from evalapp.campaigns.models import Campaign, published_within
from evalapp.core.db import db, reading_from_replica
from evalapp.core.errors import Refused
from evalapp.core.job_records import heartbeat, start_again
from evalapp.core.storage import storage
from evalapp.core.timeutil import local_today, utc_bounds
from evalapp.rectification.models import OPEN_STATES, Rectification
from evalapp.results.integrity import integrity_reports
from evalapp.results.models import min_group_size
from evalapp.results.ranking import batch_ranking
from evalapp.reviews.models import ReviewJob, ReviewStage
from evalapp.unions.models import Union

logger = logging.getLogger(__name__)

#: The longest period one report covers: a review is yearly at most, with some slack.
MAX_PERIOD = timedelta(days=731)
GRADES = ("优秀", "良好", "合格", "不合格")


FAILED = "生成审阅报告时出错，请稍后重新生成；如果再次失败，请联系系统管理员。"


def request_review(account, union, period_start, period_end, batch=None):
    """Record a review job for `union`'s subtree (or one batch of it); the caller commits, then starts it."""
    if not account.manages(union):
        raise Refused("您无权为该工会生成审阅报告。", 404)
    if batch is not None and (batch.root_union_id != union.id or not batch.can_manage(account)):
        raise Refused("该批次不属于此工会。", 404)
    if period_start is None or period_end is None:
        raise Refused("请填写起止日期。", 400)
    if period_end < period_start:
        raise Refused("结束日期不能早于开始日期。", 400)
    if period_end - period_start > MAX_PERIOD:
        raise Refused("一份审阅报告最多覆盖两年。", 400)
    job = ReviewJob(union=union, subject=union, batch=batch, period_start=period_start, period_end=period_end,
                    created_by_id=account.id, stage=ReviewStage.queued)
    db.session.add(job)
    db.session.flush()
    return job


def retry_review(job, account):
    """Start a failed or stalled review again, for whoever may request it; the caller commits, then runs it."""
    if not job.can_retry(account):
        raise Refused("您无权重新生成该审阅报告。", 404)
    return start_again(job, account, ReviewStage.queued)


def run_review(job_id):
    """Gather and render one review job; failures end in the job's `failed` state with a message."""
    from evalapp.reviews.pdf import render_pdf

    job = db.session.get(ReviewJob, job_id)
    if job is None or job.stage != ReviewStage.queued:
        return
    try:
        heartbeat(job_id, stage=ReviewStage.collecting)
        with reading_from_replica():
            data = review_data(job.union, job.period_start, job.period_end, job.batch,
                               progress=lambda done, total: heartbeat(job_id, processed=done, total=total))
        heartbeat(job_id, stage=ReviewStage.rendering)
        pdf = render_pdf("reviews/review_pdf.html", job=job, **data)
        key = storage().save(io.BytesIO(pdf))
        with db.engine.begin() as connection:
            connection.execute(update(ReviewJob.__table__).where(ReviewJob.__table__.c.id == job_id)
                               .values(file_key=key, file_size=len(pdf)))
        heartbeat(job_id, stage=ReviewStage.done)
    except Exception:
        logger.exception("review job %s failed", job_id)
        db.session.rollback()
        heartbeat(job_id, stage=ReviewStage.failed, message=FAILED)
    finally:
        db.session.remove()


@dataclass
class ReviewRow:
    campaign: Campaign
    electorate: int
    turnout: int
    turnout_rate: float | None
    quorum_met: bool
    #: The grade as printed: the grade, "无效…" or "不公布…" (Result.grade_label); `grade` only when shown.
    grade_label: str
    grade: str | None
    overall: float | None
    rank: int | None
    mean: float | None
    low: float | None
    high: float | None
    rectifications: int
    open_rectifications: int
    overdue: int


def published_between(union, start, end, batch=None):
    """SQL for the campaigns in `union`'s subtree published on the local days start..end (inclusive)."""
    query = (select(Campaign).join(Union, Union.id == Campaign.union_id)
             .where(Union.subtree_filter(union), published_within(*utc_bounds(start, end))))
    if batch is not None:
        query = query.where(Campaign.batch_id == batch.id)
    return query


def latest_per_union(campaigns):
    """One campaign per union and kind of evaluation: the latest published in the period. A union
    evaluated twice in it (its 2025 and its 2026 result) is ranked once, on its latest result."""
    latest = {}
    for campaign in campaigns:
        key = (campaign.union_id, campaign.subject_kind)
        if key not in latest or (campaign.published_at, campaign.id) > (latest[key].published_at, latest[key].id):
            latest[key] = campaign
    return sorted(latest.values(), key=lambda campaign: campaign.id)


def review_data(union, start, end, batch=None, today=None, progress=None):
    """Return the review's context: rows (ranked first), the Kruskal–Wallis test, totals, overdue items."""
    today = today or local_today()
    published = list(db.session.scalars(
        published_between(union, start, end, batch)
        .options(joinedload(Campaign.union).joinedload(Union.parent), joinedload(Campaign.result))
        .order_by(Campaign.id)).unique())
    campaigns = latest_per_union(published)
    if progress:
        progress(0, len(campaigns))
    ids = [c.id for c in campaigns]
    is_open = Rectification.state.in_([s.value for s in OPEN_STATES])
    counts = {campaign_id: (total, still_open, overdue) for campaign_id, total, still_open, overdue in db.session.execute(
        select(Rectification.campaign_id, func.count(), func.sum(case((is_open, 1), else_=0)),
               func.sum(case((Rectification.overdue_condition(today), 1), else_=0)))
        .where(Rectification.campaign_id.in_(ids)).group_by(Rectification.campaign_id))} if ids else {}
    ranking, difference, _left_out = batch_ranking(campaigns)
    ranked = {r.campaign.id: r for r in ranking}
    rows = []
    for campaign in campaigns:
        result, place = campaign.result, ranked.get(campaign.id)
        total, still_open, overdue = counts.get(campaign.id, (0, 0, 0))
        rows.append(ReviewRow(
            campaign, result.electorate_size, result.turnout,
            result.turnout / result.electorate_size if result.electorate_size else None,
            result.quorum_met, result.grade_label, result.shown_grade, result.shown_overall_score,
            place.rank if place else None, place.mean if place else None,
            place.low if place else None, place.high if place else None,
            total, int(still_open or 0), int(overdue or 0)))
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.campaign.union.name, r.campaign.id))
    electorate = sum(r.electorate for r in rows)
    turnout = sum(r.turnout for r in rows)
    overdue_items = list(db.session.scalars(
        select(Rectification).where(Rectification.campaign_id.in_(ids), Rectification.overdue_condition(today))
        .options(joinedload(Rectification.campaign).joinedload(Campaign.union))
        .order_by(Rectification.deadline, Rectification.id))) if ids else []
    integrity = integrity_reports(campaigns)
    if progress:
        progress(len(campaigns), len(campaigns))
    return {
        "union": union, "batch": batch, "period_start": start, "period_end": end, "today": today,
        "rows": rows, "difference": difference, "min_group": min_group_size(),
        "totals": {
            "campaigns": len(rows), "electorate": electorate, "turnout": turnout,
            "earlier": len(published) - len(campaigns),
            "turnout_rate": turnout / electorate if electorate else None,
            "grades": [(grade, sum(1 for r in rows if r.grade == grade)) for grade in GRADES],
            "void": sum(1 for r in rows if not r.quorum_met),
            "ranked": len(ranking),
            "rectifications": sum(r.rectifications for r in rows),
            "open_rectifications": sum(r.open_rectifications for r in rows),
            "overdue": sum(r.overdue for r in rows),
        },
        "integrity": [(campaign, integrity[campaign.id]) for campaign in sorted(campaigns, key=lambda c: (c.union.name, c.id))
                      if campaign.id in integrity and not integrity[campaign.id].clean],
        "overdue_items": [{"union": r.campaign.union.name, "problem": r.problem, "state": r.state.label,
                           "deadline": r.deadline, "days": (today - r.deadline).days} for r in overdue_items],
    }
