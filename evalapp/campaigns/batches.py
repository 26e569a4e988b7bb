"""Batch campaigns: one campaign per selected union of a subtree, from one template and one schedule.

Selecting and previewing take a fixed handful of set-wise queries and creating adds one bulk insert and
one audit entry, however many unions there are: no per-union round trips of checks (0.2 s to preview
and 0.6 s to create 512 campaigns on PostgreSQL on a small shared machine: benchmarks/large_electorate.py).
"""
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from evalapp.accounts.models import Account, Role, RoleGrant
from evalapp.campaigns.models import (
    BATCH_SUBJECT_KINDS,
    RECTIFICATION_MONTHS,
    BatchRule,
    Campaign,
    CampaignBatch,
    CampaignState,
    ElectorateScope,
    SubjectKind,
)
from evalapp.campaigns.operations import ACTIONS, available_actions
from evalapp.campaigns.signals import evaluated_in_year
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.text import check_line
from evalapp.core.timeutil import local_today, to_local, utcnow
from evalapp.questionnaires.models import Questionnaire
from evalapp.questionnaires.operations import usable_templates
from evalapp.unions.models import Member, Union, UnionKind, UnionSector
from evalapp.unions.operations import active_member_counts

#: Stands for each union's name in the campaign titles of a batch.
UNION_PLACEHOLDER = "{工会}"
#: Campaigns still under way: a second one of the same kind for the same union would be a duplicate.
#: Until its result is published, a campaign is under way (a closed one waits for its officers).
UNFINISHED = (CampaignState.draft, CampaignState.reporting, CampaignState.open, CampaignState.closed)
#: The bulk actions offered on a batch page, in lifecycle order.
BULK_ACTIONS = ("start_reporting", "open", "close", "publish", "archive")
TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
MAX_MIN_MEMBERS = 1_000_000
MAX_PATTERN_LENGTH = 100


@dataclass
class BatchSpec:
    """What the officer asked for; checked by `check_spec` before anything is selected."""

    title: str
    template: Questionnaire
    rule: BatchRule
    params: dict
    subject_kind: SubjectKind = SubjectKind.chair
    electorate_scope: ElectorateScope = ElectorateScope.union
    title_pattern: str = f"{UNION_PLACEHOLDER}主席述职评议"
    opens_at: datetime | None = None
    closes_at: datetime | None = None


@dataclass
class Candidate:
    """One union the rule matched, with what the preview shows about it."""

    union_id: int
    name: str
    members: int
    title: str
    chair: str | None = None
    skip_reason: str | None = None


@dataclass
class Selection:
    chosen: list[Candidate] = field(default_factory=list)
    skipped: list[Candidate] = field(default_factory=list)
    #: The checked spec the selection was made with (see `settings_key`).
    settings: str = ""

    @property
    def digest(self):
        """Fingerprint of what the preview showed: confirming refuses if it differs from the preview's.

        The first half covers the settings every campaign is created with, the second the chosen
        unions, so that confirming can tell the officer which of the two changed.
        """
        ids = ",".join(str(c.union_id) for c in sorted(self.chosen, key=lambda c: c.union_id))
        return _half_digest(self.settings) + _half_digest(ids)


def _half_digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def settings_key(spec):
    """The checked spec as canonical text: everything the batch and its campaigns are created from.

    The preview page leaves the whole form editable, so a confirmation must prove it was made with
    the settings previewed, not only that the same unions qualify.
    """
    return json.dumps({
        "title": spec.title, "template": spec.template.id, "rule": spec.rule.value, "params": spec.params,
        "subject_kind": spec.subject_kind.value, "electorate_scope": spec.electorate_scope.value,
        "title_pattern": spec.title_pattern,
        "opens_at": spec.opens_at.isoformat() if spec.opens_at else None,
        "closes_at": spec.closes_at.isoformat() if spec.closes_at else None,
    }, sort_keys=True, ensure_ascii=False)


def campaign_title(pattern, union_name):
    """Return the campaign title for one union: the pattern with "{工会}" replaced, else the name appended."""
    if UNION_PLACEHOLDER in pattern:
        title = pattern.replace(UNION_PLACEHOLDER, union_name)
    else:
        title = f"{pattern}（{union_name}）"
    return title[:200]


