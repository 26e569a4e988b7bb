"""A Jiangmen-like federation with real-looking rosters and campaigns in every state.

Everything is created through the domain operations, so the demo obeys the same rules as real
use: ballots are cast by members, results are computed at publication, rectifications follow.
"""
import random
import secrets
from datetime import timedelta

from werkzeug.security import generate_password_hash

from evalapp.accounts.models import Role
from evalapp.accounts.operations import create_account, grant_role
from evalapp.campaigns.models import ElectorateEntry, ElectorateScope, SubjectKind
from evalapp.campaigns.operations import (
    archive,
    close_voting,
    create_campaign,
    open_voting,
    publish,
    start_reporting,
)
from evalapp.core.db import db
from evalapp.core.timeutil import local_today, utcnow
from evalapp.duty_reports.operations import add_images, save_report
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item, create_questionnaire
from evalapp.rectification.operations import (
    add_progress,
    approve_outcome,
    approve_plan,
    complete,
    plan_due_date,
    publish_outcome,
    return_plan,
    submit_plan,
)
from evalapp.suggestions.operations import add_suggestion, flag, hide, respond
from evalapp.unions.models import Member, UnionKind, UnionSector
from evalapp.unions.operations import (
    add_member,
    create_union,
    id_check_char,
)
from evalapp.voting.operations import cast_ballot

# The published demo password, for demo data only.
DEMO_PASSWORD = "demo2026"  # nosec B105
DEMO_LOGINS = [
    ("admin", "系统管理员"),
    ("officer", "江门市总工会工作人员（管理全市）"),
    ("county", "新会区总工会工作人员（管理新会区）"),
    ("chair", "江门市华侨电器有限公司工会主席"),
    ("member", "江门市华侨电器有限公司工会会员（有一场评议待投票）"),
]

#: (county, region code for ID numbers, {town: [grassroots unions]}, grassroots directly under the county)
TREE = [
    ("蓬江区总工会", "440703", {
        "白沙街道总工会": ["江门市华侨电器有限公司工会", "白沙街道社区卫生服务中心工会"],
        "潮连街道总工会": ["江门市潮连五金制品有限公司工会"],
    }, ["蓬江区教育系统工会"]),
    ("江海区总工会", "440704", {
        "外海街道总工会": ["江门市江海电子科技有限公司工会", "外海街道环境卫生管理所工会"],
    }, []),
    ("新会区总工会", "440705", {
        "会城街道总工会": ["江门市新会区柑之源陈皮有限公司工会", "会城街道中心小学工会"],
        "大泽镇总工会": ["大泽镇五金机械厂工会"],
    }, ["新会区新业态行业工会"]),
    ("台山市总工会", "440781", {
        "台城街道总工会": ["台山市第一人民医院工会"],
        "广海镇总工会": ["广海镇渔业专业合作社工会"],
    }, []),
    ("开平市总工会", "440783", {
        "三埠街道总工会": ["开平市水口水暖卫浴有限公司工会"],
    }, []),
]

#: What each demo grassroots union belongs to (所属类型); batches select by it.
SECTORS = {
    "江门市华侨电器有限公司工会": UnionSector.non_public_enterprise,
    "白沙街道社区卫生服务中心工会": UnionSector.public_institution,
    "江门市潮连五金制品有限公司工会": UnionSector.non_public_enterprise,
    "蓬江区教育系统工会": UnionSector.joint,
    "江门市江海电子科技有限公司工会": UnionSector.non_public_enterprise,
    "外海街道环境卫生管理所工会": UnionSector.public_institution,
    "江门市新会区柑之源陈皮有限公司工会": UnionSector.non_public_enterprise,
    "会城街道中心小学工会": UnionSector.public_institution,
    "大泽镇五金机械厂工会": UnionSector.state_owned_enterprise,
    "新会区新业态行业工会": UnionSector.joint,
    "台山市第一人民医院工会": UnionSector.public_institution,
    "广海镇渔业专业合作社工会": UnionSector.other,
    "开平市水口水暖卫浴有限公司工会": UnionSector.non_public_enterprise,
}

