"""The result page leads with sentences a member understands; the statistician's figures are for officers."""
import re

from tests.factories import make_campaign

# Items 1 and 2 are 满意/基本满意/不满意 (positions 1, 2 count as satisfied); item 3 is a scale.
VOTES = [[1, 1, 1], [1, 2, 2], [2, 1, 3], [2, 3, 1], [3, 3, 2]]


def summary(client, campaign):
    page = client.get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    card = page[page.index("评议结果摘要"):]
    return re.findall(r"<p>(.*?)</p>", card[:card.index("</div>")]), page


def satisfied_share(position):
    answers = [ballot[position - 1] for ballot in VOTES]
    return sum(1 for answer in answers if answer in (1, 2)) / len(answers)


def test_a_member_reads_whether_it_counts_what_was_rated_best_and_worst_and_what_must_be_rectified(world, login):
    campaign = make_campaign(world, "published", votes=VOTES)
    sentences, page = summary(login("m1"), campaign)
    first, second = satisfied_share(1), satisfied_share(2)                 # 80% and 60%, counted here
    assert sentences[0].startswith("本次评议应参评 5 人，实参评 5 人（100.0%），结果有效。综合得分")
    assert sentences[1] == f"会员评价最高的是“第1题”（满意率 {first:.1%}），最低的是“第2题”（满意率 {second:.1%}）。"
    [rectification] = campaign.rectifications
    assert sentences[2].startswith("需要整改 1 项：“第2题”满意率为 60.0%") and "。。" not in sentences[2]
    assert f"工会须在 {rectification.due_date} 前提交整改方案" in sentences[2]
    for jargon in ("统计说明", "Cronbach", "秩双列相关", "Cramér", "p ="):
        assert jargon not in page, jargon
    officer_page = login("county_officer").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "统计说明" in officer_page and "Cronbach" in officer_page


def test_a_void_or_small_result_says_so_in_words(world, login):
    void = make_campaign(world, "published", votes=VOTES[:3])
    assert summary(login("m1"), void)[0] == [
        "本次评议应参评 5 人，实参评 3 人，未达到法定人数（至少 4 人），结果无效，需要重新组织评议。"]
    small = make_campaign(world, "published", votes=VOTES[:4])           # quorum met, but under five voters
    assert summary(login("m1"), small)[0] == ["本次评议实参评 4 人。参评人数太少，为保护每个人的投票秘密，不公布任何统计结果。"]


def test_clear_changes_since_last_time_are_named_and_chance_ones_are_not():
    from evalapp.results.summary import plain_summary

    def test(effect, p):
        return {"effect": effect, "p": p, "significant": p < 0.05}

    context = {
        "result": {"quorum_met": True, "breakdown_shown": True, "electorate": 100, "turnout": 90, "turnout_rate": 0.9,
                   "overall_score": 85.0, "grade": "良好", "quorum_required": 67,
                   "comparison": {"title": "2025年度述职评议", "overall": test(0.3, 0.001), "items": [
                       {"prompt": "关心职工", "scores": test(0.4, 0.01)},
                       {"prompt": "厂务公开", "scores": test(-0.35, 0.02)},
                       {"prompt": "廉洁自律", "scores": test(0.2, 0.3)}]}},
        "items": [], "rectifications": []}
    sentences = plain_summary(context)
    assert sentences[1] == "与上次评议（2025年度述职评议）相比，总体评价比上次明显提高；“关心职工”明显好转；“厂务公开”明显变差。"
    assert "廉洁自律" not in sentences[1] and sentences[2] == "没有需要整改的项目。"
