"""The result in sentences a member understands, leading the result page: whether it counts, what was
rated highest and lowest, what changed clearly since last time, and what must be rectified by when.

Built from the same shown figures as the page (results.presentation), so it never says more than the
small-group and quorum rules let the page say.
"""


def plain_summary(context):
    result, items, rectifications = context["result"], context["items"], context["rectifications"]
    if not result["quorum_met"]:
        return [f"本次评议应参评 {result['electorate']} 人，实参评 {result['turnout']} 人，"
                f"未达到法定人数（至少 {result['quorum_required']} 人），结果无效，需要重新组织评议。"]
    if not result["breakdown_shown"]:
        return [f"本次评议实参评 {result['turnout']} 人。参评人数太少，为保护每个人的投票秘密，不公布任何统计结果。"]
    sentences = [f"本次评议应参评 {result['electorate']} 人，实参评 {result['turnout']} 人"
                 f"（{_percent(result['turnout_rate'])}），结果有效。"
                 + (f"综合得分 {result['overall_score']:.1f} 分，评议等次为“{result['grade']}”。"
                    if result["overall_score"] is not None and result["grade"] else "")]
    rated = [item for item in items if item["scored"] and not item["withheld"] and item["rate"] is not None]
    if len(rated) >= 2:
        best = max(rated, key=lambda item: (item["rate"], -item["position"]))
        worst = min(rated, key=lambda item: (item["rate"], item["position"]))
        if best["rate"] > worst["rate"]:
            sentences.append(f"会员评价最高的是“{best['prompt']}”（满意率 {_percent(best['rate'])}），"
                             f"最低的是“{worst['prompt']}”（满意率 {_percent(worst['rate'])}）。")
        else:
            sentences.append(f"各项的满意率相同，都是 {_percent(best['rate'])}。")
    comparison = result["comparison"]
    if comparison:
        better = [i["prompt"] for i in comparison["items"] if _clearly(i["scores"], +1)]
        worse = [i["prompt"] for i in comparison["items"] if _clearly(i["scores"], -1)]
        overall = ("总体评价比上次明显提高" if _clearly(comparison["overall"], +1)
                   else "总体评价比上次明显下降" if _clearly(comparison["overall"], -1) else "总体评价与上次相比没有明显变化")
        details = "".join([f"；“{'”“'.join(better)}”明显好转" if better else "",
                           f"；“{'”“'.join(worse)}”明显变差" if worse else ""])
        sentences.append(f"与上次评议（{comparison['title']}）相比，{overall}{details}。")
    if rectifications:
        due = min(r["due_date"] for r in rectifications)
        problems = "；".join(r["problem"].rstrip("。；") for r in rectifications[:3]) + ("等" if len(rectifications) > 3 else "")
        sentences.append(f"需要整改 {len(rectifications)} 项：{problems}。工会须在 {due} 前提交整改方案，"
                         "整改方案和整改结果都会向参评会员公开。")
    else:
        sentences.append("没有需要整改的项目。")
    return sentences


def _clearly(test, direction):
    """A change large enough not to be chance (p < 0.05), in `direction`."""
    return bool(test and test["significant"] and test["effect"] * direction > 0)


def _percent(value):
    return "—" if value is None else f"{value * 100:.1f}%"
