from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from evalapp.core.downloads import content_disposition
from evalapp.core.timeutil import local_today
from evalapp.core.web import get_or_404, page_number, require
from evalapp.coverage.forms import parse_union_id, parse_year
from evalapp.coverage.operations import PAGE_SIZE, coverage, coverage_list, rules, yearly_figures
from evalapp.reviews.pdf import render_pdf
from evalapp.unions.models import Union, UnionKind, UnionSector
from evalapp.unions.operations import visible_roots

bp = Blueprint("coverage", __name__)


def _scope():
    """The union (?union=, default the account's top managed union) and the year (?year=, default this year)."""
    require(current_user.is_staff)
    union_id = parse_union_id(request.args.get("union"))
    if union_id is None:
        roots = visible_roots(current_user)
        require(roots)
        union = roots[0]
    else:
        union = get_or_404(Union, union_id)
        require(current_user.manages(union))
    this_year = local_today().year
    year = parse_year(request.args.get("year"), this_year)
    return union, year, range(this_year, 2019, -1)


def _rule_text():
    """The configured rule in words, e.g. "全部镇（街）总工会，以及在册会员 100 人以上的非公有制企业基层工会"."""
    rule = rules()
    parts = [f"全部{UnionKind(k).label}" for k in rule["kinds"] if k != UnionKind.grassroots]
    if rule["sectors"]:
        sectors = "、".join(UnionSector(s).label for s in rule["sectors"])
        parts.append(f"在册会员 {rule['min_members']} 人以上的{sectors}基层工会")
    return "，以及".join(parts) or "（未设置）"


@bp.route("/coverage")
def show():
    union, year, years = _scope()
    evaluated = request.args.get("show") == "covered"
    page = page_number(request.args.get("page", 1, type=int))
    rows, total = coverage_list(union, year, evaluated, page)
    return render_template("coverage/show.html", union=union, year=year, years=years, summary=coverage(union, year),
                           rows=rows, total=total, evaluated=evaluated, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), rule=_rule_text())


def _yearly_context():
    union, year, years = _scope()
    total, children = yearly_figures(union, year)
    return {"union": union, "year": year, "years": years, "total": total, "children": children,
            "rule": _rule_text(), "today": local_today()}


@bp.route("/coverage/yearly")
def yearly():
    return render_template("coverage/yearly.html", **_yearly_context())


@bp.route("/coverage/yearly.pdf")
def yearly_pdf():
    context = _yearly_context()
    pdf = render_pdf("coverage/yearly_pdf.html", **context)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": content_disposition(f"yearly-{context['union'].id}-{context['year']}.pdf")})
