"""The in-app inbox, e-mail copies over real SMTP (a local aiosmtpd server), and deadline reminders."""
import email
import json
import socket
from datetime import datetime, timedelta
from email import policy

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from evalapp.core import timeutil
from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.core.timeutil import local_today, utcnow
from evalapp.notifications.delivery import deliver_due
from evalapp.notifications.models import Channel, Delivery, DeliveryState, Notification, NotificationSettings
from evalapp.notifications.operations import notify
from evalapp.rectification import operations as rect_ops
from evalapp.rectification.models import Rectification
from evalapp.rectification.reminders import run_reminders
from evalapp.suggestions.models import Suggestion
from tests.factories import drive_rectification, make_campaign, published_rectification

ANSWER = "下月起夜班增加夜宵。"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """What a real SMTP server on 127.0.0.1 received, parsed."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self):
        return [(e.rcpt_tos, email.message_from_bytes(e.content, policy=policy.default)) for e in self.envelopes]


@pytest.fixture
def mail_config(app, monkeypatch):
    """Point the app at a local port; the server is started by `smtp` (or not, to test an outage)."""
    port = free_port()
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_FROM": "noreply@union.example.cn",
                       "MAIL_USE_TLS": False, "MAIL_USERNAME": None}.items():
        monkeypatch.setitem(app.config, key, value)
    return port


def start_smtp(port):
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return mailbox, controller


@pytest.fixture
def smtp(mail_config):
    mailbox, controller = start_smtp(mail_config)
    yield mailbox
    controller.stop()


def notices(account, broadcasts=False):
    """The account's notices; without `broadcasts`, only those written to it alone (not "voting opened")."""
    query = sa.select(Notification).where(Notification.account_id == account.id)
    if not broadcasts:
        query = query.where(Notification.broadcast_id.is_(None))
    return list(db.session.scalars(query.order_by(Notification.id)))


def set_email(account, address):
    db.session.add(NotificationSettings(account_id=account.id, email=address))
    db.session.commit()


@pytest.fixture
def suggestion(world, login):
    campaign = make_campaign(world, "open")
    assert login("m1").post(f"/campaigns/{campaign.id}/suggestions", data={"body": "希望增加夜宵。"}).status_code == 302
    return db.session.scalar(sa.select(Suggestion))


def answer(login, suggestion, text=ANSWER):
    return login("chair").post(f"/suggestions/{suggestion.id}/response", data={"response": text})


# --- The inbox ---------------------------------------------------------------------------------------

def test_the_author_finds_the_answer_in_the_inbox(world, login, suggestion):
    author = login("m1")
    assert 'href="/inbox">消息 <span class="badge open">1</span>' in author.get("/").get_data(as_text=True)
    assert [n.kind for n in notices(world.members[0], broadcasts=True)] == ["voting.opened"]
    assert author.post("/inbox/read-all").status_code == 302
    assert "消息 <span" not in author.get("/").get_data(as_text=True)
    assert answer(login, suggestion).status_code == 302

    home = author.get("/").get_data(as_text=True)
    assert 'href="/inbox">消息 <span class="badge open">1</span>' in home
    [notice] = notices(world.members[0])
    inbox = author.get("/inbox").get_data(as_text=True)
    assert "工会主席回应了您" in inbox and "未读" in inbox

    opened = author.get(f"/inbox/{notice.id}")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/campaigns/{suggestion.campaign_id}/suggestions#s{suggestion.id}")
    assert ANSWER in author.get(opened.headers["Location"]).get_data(as_text=True)
    assert notices(world.members[0])[0].read_at is not None
    assert 'href="/inbox">消息 <span' not in author.get("/").get_data(as_text=True)


def test_nobody_else_opens_or_sees_a_notice(world, login, suggestion):
    answer(login, suggestion)
    [notice] = notices(world.members[0])
    for username in ("m2", "chair", "county_officer", "admin"):
        client = login(username)
        assert client.get(f"/inbox/{notice.id}").status_code == 404
        assert "工会主席回应了您" not in client.get("/inbox").get_data(as_text=True)
    assert notices(world.members[0])[0].read_at is None


def test_changing_an_answer_notifies_again_and_the_same_answer_does_not(world, login, suggestion):
    answer(login, suggestion)
    answer(login, suggestion)                   # the same text again: nothing new to tell
    answer(login, suggestion, "改为下周起供应夜宵。")
    texts = [n.text for n in notices(world.members[0])]
    assert len(texts) == 2
    assert texts[0].startswith("工会主席回应了您在“") and texts[1].startswith("工会主席更新了对您在“")