SURNAMES = "陈李黄张梁林吴何谭关余伍甄邓冯区周赵罗郑许麦杨叶胡朱刘司徒欧阳"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华建国志强丽萍嘉欣俊杰浩然子轩雅婷晓东永健"
CHAIR_REPORT = (
    "<p>一年来，在上级工会和公司党委的领导下，本届工会委员会围绕“维权、服务、建设”主线，"
    "认真履行工会主席职责，现将主要工作报告如下。</p>"
    "<h3>一、坚持政治引领</h3>"
    "<p>组织会员开展主题学习 12 次，覆盖职工 800 余人次；坚持“工事公办”，重大事项经会员代表大会讨论决定。</p>"
    "<h3>二、依法维护职工权益</h3>"
    "<ul><li>推动签订集体合同和女职工权益保护专项合同；</li>"
    "<li>协调解决加班费、高温津贴等诉求 23 件；</li>"
    "<li>职工劳动争议调解成功率 <strong>95%</strong>。</li></ul>"
    "<h3>三、用心服务职工</h3>"
    "<p>开展“送清凉”“金秋助学”活动，慰问困难职工 36 户，发放慰问金 8.6 万元；新建职工书屋和母婴室。</p>"
    "<h3>四、加强自身建设</h3>"
    "<p>规范工会经费收支，每季度公开账目，接受经审委员会审查。</p>"
    "<h3>存在的不足和下一步打算</h3>"
    "<ol><li>深入一线听取意见还不够：下一步建立每月接待日制度；</li>"
    "<li>职工技能培训覆盖面有待扩大：明年培训名额增加一倍，优先安排一线职工。</li></ol>"
)
#: The union whose demo reports carry a picture (a chart drawn here, so the demo needs no image files).
CHART_UNION = "江门市华侨电器有限公司工会"

SUGGESTIONS = [
    ("希望食堂能增加晚班职工的夜宵供应。", "已与行政部沟通，下月起夜班增加夜宵供应，费用由工会经费补贴一半。"),
    ("技能培训名额太少，很多一线职工报不上名。", "明年培训名额将增加一倍，并优先安排一线职工，报名办法会在公告栏公布。"),
    ("工会账目公开能否放到手机上看？", None),
    ("高温津贴发放时间希望固定下来。", None),
]


def load_demo(rng=None):
    """Create the demo federation, accounts and campaigns, and commit."""
    # Repeatable demo data, not secrets.
    rng = rng or random.Random(2026)  # nosec B311
    shared_hash = generate_password_hash(DEMO_PASSWORD)  # one hash for every demo account: seeding stays fast
    people = _People(rng, shared_hash)

    admin = create_account("admin", "系统管理员", password_hash=shared_hash, is_admin=True)
    city = create_union("江门市总工会", UnionKind.city, actor=admin)
    officer = create_account("officer", "市总工会 李志强", password_hash=shared_hash, actor=admin)
    grant_role(officer, city, Role.officer, actor=admin)

    grassroots = {}
    for county_name, region, towns, direct in TREE:
        county = create_union(county_name, UnionKind.county, city, actor=admin)
        if county_name == "新会区总工会":
            county_officer = create_account("county", "新会区总工会 陈嘉欣", password_hash=shared_hash, actor=admin)
            grant_role(county_officer, county, Role.officer, actor=admin)
        placements = [(name, county) for name in direct]
        for town_name, names in towns.items():
            town = create_union(town_name, UnionKind.town, county, actor=admin)
            placements += [(name, town) for name in names]
        for name, parent in placements:
            grassroots[name] = create_union(name, UnionKind.grassroots, parent, actor=admin,
                                            sector=SECTORS.get(name, UnionSector.other))
            people.fill_roster(grassroots[name], region, rng.randint(18, 32))

    chairs = {name: people.make_chair(union) for name, union in grassroots.items()}
    people.add_named("member", "黄秀英", grassroots["江门市华侨电器有限公司工会"], "440703")
    db.session.flush()

    chair_form, survey_form = _questionnaires(city, officer)
    demo = _Campaigns(rng, officer, chair_form, chairs)
    huaqiao = grassroots["江门市华侨电器有限公司工会"]
    last_year = demo.published(huaqiao, "2025年度工会主席述职评议", weak_item=4, backdate_days=40, with_plan=True)
    demo.follow_up(last_year, huaqiao)
    demo.opened(huaqiao, "2026年度工会主席述职评议", share_voted=0.55, skip={"member"})
    demo.reporting(grassroots["白沙街道社区卫生服务中心工会"], "2026年度工会主席述职评议")
    demo.draft(grassroots["江门市潮连五金制品有限公司工会"], "2026年度工会主席述职评议")
    demo.closed(grassroots["江门市江海电子科技有限公司工会"], "2026年度工会主席述职评议")
    demo.published(grassroots["大泽镇五金机械厂工会"], "2025年度工会主席述职评议", weak_item=2,
                   backdate_days=75, archive_after=True)
    demo.published(grassroots["江门市新会区柑之源陈皮有限公司工会"], "2026年度工会主席述职评议",
                   share_voted=0.5, backdate_days=5)
    demo.survey(grassroots["新会区新业态行业工会"].parent, survey_form)
    _organisation_campaign(demo, city)
    _chair_batch(officer, city, chair_form)
    # 柑之源 has grown to 100 members since its evaluation: a non-public enterprise union the coverage
    # pages must count (evaluated this year). Added last, so the rest of the demo stays as it was.
    ganzhiyuan = grassroots["江门市新会区柑之源陈皮有限公司工会"]
    people.fill_roster(ganzhiyuan, "440705", 100 - ganzhiyuan.members.filter_by(active=True).count())
    db.session.commit()


