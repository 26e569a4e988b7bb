"""Ranking a batch's results by the lower bound of the ballots' mean score, and Kruskal–Wallis across them,
checked against values computed independently from the ballots cast.

Ballot scores with the default questionnaire (weights 1, 2, 3; 满意 100 / 基本满意 60 / 不满意 0; 5分..1分 →
100..0): [1, 1, 1] → 100; [3, 3, 5] → 0; [1, 1, 2] → (100 + 200 + 225) / 6 = 87.5; [2, 2, 2] → (60 + 120 + 225) / 6 = 67.5.
"""
import math
import secrets
from statistics import mean, stdev

import pytest
from scipy.stats import kruskal
from scipy.stats import t as student

from evalapp.campaigns.models import BatchRule, CampaignBatch, ElectorateScope, SubjectKind
from evalapp.core.db import db
from evalapp.results.ranking import batch_ranking
from tests.factories import close_and_publish, make_account, make_campaign, make_questionnaire, make_union, vote

SCORES = {(1, 1, 1): 100.0, (3, 3, 5): 0.0, (1, 1, 2): 87.5, (2, 2, 2): 67.5}
ROSTER = 40  # members without accounts, so that the electorate is larger than the turnout
UNIONS = {
    # A high mean from five very different ballots …
    "东方公司工会": [(1, 1, 1)] * 4 + [(3, 3, 5)],
    # … ranks below a lower but steady mean from six ballots.
    "南方公司工会": [(1, 1, 2)] * 3 + [(2, 2, 2)] * 3,
    "西方公司工会": [(1, 1, 2)] * 5 + [(1, 1, 1)] * 2,
    # Two voters: no breakdown is published, so no rank either.
    "北方公司工会": [(1, 1, 1)] * 2,
}


@pytest.fixture
def batch_results(world):
    form = make_questionnaire(world.city, quorum_ratio="1/25")
    campaigns = {}
    for name, ballots in UNIONS.items():
        union = make_union(world.town, name, members=ROSTER)
        voters = [make_account(f"{name}{i}", member_of=union) for i in range(len(ballots))]
        campaign = make_campaign(world, "open", union=union, subject=SubjectKind.none, form=form)
        for voter, positions in zip(voters, ballots):
            vote(campaign, voter, list(positions))
        close_and_publish(world, campaign)
        campaigns[name] = campaign
    db.session.commit()
    return campaigns


def textbook_lower_bound(scores, electorate):
    n = len(scores)
    half = student.ppf(0.975, n - 1) * stdev(scores) / math.sqrt(n) * math.sqrt((electorate - n) / (electorate - 1))
    return mean(scores) - half


def test_the_ranking_follows_the_lower_bound_not_the_mean(batch_results):
    ranked, difference, left_out = batch_ranking(list(batch_results.values()))
    expected = sorted((name for name in UNIONS if len(UNIONS[name]) >= 5),
                      key=lambda name: -textbook_lower_bound([SCORES[b] for b in UNIONS[name]], ROSTER + len(UNIONS[name])))
    assert [row.campaign.union.name for row in ranked] == expected
    assert [row.rank for row in ranked] == [1, 2, 3]
    east, south = batch_results["东方公司工会"], batch_results["南方公司工会"]
    assert east.result.ballot_score_mean > south.result.ballot_score_mean
    assert expected.index("南方公司工会") < expected.index("东方公司工会")
    for row in ranked:
        scores = [SCORES[b] for b in UNIONS[row.campaign.union.name]]
        assert row.mean == pytest.approx(mean(scores))
        assert row.low == pytest.approx(textbook_lower_bound(scores, ROSTER + len(scores)))
    assert [c.union.name for c in left_out] == ["北方公司工会"]

    raw = [[SCORES[b] for b in UNIONS[name]] for name in expected]
    statistic, p_value = kruskal(*raw)
    assert difference.statistic == pytest.approx(statistic) and difference.p_value == pytest.approx(p_value)
    assert difference.dof == 2


def batch_of(world, campaigns):
    """Put `campaigns` into one batch of the county (as if it had opened them together); return the batch."""
    batch = CampaignBatch(title="2026年度问卷", root_union_id=world.county.id, template_id=world.form.id,
                          rule=BatchRule.picked, rule_params={"union_ids": []}, subject_kind=SubjectKind.none,
                          electorate_scope=ElectorateScope.union, title_pattern="{工会}",
                          created_by_id=world.county_officer.id, request_token=secrets.token_hex(16))
    db.session.add(batch)
    db.session.flush()
    for campaign in campaigns:
        campaign.batch_id = batch.id
    db.session.commit()
    return batch


def test_the_batch_page_shows_the_ranking_to_its_officers(world, login, batch_results):
    batch = batch_of(world, batch_results.values())
    page = login("county_officer").get(f"/batches/{batch.id}").get_data(as_text=True)
    ranking = page[page.index("评议结果排名"):page.index("<h2>评议活动</h2>")]
    positions = [ranking.index(name) for name in ("西方公司工会", "南方公司工会", "东方公司工会")]
    assert positions == sorted(positions)
    assert "Kruskal–Wallis" in ranking and "未参加排名：北方公司工会" in ranking
    assert login("other_officer").get(f"/batches/{batch.id}").status_code == 404