def test_mark_all_read(world, login, suggestion):
    answer(login, suggestion)
    answer(login, suggestion, "补充回应。")
    author = login("m1")
    assert author.post("/inbox/read-all").status_code == 302
    assert all(n.read_at is not None for n in notices(world.members[0]))


def test_the_inbox_is_paginated_newest_first(world, login):
    for i in range(25):
        notify(world.members[0], "test", f"第{i:02d}条消息")
    db.session.commit()
    first = login("m1").get("/inbox").get_data(as_text=True)
    assert "第24条消息" in first and "第05条消息" in first and "第04条消息" not in first
    assert first.index("第24条消息") < first.index("第23条消息")
    assert "第04条消息" in login("m1").get("/inbox?page=2").get_data(as_text=True)


def test_a_notice_never_redirects_off_site(world, login):
    notice = notify(world.members[0], "test", "外部链接", link="//evil.example.com/x")
    db.session.commit()
    response = login("m1").get(f"/inbox/{notice.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")


def test_a_step_the_operation_refuses_notifies_nobody(world, login, suggestion):
    # A valid answer, which the form lets through; the operation refuses it (the suggestion is hidden).
    assert login("county_officer").post(f"/suggestions/{suggestion.id}/hide", data={"reason": "辱骂"}).status_code == 302
    response = login("chair").post(f"/suggestions/{suggestion.id}/response", data={"response": ANSWER},
                                   follow_redirects=True)
    assert "该意见建议已被上级工会隐藏，不能回应。" in response.get_data(as_text=True)
    assert db.session.get(Suggestion, suggestion.id).response is None
    assert not any("回应了您" in n.text for n in notices(world.members[0]))


@pytest.mark.service
def test_notices_written_by_a_step_go_with_it_when_it_is_refused_later(app, world, suggestion, smtp):
    from evalapp.core.errors import Refused
    from evalapp.core.web import perform
    from evalapp.suggestions.operations import respond

    set_email(world.members[0], "m1@example.cn")

    def answer_then_refuse():
        respond(db.session.get(Suggestion, suggestion.id), world.chair, ANSWER)   # writes the notice, queues the mail
        assert len(notices(world.members[0])) == 1
        raise Refused("后面的检查没有通过。")

    with app.test_request_context():
        outcome = perform(answer_then_refuse)
    assert not outcome.ok
    notify(world.chair, "test", "此后的另一步")                  # a later commit must not send the forgotten mail
    db.session.commit()
    assert notices(world.members[0]) == [] and smtp.messages == []
    assert db.session.get(Suggestion, suggestion.id).response is None


# --- The e-mail address -----------------------------------------------------------------------------

def test_a_member_sets_and_clears_an_address_which_the_audit_log_does_not_hold(world, login):
    client = login("m1")
    assert client.post("/account/notifications", data={"email": "huang@example.cn"}).status_code == 302
    assert "huang@example.cn" in client.get("/account/notifications").get_data(as_text=True)
    assert client.post("/account/notifications", data={"email": ""}).status_code == 302
    settings = db.session.scalar(sa.select(NotificationSettings))
    assert settings.email is None
    entries = list(db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "notification_settings.changed").order_by(AuditEntry.seq)))
    assert len(entries) == 2 and all("example.cn" not in e.details for e in entries)


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "a b@example.cn", "x@" + "y" * 250 + ".cn"])
def test_a_malformed_address_is_refused(world, login, address):
    response = login("m1").post("/account/notifications", data={"email": address})
    assert response.status_code == 400
    assert "邮箱地址" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NotificationSettings)) == 0


# --- E-mail over SMTP --------------------------------------------------------------------------------

PUBLIC = "https://pj.union.example.cn/"


@pytest.mark.service
def test_the_answer_is_mailed_when_smtp_is_configured_and_the_member_has_an_address(
        app, world, login, suggestion, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC)
    set_email(world.members[0], "m1@example.cn")
    assert answer(login, suggestion).status_code == 302

    [(recipients, message)] = smtp.messages
    assert recipients == ["m1@example.cn"]
    assert message["Subject"].startswith("【工会评议】工会主席回应了您")
    assert "noreply@union.example.cn" in message["From"]
    body = message.get_content()
    assert f"https://pj.union.example.cn/campaigns/{suggestion.campaign_id}/suggestions#s{suggestion.id}" in body
    [notice] = notices(world.members[0])
    [copy] = notice.deliveries
    assert (copy.channel, copy.state, copy.address) == (Channel.email, DeliveryState.sent, "m1@example.cn")
    assert copy.sent_at is not None