class _People:
    def __init__(self, rng, shared_hash):
        self.rng, self.shared_hash, self.phones = rng, shared_hash, set()

    def _name(self):
        surname = self.rng.choice(["司徒", "欧阳"]) if self.rng.random() < 0.05 else self.rng.choice(SURNAMES[:-4])
        return surname + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice([1, 2])))

    def _phone(self):
        while True:
            phone = self.rng.choice(["138", "139", "135", "137", "150", "186", "189"]) + f"{self.rng.randrange(10**8):08d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def _id_number(self, region):
        birth = f"{self.rng.randint(1965, 2003)}{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}"
        body = f"{region}{birth}{self.rng.randrange(1000):03d}"
        return body + id_check_char(body)

    def add(self, union, region, username=None, name=None):
        name, phone = name or self._name(), self._phone()
        account = create_account(username or phone, name, password_hash=self.shared_hash)
        return add_member(union, name, phone, self._id_number(region), account=account)

    def add_named(self, username, name, union, region):
        return self.add(union, region, username=username, name=name)

    def fill_roster(self, union, region, count):
        for _ in range(count):
            self.add(union, region)

    def make_chair(self, union):
        """Grant the chair role to the union's first member; the demo chair of 华侨电器 logs in as 'chair'."""
        member = union.members.order_by("id").first()
        if union.name == "江门市华侨电器有限公司工会":
            member.account.username = "chair"
        grant_role(member.account, union, Role.chair)
        return member.account


def _questionnaires(city, officer):
    chair_form = create_questionnaire(city, "工会主席述职评议测评表（德能勤绩廉）",
                                      "请根据工会主席一年来的履职情况如实评价。", actor=officer)
    for dimension, prompt in [
        ("德", "坚持正确政治方向，遵纪守法，作风民主"),
        ("能", "组织开展工会工作、团结带领职工的能力"),
        ("勤", "深入一线联系职工，倾听职工意见，工作勤勉"),
        ("绩", "维护职工合法权益、推进厂务公开的实际成效"),
        ("廉", "工会经费管理规范，廉洁自律"),
    ]:
        add_item(chair_form, ItemKind.satisfaction3, prompt, dimension, 1, actor=officer)
    add_item(chair_form, ItemKind.scale, "您对本届工会主席履职的总体评分", None, 2, actor=officer)
    survey = create_questionnaire(city, "职工预算需求调查问卷", "了解职工对工会经费使用方向的需求。", actor=officer)
    for prompt in ["文体活动", "技能培训", "困难职工帮扶", "职工疗休养"]:
        add_item(survey, ItemKind.scale, f"您对“{prompt}”的需求程度（5 分为最需要）", None, 1, actor=officer)
    add_item(survey, ItemKind.multiple, "明年最希望工会经费优先用于哪些方面？", actor=officer, max_choices=3,
             options=[(label, None, False) for label in ["职工食堂改善", "子女托管", "体检与健康讲座", "技能竞赛",
                                                           "法律援助", "夏季送清凉"]])
    add_item(survey, ItemKind.text, "其他意见和建议（选填，由工会工作人员阅读）", actor=officer, required=False)
    return chair_form, survey


