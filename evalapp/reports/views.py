from urllib.parse import quote

from flask import Blueprint, Response
from flask_login import current_user

from evalapp.core.web import require
from evalapp.reports.pdf import result_pdf
from evalapp.results.views import published_campaign

bp = Blueprint("reports", __name__)


@bp.route("/campaigns/<int:campaign_id>/result.pdf")
def result(campaign_id):
    campaign = published_campaign(campaign_id)
    require(campaign.can_manage(current_user) or campaign.is_chaired_by(current_user))
    filename = quote(f"评议结果-{campaign.title}.pdf")
    pdf = result_pdf(campaign, for_officers=campaign.can_manage(current_user))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=result-{campaign.id}.pdf; filename*=UTF-8''{filename}"})
