from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from evalapp.core.db import db
from evalapp.core.forms import ActionForm
from evalapp.core.timeutil import utcnow
from evalapp.core.web import form_status, get_or_404, page_number, perform, require
from evalapp.notifications import admin
from evalapp.notifications.delivery import quiet_hours_end
from evalapp.notifications.forms import ChannelsForm
from evalapp.notifications.mail import mail_configured
from evalapp.notifications.models import Notification
from evalapp.notifications.operations import (
    inbox_query,
    mark_all_read,
    mark_read,
    roster_phone_of,
    set_channels,
    settings_of,
    unread_count,
)
from evalapp.notifications.sms import gateway_configured

bp = Blueprint("notifications", __name__)
PAGE_SIZE = 20


@bp.app_context_processor
def _unread_badge():
    # A callable, so that pages without a logged-in user (login, errors) run no query.
    def inbox_unread():
        return unread_count(current_user) if current_user.is_authenticated else 0

    return {"inbox_unread": inbox_unread}


@bp.route("/inbox")
def inbox():
    page = page_number(request.args.get("page", 1, type=int))
    notices = db.paginate(inbox_query(current_user), page=page, per_page=PAGE_SIZE, error_out=False)
    return render_template("notifications/inbox.html", notices=notices, action_form=ActionForm(),
                           is_chair=bool(current_user.chaired_unions), is_staff=current_user.is_staff)


@bp.route("/inbox/<int:notification_id>")
def open_notice(notification_id):
    """Mark the notice read and go where it points (a same-site path, never an outside address)."""
    notification = get_or_404(Notification, notification_id)
    require(notification.account_id == current_user.id)
    perform(mark_read, notification, current_user)
    link = notification.link or ""
    if not link.startswith("/") or link.startswith("//") or "\\" in link:
        return redirect(url_for(".inbox"))
    return redirect(link)


@bp.route("/inbox/read-all", methods=["POST"])
def read_all():
    if not ActionForm().validate_on_submit():
        abort(400)
    perform(mark_all_read, current_user, success="已全部标为已读。")
    return redirect(url_for(".inbox"))


@bp.route("/account/notifications", methods=["GET", "POST"])
def settings():
    if request.method == "GET":
        current = settings_of(current_user)
        form = ChannelsForm(data={"email": current.email if current else "", "sms": current.sms if current else True,
                                  "phone": (current.phone if current else "") or ""})
    else:
        form = ChannelsForm()
    outcome = None
    if form.validate_on_submit():
        outcome = perform(set_channels, current_user, form.email.data, form.sms.data, form.phone.data,
                          success="通知设置已保存。")
        if outcome.ok:
            return redirect(url_for(".settings"))
    return render_template("notifications/settings.html", form=form, mail_on=mail_configured(),
                           sms_on=gateway_configured(), roster_phone=roster_phone_of(current_user),
                           quiet_hours=(current_app.config.get("SMS_QUIET_HOURS") or "").strip()), \
        form_status(form, outcome)


@bp.route("/admin/notifications")
def deliveries():
    require(current_user.is_admin)
    now = utcnow()
    return render_template("notifications/deliveries.html", overview=admin.overview(now),
                           quiet_until=quiet_hours_end(now), retry_form=ActionForm(),
                           mail_on=mail_configured(), sms_on=gateway_configured())


@bp.route("/admin/notifications/retry", methods=["POST"])
def retry():
    require(current_user.is_admin)
    if not ActionForm().validate_on_submit():
        abort(400)
    perform(admin.retry_failed_deliveries, current_user, success="已将发送失败的消息重新排队。")
    return redirect(url_for(".deliveries"))