class _Campaigns:
    def __init__(self, rng, officer, form, chairs):
        self.rng, self.officer, self.form, self.chairs = rng, officer, form, chairs

    def draft(self, union, title, form=None, kind=SubjectKind.chair, scope=ElectorateScope.union):
        now = utcnow()
        return create_campaign(self.officer, union, form or self.form, title, kind, "",
                               scope, now + timedelta(days=7), now + timedelta(days=21))

    def reporting(self, union, title):
        campaign = self.draft(union, title)
        start_reporting(campaign, self.officer)
        save_report(campaign, self.chairs[union.name], CHAIR_REPORT.replace("本届工会委员会", f"{union.name}委员会"))
        if union.name == CHART_UNION:
            add_images(campaign, self.chairs[union.name], [(_chart_picture(), "chart.jpg")],
                       "各季度协调解决的职工诉求件数（第一至第四季度）")
        return campaign

    def opened(self, union, title, share_voted=0.8, skip=(), weak_item=None):
        campaign = self.reporting(union, title)
        open_voting(campaign, self.officer)
        campaign.opens_at = campaign.opened_at
        voters = [m for m in union.members if campaign.in_electorate(m) and m.account.username not in skip]
        for member in voters[: round(len(voters) * share_voted)]:
            cast_ballot(campaign, member.account, self._choices(campaign, weak_item))
        return campaign

    def closed(self, union, title, **kwargs):
        campaign = self.opened(union, title, **{"share_voted": 0.85, **kwargs})
        close_voting(campaign, self.officer)
        campaign.closes_at = campaign.closed_at
        return campaign

    def published(self, union, title, weak_item=None, backdate_days=0, with_plan=False, archive_after=False,
                  share_voted=0.85):
        campaign = self.closed(union, title, weak_item=weak_item, share_voted=share_voted)
        voters = [m for m in union.members if campaign.in_electorate(m)]
        for (text, answer), member in zip(SUGGESTIONS, voters[1::5]):
            suggestion = add_suggestion(campaign, member.account, text, named=self.rng.random() < 0.3)
            if answer:
                respond(suggestion, self.chairs[union.name], answer)
        publish(campaign, self.officer)
        if backdate_days:
            _backdate(campaign, backdate_days)
        chair = self.chairs[union.name]
        for rectification in campaign.rectifications[:1] if with_plan else []:
            submit_plan(rectification, chair, "1. 每月第一个周五设立主席接待日，现场听取职工意见；\n"
                        "2. 建立职工意见台账，逐条答复。", "工会主席", local_today() + timedelta(days=60))
            approve_plan(rectification, self.officer)
            add_progress(rectification, chair, "已举办两次主席接待日，收集意见 17 条，已答复 12 条。")
        for rectification in campaign.rectifications if archive_after else []:
            submit_plan(rectification, chair, "建立职工诉求台账，每周跟进。", "工会副主席", local_today() + timedelta(days=30))
            approve_plan(rectification, self.officer)
            complete(rectification, chair, "诉求台账已建立，累计办结职工诉求 41 件，办结率 100%。")
            approve_outcome(rectification, self.officer)
            publish_outcome(rectification, chair)
        if archive_after:
            archive(campaign, self.officer)
        return campaign

    def follow_up(self, campaign, union):
        """Suggestions a year on: one answered for the demo member, one flagged and its plan returned, one hidden."""
        chair = self.chairs[union.name]
        member = next(m for m in union.members if m.account.username == "member")
        mine = add_suggestion(campaign, member.account, "希望工会组织一次职工健康体检。", named=True)
        respond(mine, chair, "已与公司协商，今年第三季度安排全员健康体检，费用由公司承担。")
        training = next(s for s in campaign.suggestions if s.body.startswith("技能培训"))
        item = flag(training, self.officer, "一线职工技能培训名额不足，报名难。")
        submit_plan(item, chair, "增加培训名额。", "工会主席", local_today() + timedelta(days=90))
        return_plan(item, self.officer, "措施过于笼统：请写明增加多少名额、哪些工种优先、何时公布报名办法。")
        voters = [m for m in union.members if campaign.in_electorate(m) and m.id != member.id]
        rude = add_suggestion(campaign, voters[-1].account, "主席就是个摆设，（此处为人身攻击内容）。")
        hide(rude, self.officer, "含人身攻击内容，不属于意见建议。")

    def survey(self, county, form):
        campaign = self.draft(county, "2026年职工预算需求调查", form, SubjectKind.none, ElectorateScope.subtree)
        open_voting(campaign, self.officer)
        campaign.opens_at = campaign.opened_at
        return campaign

    def _choices(self, campaign, weak_item):
        choices = {}
        for item in campaign.questionnaire.items:
            weak = item.position == weak_item
            weights = ([0.45, 0.2, 0.35] if weak else [0.78, 0.17, 0.05]) if len(item.options) == 3 \
                else ([0.35, 0.35, 0.2, 0.07, 0.03])
            choices[item.id] = self.rng.choices([o.id for o in item.options], weights=weights)[0]
        return choices