def chair_answers_through(app, suggestion, host):
    """The chair logs in and answers with a forged Host header on every request."""
    from tests.conftest import TEST_PASSWORD

    client = app.test_client()
    headers = {"Host": host}
    assert client.post("/login", data={"username": "chair", "password": TEST_PASSWORD}, headers=headers).status_code == 302
    response = client.post(f"/suggestions/{suggestion.id}/response", data={"response": ANSWER}, headers=headers)
    assert response.status_code == 302
    assert db.session.get(Suggestion, suggestion.id).response == ANSWER


@pytest.mark.service
def test_links_in_mail_come_from_the_public_address_never_from_the_request(app, world, suggestion, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC)
    set_email(world.members[0], "m1@example.cn")
    chair_answers_through(app, suggestion, "evil.example.com")
    [(_, message)] = smtp.messages
    body = message.get_content()
    assert "evil.example.com" not in body
    assert f"查看详情：https://pj.union.example.cn/campaigns/{suggestion.campaign_id}/suggestions#s{suggestion.id}" in body


@pytest.mark.service
def test_without_a_public_address_mail_has_no_link_and_asks_to_log_in(app, world, suggestion, smtp):
    set_email(world.members[0], "m1@example.cn")
    chair_answers_through(app, suggestion, "evil.example.com")
    [(_, message)] = smtp.messages
    body = message.get_content()
    assert "evil.example.com" not in body and "http" not in body and "查看详情：" not in body
    assert "请登录工会述职评议平台" in body


@pytest.mark.service
def test_a_line_break_in_a_hide_reason_neither_breaks_the_mail_nor_blocks_the_queue(app, world, login, suggestion, smtp):
    set_email(world.members[0], "m1@example.cn")
    response = login("county_officer").post(f"/suggestions/{suggestion.id}/hide", data={"reason": "侮辱\r\n内容"})
    assert response.status_code == 302
    assert db.session.get(Suggestion, suggestion.id).hidden_reason == "侮辱 内容"
    [(_, message)] = smtp.messages
    assert message["Subject"].endswith("已被上级工会隐藏，理由：侮辱 内容")
    result = app.test_cli_runner().invoke(args=["rectification", "remind"])
    assert result.exit_code == 0 and "copies sent 0, failed attempts 0" in result.output


def pending_notice(account, text, address):
    """A notice with an e-mail copy stored as it might have been before (or by other code): sent as stored."""
    notice = Notification(account_id=account.id, kind="test", text=text)
    db.session.add(notice)
    db.session.flush()
    copy = Delivery(notification_id=notice.id, channel=Channel.email, address=address, attempts=0,
                    next_attempt_at=utcnow())
    db.session.add(copy)
    db.session.commit()
    return copy.id


def mail_states(*ids):
    db.session.expire_all()
    return [(d.state, d.attempts) for d in (db.session.get(Delivery, i) for i in ids)]


def later(hours):
    return utcnow() + timedelta(hours=hours)


@pytest.mark.service
def test_one_message_that_cannot_be_sent_never_blocks_the_others(app, world, smtp):
    with_break = pending_notice(world.members[0], "您的意见建议已被隐藏，理由：侮辱\r\n内容", "m1@example.cn")
    bad_address = pending_notice(world.members[1], "第二条", "m2@example.cn\r\nBcc: x@example.cn")
    fine = pending_notice(world.members[2], "第三条", "m3@example.cn")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rectification", "remind"])
    assert result.exit_code == 0 and "copies sent 2, failed attempts 1" in result.output
    assert sorted(r for rcpts, _ in smtp.messages for r in rcpts) == ["m1@example.cn", "m3@example.cn"]
    assert [m["Subject"] for _, m in smtp.messages][0] == "【工会评议】您的意见建议已被隐藏，理由：侮辱 内容"
    pending, sent = DeliveryState.pending, DeliveryState.sent
    assert mail_states(with_break, bad_address, fine) == [(sent, 1), (pending, 1), (sent, 1)]
    for hours in (1, 2, 4, 8):   # each retry after its back-off
        assert deliver_due(now=later(hours)) == (0, 1)
    assert mail_states(bad_address) == [(DeliveryState.failed, 5)]
    assert deliver_due(now=later(24)) == (0, 0)
    assert len(smtp.messages) == 2