def check_spec(actor, root, spec):
    """Refuse a spec that cannot make a batch; return it with its text trimmed and its rule parameters typed."""
    if not actor.manages(root):
        raise Refused("无权为该工会批量发起评议。", 403)
    if spec.subject_kind not in BATCH_SUBJECT_KINDS:
        raise Refused("批量发起的评议只能评议各工会主席，或作为不设评议对象的问卷调查。", 400)
    if spec.template is None or spec.template not in usable_templates(root):
        raise Refused("所选测评表不适用于该工会。", 400)
    if not spec.template.items:
        raise Refused("所选测评表还没有题目。", 400)
    spec.title = (spec.title or "").strip()
    if not spec.title or len(spec.title) > 200:
        raise Refused("批次名称不能为空，也不能超过 200 字。", 400)
    check_line(spec.title, "批次名称")
    spec.title_pattern = (spec.title_pattern or "").strip()
    check_line(spec.title_pattern, "活动名称格式")
    if not spec.title_pattern or len(spec.title_pattern) > MAX_PATTERN_LENGTH:
        raise Refused(f"活动名称格式不能为空，也不能超过 {MAX_PATTERN_LENGTH} 字。", 400)
    if spec.opens_at and spec.closes_at and spec.closes_at <= spec.opens_at:
        raise Refused("截止时间必须晚于开始时间。", 400)
    if spec.closes_at and spec.closes_at <= utcnow():
        raise Refused("投票截止时间已过，请重新填写。", 400)
    spec.params = _checked_params(root, spec.rule, spec.params or {})
    return spec