def _chart_picture():
    """A bar chart drawn with Pillow: four quarters of resolved requests, without text (no font needed)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1200, 700), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(100, 620), (1120, 620)], fill="#666666", width=3)
    draw.line([(100, 620), (100, 60)], fill="#666666", width=3)
    for step in range(1, 6):
        draw.line([(100, 620 - step * 100), (1120, 620 - step * 100)], fill="#e0e0e0", width=1)
    for position, value in enumerate((4, 7, 5, 7)):
        left = 180 + position * 240
        draw.rectangle([left, 620 - value * 70, left + 140, 618], fill="#b71c1c")
    out = io.BytesIO()
    image.save(out, "PNG")
    out.seek(0)
    return out


def _backdate(campaign, days):
    """Move a demo campaign's history into the past, keeping its dates consistent with each other."""
    shift = timedelta(days=days)
    for field in ("created_at", "opens_at", "closes_at", "opened_at", "closed_at", "published_at"):
        if getattr(campaign, field) is not None:
            setattr(campaign, field, getattr(campaign, field) - shift)
    campaign.result.computed_at -= shift
    campaign.report.updated_at -= shift
    for suggestion in campaign.suggestions:
        suggestion.created_at -= shift
        if suggestion.responded_at is not None:
            suggestion.responded_at -= shift
    due = plan_due_date(campaign.published_at, campaign.rectification_months)
    for rectification in campaign.rectifications:
        rectification.due_date = due
        for event in rectification.events:
            event.at -= shift
    db.session.flush()


def _organisation_campaign(demo, city):
    """A city-wide evaluation of a government department by every member, open, about a third voted."""
    form = create_questionnaire(city, "政府部门服务评议表", "请根据您和身边职工办事的亲身感受评价。", actor=demo.officer)
    for prompt in ["服务态度热情周到", "办事效率高、不推诿", "依法行政、公正执法", "政务信息公开透明",
                   "对职工诉求回应及时"]:
        add_item(form, ItemKind.satisfaction3, prompt, None, 1, actor=demo.officer)
    now = utcnow()
    campaign = create_campaign(demo.officer, city, form, "2026年度职工评议政府部门：江门市人力资源和社会保障局",
                               SubjectKind.organisation, "江门市人力资源和社会保障局", ElectorateScope.subtree,
                               now, now + timedelta(days=14))
    open_voting(campaign, demo.officer)
    voters = db.session.scalars(db.select(Member).join(ElectorateEntry, ElectorateEntry.member_id == Member.id)
                                .where(ElectorateEntry.campaign_id == campaign.id).order_by(Member.id)).all()
    for member in voters:
        # Turnout differs from union to union, as it does in life; the demo member has not voted yet.
        if member.account.username != "member" and demo.rng.random() < 0.2 + 0.5 * (member.union_id % 3) / 2:
            cast_ballot(campaign, member.account, demo._choices(campaign, None))
    return campaign


def _chair_batch(officer, city, form):
    """This year's chair evaluations of the city's public institutions with 10+ members, as one batch."""
    from evalapp.campaigns.batches import BatchSpec, create_batch, select_unions
    from evalapp.campaigns.models import BatchRule

    now = utcnow()
    spec = BatchSpec(title="2026年度机关事业单位工会主席述职评议", template=form, rule=BatchRule.sector,
                     params={"sector": UnionSector.public_institution.value, "min_members": 10},
                     title_pattern="2026年度{工会}主席述职评议", opens_at=now + timedelta(days=10),
                     closes_at=now + timedelta(days=24))
    token = secrets.token_hex(16)
    batch, _created = create_batch(officer, city, spec, token, select_unions(officer, city, spec).digest)
    return batch