@pytest.mark.service
def test_no_address_no_mail(world, login, suggestion, smtp):
    answer(login, suggestion)
    assert smtp.messages == []
    assert notices(world.members[0])[0].deliveries == []


def test_without_smtp_configured_the_inbox_still_works(world, login, suggestion):
    set_email(world.members[0], "m1@example.cn")
    answer(login, suggestion)
    [notice] = notices(world.members[0])
    assert notice.deliveries == []


@pytest.mark.service
def test_an_unreachable_mail_server_never_breaks_the_answer_and_the_mail_follows_later(
        app, world, login, suggestion, mail_config):
    set_email(world.members[0], "m1@example.cn")
    assert answer(login, suggestion).status_code == 302           # nothing listens on the port yet
    assert db.session.scalar(sa.select(Suggestion.response)) == ANSWER
    [notice] = notices(world.members[0])
    [copy] = notice.deliveries
    assert (copy.state, copy.attempts) == (DeliveryState.pending, 1)
    assert "邮件服务器" in copy.error and copy.next_attempt_at > utcnow()

    mailbox, controller = start_smtp(mail_config)
    try:
        assert deliver_due() == (0, 0)                                 # not before its back-off
        assert deliver_due(now=later(1)) == (1, 0)
        assert len(mailbox.messages) == 1
        assert deliver_due(now=later(48)) == (0, 0)                    # sent once, never again
        assert len(mailbox.messages) == 1
    finally:
        controller.stop()
    assert mail_states(copy.id) == [(DeliveryState.sent, 2)]


def test_mail_gives_up_after_five_attempts(world, login, suggestion, mail_config):
    set_email(world.members[0], "m1@example.cn")
    answer(login, suggestion)
    for hours in (1, 2, 4, 8):
        deliver_due(now=later(hours))
    [notice] = notices(world.members[0])
    assert mail_states(notice.deliveries[0].id) == [(DeliveryState.failed, 5)]


# --- Rectification notices ---------------------------------------------------------------------------

def test_each_rectification_step_tells_the_other_side(world, login):
    rectification = published_rectification(world)
    assert any("新的整改事项" in n.text for n in notices(world.chair))
    drive_rectification(world, rectification, "plan_submitted")
    assert any("提交了整改方案" in n.text for n in notices(world.county_officer))
    assert not any("提交了整改方案" in n.text for n in notices(world.city_officer))   # the nearest officers only
    rect_ops.return_plan(rectification, world.county_officer, "请补充完成时间。")
    db.session.commit()
    assert any("整改方案被上级工会退回" in n.text and "请补充完成时间" in n.text for n in notices(world.chair))
    assert all(n.link == f"/rectifications/{rectification.id}" for n in notices(world.chair)
               if n.kind.startswith("rectification"))


def test_publishing_the_outcome_tells_every_member_of_the_electorate(world, login):
    rectification = published_rectification(world)
    drive_rectification(world, rectification, "published")
    for member in world.members:
        assert [n.kind for n in notices(member, broadcasts=True)] == [
            "voting.opened", "result.published", "rectification.published"]
    assert notices(world.outsider, broadcasts=True) == []


# --- Reminders --------------------------------------------------------------------------------------

@pytest.fixture
def rectification(world):
    return published_rectification(world)


def due_in(rectification, days, today):
    stored = db.session.get(Rectification, rectification.id)
    stored.due_date = today + timedelta(days=days)
    db.session.commit()
    return stored


def reminder_texts(account):
    return [n.text for n in notices(account) if n.kind == "rectification.reminder"]


def test_reminders_a_week_before_on_the_day_and_once_overdue_never_twice(world, rectification):
    today = local_today()
    due = due_in(rectification, 8, today).due_date
    assert run_reminders(today) == {"week": 0, "day": 0, "overdue": 0}

    timeline = [(due - timedelta(days=7), {"week": 1, "day": 0, "overdue": 0}),
                (due - timedelta(days=7), {"week": 0, "day": 0, "overdue": 0}),   # the same day again
                (due - timedelta(days=3), {"week": 0, "day": 0, "overdue": 0}),
                (due - timedelta(days=1), {"week": 0, "day": 0, "overdue": 0}),
                (due, {"week": 0, "day": 1, "overdue": 0}),
                (due, {"week": 0, "day": 0, "overdue": 0}),
                (due + timedelta(days=1), {"week": 0, "day": 0, "overdue": 1}),
                (due + timedelta(days=5), {"week": 0, "day": 0, "overdue": 0})]
    for day, expected in timeline:
        assert run_reminders(day) == expected, day

    texts = reminder_texts(world.chair)
    assert len(texts) == 3
    assert f"整改方案提交期限为 {due}，还有 7 天到期" in texts[0]
    assert "今天到期" in texts[1]
    assert "已逾期" in texts[2] and "已超过 1 天" in texts[2]
    assert [t for t in reminder_texts(world.county_officer)] == [
        f"甲公司工会的整改事项{rect_ops.headline(rectification)}已逾期：整改方案提交期限为 {due}。"]
    assert reminder_texts(world.members[0]) == []
    reminded = db.session.scalars(sa.select(AuditEntry.details).where(AuditEntry.action == "rectification.reminded"))
    assert [json.loads(d)["reminder"] for d in reminded] == ["week", "day", "overdue"]