def _checked_params(root, rule, params):
    if rule == BatchRule.kind:
        try:
            return {"kind": UnionKind(params.get("kind")).value}
        except ValueError:
            raise Refused("请选择工会类型。", 400) from None
    if rule == BatchRule.sector:
        try:
            sector = UnionSector(params.get("sector")).value
        except ValueError:
            raise Refused("请选择所属类型。", 400) from None
        minimum = params.get("min_members")
        if not isinstance(minimum, int) or isinstance(minimum, bool) or not 0 <= minimum <= MAX_MIN_MEMBERS:
            raise Refused("会员人数下限须为 0 到 1000000 之间的整数。", 400)
        return {"sector": sector, "min_members": minimum}
    ids = params.get("union_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise Refused("请至少选择一个下属工会。", 400)
    ids = sorted(set(ids))
    children = set(db.session.scalars(select(Union.id).where(Union.parent_id == root.id, Union.id.in_(ids))))
    if children != set(ids):
        raise Refused("所选工会须是本工会的直属下级工会。", 400)
    return {"union_ids": ids}


def _rule_condition(root, rule, params):
    """Return the SQL condition on Union for the rule (the member-count threshold is applied afterwards).

    Dissolved unions get no new campaigns."""
    return Union.dissolved_at.is_(None) & _rule_match(root, rule, params)


def _rule_match(root, rule, params):
    if rule == BatchRule.kind:
        return Union.subtree_filter(root) & (Union.kind == UnionKind(params["kind"]))
    if rule == BatchRule.sector:
        return Union.subtree_filter(root) & (Union.sector == UnionSector(params["sector"]))
    return (Union.parent_id == root.id) & Union.id.in_(params["union_ids"])


def select_unions(actor, root, spec):
    """Return the Selection the spec makes: unions that get a campaign, and those skipped with the reason."""
    spec = check_spec(actor, root, spec)
    condition = _rule_condition(root, spec.rule, spec.params)
    matched_ids = select(Union.id).where(condition)
    unions = db.session.execute(select(Union.id, Union.name).where(condition).order_by(Union.name, Union.id)).all()
    direct = active_member_counts(matched_ids)
    if spec.rule == BatchRule.sector:
        unions = [u for u in unions if direct.get(u.id, 0) >= spec.params["min_members"]]
    counts = _subtree_counts(root) if spec.electorate_scope == ElectorateScope.subtree else direct
    chairs = {}
    if spec.subject_kind == SubjectKind.chair:
        chairs = dict(db.session.execute(
            select(RoleGrant.union_id, Account.display_name).join(Account, RoleGrant.account_id == Account.id)
            .where(RoleGrant.role == Role.chair, RoleGrant.union_id.in_(matched_ids))).all())
    running = _running_campaigns(matched_ids, spec)
    year = to_local(spec.opens_at).year if spec.opens_at else local_today().year
    evaluated = {}
    if spec.subject_kind == SubjectKind.chair:
        for _receiver, answer in evaluated_in_year.send(matched_ids, year=year):
            evaluated.update(answer or {})
    selection = Selection(settings=settings_key(spec))
    for union in unions:
        candidate = Candidate(union.id, union.name, counts.get(union.id, 0), campaign_title(spec.title_pattern, union.name),
                              chair=chairs.get(union.id))
        if union.id in running:
            candidate.skip_reason = f"已有未结束的同类评议活动“{running[union.id]}”"
        elif union.id in evaluated:
            candidate.skip_reason = f"{year} 年度已完成评议“{evaluated[union.id]}”（结果有效）"
        elif spec.subject_kind == SubjectKind.chair and candidate.chair is None:
            candidate.skip_reason = "尚未任命工会主席"
        elif candidate.members == 0:
            candidate.skip_reason = "参评范围内没有在册会员"
        (selection.skipped if candidate.skip_reason else selection.chosen).append(candidate)
    return selection


def _subtree_counts(root):
    """Return {union id: active members in its whole subtree} for every union under `root`."""
    totals = Counter()
    rows = db.session.execute(
        select(Union.path, func.count(Member.id)).join(Member, Member.union_id == Union.id)
        .where(Union.subtree_filter(root), Member.active.is_(True)).group_by(Union.id, Union.path))
    for path, count in rows:
        for ancestor_id in path.strip("/").split("/"):
            totals[int(ancestor_id)] += count
    return totals


def _running_campaigns(matched_ids, spec):
    """Return {union id: title} of unfinished campaigns of the same kind (a survey: from the same template)."""
    query = select(Campaign.union_id, Campaign.title).where(
        Campaign.union_id.in_(matched_ids), Campaign.state.in_(UNFINISHED), Campaign.subject_kind == spec.subject_kind)
    if spec.subject_kind != SubjectKind.chair:
        query = query.where(Campaign.template_id == spec.template.id)
    return dict(db.session.execute(query.order_by(Campaign.id)).all())


def create_batch(actor, root, spec, token, expected_digest):
    """Create the batch and one draft campaign per chosen union; return (batch, created).

    `token` comes from the preview page: the same token submitted again returns the batch it already
    made (created is False), so a double click or a reload creates nothing twice. `expected_digest`
    is the preview's fingerprint; if the settings or the unions that qualify changed since, nothing
    is created.
    """
    if not TOKEN_PATTERN.fullmatch(token or ""):
        raise Refused("确认信息已失效，请重新预览后再确认。", 400)
    existing = _batch_with_token(token)
    if existing is not None:
        return _repeat(existing, root), False
    selection = select_unions(actor, root, spec)
    if selection.digest != expected_digest or not selection.chosen:
        # A concurrent confirmation of this same preview may have created its campaigns meanwhile,
        # which is what made the unions look different: then that batch is the answer.
        existing = _batch_with_token(token)
        if existing is not None:
            return _repeat(existing, root), False
        if selection.digest != expected_digest:
            if selection.digest[:16] != (expected_digest or "")[:16]:
                raise Refused("预览之后，批量发起的设置有了改动。请核对下面按新设置生成的预览后再确认。", 409)
            raise Refused("预览之后，符合条件的工会发生了变化。请核对下面的新名单后再确认。", 409)
        raise Refused("没有可以发起评议的工会。", 400)
    batch = CampaignBatch(
        title=spec.title, root_union_id=root.id, template_id=spec.template.id, rule=spec.rule,
        rule_params=spec.params, subject_kind=spec.subject_kind, electorate_scope=spec.electorate_scope,
        title_pattern=spec.title_pattern, opens_at=spec.opens_at, closes_at=spec.closes_at,
        created_by_id=actor.id, request_token=token)
    db.session.add(batch)
    try:
        db.session.flush()
    except IntegrityError:
        # The same confirmation in a concurrent request got there first (the token is unique).
        db.session.rollback()
        existing = _batch_with_token(token)
        if existing is None:
            raise
        return _repeat(existing, root), False
    now = utcnow()
    campaigns = [Campaign(
        title=c.title, union_id=c.union_id, template_id=spec.template.id, subject_kind=spec.subject_kind,
        subject_name=f"{c.name}主席" if spec.subject_kind == SubjectKind.chair else "",
        electorate_scope=spec.electorate_scope, opens_at=spec.opens_at, closes_at=spec.closes_at,
        created_at=now, created_by_id=actor.id, batch_id=batch.id, state=CampaignState.draft,
        rectification_months=RECTIFICATION_MONTHS) for c in selection.chosen]
    db.session.add_all(campaigns)
    db.session.flush()
    # One entry names every campaign the batch created (id and union). An entry per campaign cost
    # three round trips each under the audit chain's lock: 2.6 of 3.4 s for 512 campaigns on PostgreSQL.
    # Each campaign's later state changes are audited one by one as usual.
    audit.record("batch.created", batch, actor=actor, title=batch.title, root_union_id=root.id, rule=spec.rule.value,
                 params=spec.params, template_id=spec.template.id, subject_kind=spec.subject_kind.value,
                 electorate_scope=spec.electorate_scope.value, title_pattern=spec.title_pattern,
                 opens_at=spec.opens_at, closes_at=spec.closes_at, skipped=len(selection.skipped),
                 campaigns=[[campaign.id, campaign.union_id] for campaign in campaigns])
    return batch, True


def _batch_with_token(token):
    return db.session.scalar(select(CampaignBatch).where(CampaignBatch.request_token == token))


def _repeat(batch, root):
    if batch.root_union_id != root.id:
        raise Refused("确认信息已失效，请重新预览后再确认。", 409)
    return batch


@dataclass
class BulkOutcome:
    changed: int = 0
    #: {refusal message: how many campaigns it stopped}
    refused: Counter = field(default_factory=Counter)


def bulk_candidates(batch):
    """Return {action: campaigns of the batch where it fits now}, for the actions with any."""
    fits = {}
    for campaign in batch.campaigns:
        for action in available_actions(campaign):
            fits.setdefault(action, []).append(campaign)
    return {action: fits[action] for action in BULK_ACTIONS if action in fits}


def apply_to_batch(batch, action, actor):
    """Apply one lifecycle action to every campaign of the batch where the campaign's state fits it.

    Each campaign goes through the same operation as on its own page, in a savepoint of its own:
    one that is refused (a chair who has not reported yet) is left as it was and counted.
    """
    if not batch.can_manage(actor):
        raise Refused("无权管理该批次。", 403)
    if action not in BULK_ACTIONS:
        raise Refused("未知的操作。", 404)
    operation = ACTIONS[action][0]
    outcome = BulkOutcome()
    for campaign in bulk_candidates(batch).get(action, []):
        try:
            with db.session.begin_nested():
                operation(campaign, actor)
        except Refused as refusal:
            outcome.refused[refusal.message] += 1
        else:
            outcome.changed += 1
    if not outcome.changed and not outcome.refused:
        raise Refused(f"本批次没有可以“{ACTIONS[action][1]}”的活动。")
    audit.record("batch.action_applied", batch, actor=actor, bulk_action=action, changed=outcome.changed,
                 refused=sum(outcome.refused.values()))
    return outcome


def batches_rooted_at(union):
    """Return the batches created for `union`, newest first."""
    return list(db.session.scalars(
        select(CampaignBatch).where(CampaignBatch.root_union_id == union.id).order_by(CampaignBatch.id.desc())))


def describe_rule(batch_or_spec):
    """Return the rule in words, e.g. "非公有制企业、在册会员 100 人以上的全部工会"."""
    rule, params = batch_or_spec.rule, (batch_or_spec.rule_params if isinstance(batch_or_spec, CampaignBatch)
                                        else batch_or_spec.params)
    if rule == BatchRule.kind:
        return f"范围内全部{UnionKind(params['kind']).label}"
    if rule == BatchRule.sector:
        sector = UnionSector(params["sector"]).label
        if params["min_members"]:
            return f"所属类型为{sector}、在册会员 {params['min_members']} 人以上的全部工会"
        return f"所属类型为{sector}的全部工会"
    return f"手工选择的 {len(params['union_ids'])} 个直属下级工会"