def test_a_first_run_inside_the_last_day_sends_only_the_last_reminder(world, rectification):
    today = local_today()
    due_in(rectification, 0, today)
    assert run_reminders(today) == {"week": 0, "day": 1, "overdue": 0}
    assert "今天到期" in reminder_texts(world.chair)[0]


def test_no_reminders_while_the_superior_union_reviews_or_after_completion(world, rectification):
    today = local_today()
    due_in(rectification, 1, today)
    drive_rectification(world, rectification, "plan_submitted")
    assert run_reminders(today) == {"week": 0, "day": 0, "overdue": 0}


def test_reminders_follow_the_plans_target_date_during_the_work(world, rectification):
    today = local_today()
    drive_rectification(world, rectification, "in_progress", target_date=today + timedelta(days=7))
    assert run_reminders(today) == {"week": 1, "day": 0, "overdue": 0}
    assert "整改完成时限为" in reminder_texts(world.chair)[0]


def test_a_moved_deadline_gets_reminders_of_its_own(world, rectification):
    today = local_today()
    due_in(rectification, 7, today)
    assert run_reminders(today)["week"] == 1
    rect_ops.move_deadline(db.session.get(Rectification, rectification.id), world.county_officer,
                           today + timedelta(days=5), "延期")
    db.session.commit()
    assert run_reminders(today)["week"] == 1
    assert len(reminder_texts(world.chair)) == 2


def test_the_reminder_day_turns_at_midnight_in_shanghai_not_in_utc(world, rectification, monkeypatch):
    due = due_in(rectification, 30, local_today()).due_date
    eve = due - timedelta(days=8)          # 8 days before: no reminder yet
    # 15:59 UTC is 23:59 in Shanghai, still 8 days before; 16:00 UTC is already the next day there.
    monkeypatch.setattr(timeutil, "utcnow", lambda: datetime(eve.year, eve.month, eve.day, 15, 59))
    assert run_reminders() == {"week": 0, "day": 0, "overdue": 0}
    monkeypatch.setattr(timeutil, "utcnow", lambda: datetime(eve.year, eve.month, eve.day, 16, 0))
    assert run_reminders() == {"week": 1, "day": 0, "overdue": 0}


def test_the_remind_command_is_idempotent(app, world, rectification):
    today = local_today()
    due_in(rectification, 0, today)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["rectification", "remind", "--today", today.isoformat()])
    assert first.exit_code == 0 and "1 on the day" in first.output
    second = runner.invoke(args=["rectification", "remind", "--today", today.isoformat()])
    assert second.exit_code == 0 and "0 on the day" in second.output
    assert len(reminder_texts(world.chair)) == 1
    bad = runner.invoke(args=["rectification", "remind", "--today", "2026-02-30"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_the_database_refuses_a_second_reminder_with_the_same_key(world):
    assert notify(world.chair, "rectification.reminder", "提醒", key="remind:test") is not None
    assert notify(world.chair, "rectification.reminder", "提醒", key="remind:test") is None
    db.session.commit()
    db.session.add(Notification(account_id=world.chair.id, kind="x", text="y", dedupe_key="remind:test"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.dedupe_key == "remind:test")) == 1


@pytest.mark.service
def test_reminders_are_mailed_with_the_public_address(app, world, rectification, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://pj.union.example.cn/")
    set_email(world.chair, "chair@example.cn")
    today = local_today()
    due_in(rectification, 7, today)
    result = app.test_cli_runner().invoke(args=["rectification", "remind", "--today", today.isoformat()])
    assert result.exit_code == 0 and "copies sent 1" in result.output
    [(recipients, message)] = smtp.messages
    assert recipients == ["chair@example.cn"]
    assert f"https://pj.union.example.cn/rectifications/{rectification.id}" in message.get_content()
