"""Everyone told when the loop waits for them: who gets which notice, SMS through a real HTTP gateway
(signed, retried, never twice, quiet at night), members' choice of channels, and what admins see."""
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from evalapp.campaigns import operations as campaign_ops
from evalapp.campaigns.models import Campaign
from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from evalapp.notifications import delivery
from evalapp.notifications.broadcasts import announce, fan_out
from evalapp.notifications.delivery import deliver_due
from evalapp.notifications.models import Broadcast, Channel, Delivery, DeliveryState, Notification, NotificationSettings
from evalapp.notifications.operations import notify
from evalapp.notifications.sms import signature
from evalapp.unions.models import Member
from evalapp.voting.reminders import remind_closing
from tests.builders import next_local_hour
from tests.factories import close_and_publish, make_campaign, vote
from tests.sms_gateway import SECRET, Gateway

PUBLIC = "https://pj.union.example.cn"


@pytest.fixture
def gateway(app, monkeypatch):
    """A real HTTP gateway on a local port, configured as the federation's SMS gateway."""
    server = Gateway().start()
    for key, value in {"SMS_GATEWAY_URL": server.url, "SMS_GATEWAY_SECRET": SECRET, "PUBLIC_URL": PUBLIC}.items():
        monkeypatch.setitem(app.config, key, value)
    yield server
    server.stop()


def phone_of(index):
    return f"1380013800{index}"


@pytest.fixture
def phones(world):
    """Roster numbers for the chair (0) and members 1–5."""
    for index, account in enumerate([world.chair, *world.members]):
        member = db.session.scalar(sa.select(Member).where(Member.account_id == account.id))
        member.phone = phone_of(index)
    db.session.commit()
    return world


def daytime(hour=10):
    """The next `hour` o'clock in Shanghai, as stored (naive UTC): the clock the senders see."""
    return next_local_hour(hour)


def kinds(account):
    return [n.kind for n in db.session.scalars(sa.select(Notification).where(Notification.account_id == account.id)
                                               .order_by(Notification.id))]


# --- Who is told -------------------------------------------------------------------------------------

def test_the_chair_is_asked_for_the_report_when_the_campaign_is_announced(world, login):
    campaign = make_campaign(world, "draft")
    assert kinds(world.chair) == []
    campaign_ops.start_reporting(campaign, world.county_officer)
    db.session.commit()
    [notice] = db.session.scalars(sa.select(Notification).where(Notification.account_id == world.chair.id))
    assert notice.kind == "report.requested" and "请为“2026年度述职评议”撰写并提交述职报告" in notice.text
    assert notice.link == f"/campaigns/{campaign.id}/report"
    assert login("chair").get(notice.link).status_code == 200
    assert all(kinds(member) == [] for member in world.members)


def test_every_elector_is_told_when_voting_opens_and_when_the_result_is_out(world):
    campaign = make_campaign(world, "open")
    for member in world.members:
        assert kinds(member) == ["voting.opened"]
    assert "voting.opened" not in kinds(world.chair)              # the chair is not an elector of their own
    assert kinds(world.outsider) == []
    close_and_publish(world, campaign)
    for member in world.members:
        assert kinds(member) == ["voting.opened", "result.published"]
    [broadcast, published] = db.session.scalars(sa.select(Broadcast).order_by(Broadcast.id))
    assert (broadcast.recipients, published.recipients) == (5, 5)
    assert published.link == f"/campaigns/{campaign.id}"


def test_an_inactive_account_is_not_told(world):
    world.members[0].active = False
    db.session.commit()
    make_campaign(world, "open")
    assert kinds(world.members[0]) == [] and kinds(world.members[1]) == ["voting.opened"]


def test_a_broadcast_is_written_out_once_however_often_it_is_run(world):
    campaign = make_campaign(world, "open")
    broadcast = db.session.scalar(sa.select(Broadcast))
    assert fan_out(broadcast.id) is None
    assert announce("voting.opened", "campaign.electors", campaign.id, "再说一次", key=broadcast.key) is None
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.kind == "voting.opened")) == 5


def test_a_broadcast_whose_job_never_ran_is_written_by_the_clock(app, world, monkeypatch):
    campaign = make_campaign(world, "reporting")
    from evalapp.notifications import broadcasts

    monkeypatch.setattr(broadcasts, "run_in_background", lambda *args: None)   # the job is lost
    campaign_ops.open_voting(campaign, world.county_officer)
    db.session.commit()
    assert kinds(world.members[0]) == []
    result = app.test_cli_runner().invoke(args=["notifications", "deliver"])
    assert result.exit_code == 0, result.output
    assert kinds(world.members[0]) == ["voting.opened"]


def test_the_chair_hears_of_new_suggestions_once_a_day_not_once_each(world, login):
    campaign = make_campaign(world, "open")
    for index in range(3):
        response = login(f"m{index + 1}").post(f"/campaigns/{campaign.id}/suggestions", data={"body": f"建议{index}"})
        assert response.status_code == 302
    [notice] = [n for n in db.session.scalars(sa.select(Notification).where(Notification.account_id == world.chair.id))
                if n.kind == "suggestion.received"]
    assert "收到了新的意见建议" in notice.text
    page = login("chair").get(notice.link).get_data(as_text=True)
    assert "建议0" in page and "建议2" in page


def test_a_day_before_closing_only_those_who_have_not_voted_are_reminded(world, login):
    campaign = make_campaign(world, "open")
    vote(campaign, world.members[0], [0, 0, 0])
    db.session.commit()
    campaign.opened_at = utcnow() - timedelta(days=3)
    campaign.closes_at = utcnow() + timedelta(hours=30)
    db.session.commit()
    assert remind_closing() == 0                                      # more than a day left
    assert remind_closing(now=utcnow() + timedelta(hours=7)) == 1
    assert remind_closing(now=utcnow() + timedelta(hours=8)) == 0     # never twice
    assert "voting.closing" not in kinds(world.members[0])
    for member in world.members[1:]:
        assert kinds(member) == ["voting.opened", "voting.closing"]
    # The officers learn how many, never who.
    page = login("county_officer").get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "系统已提醒 4 位尚未投票的会员" in page
    assert "系统已提醒" not in login("m2").get(f"/campaigns/{campaign.id}").get_data(as_text=True)


def test_a_short_voting_window_gets_no_reminder_on_top_of_the_opening_notice(world):
    campaign = make_campaign(world, "open")
    campaign.closes_at = utcnow() + timedelta(hours=20)
    db.session.commit()
    assert remind_closing() == 0


def test_publishing_the_rectification_outcome_tells_the_electors(world):
    from tests.factories import drive_rectification, published_rectification

    rectification = published_rectification(world)
    drive_rectification(world, rectification, "published")
    assert kinds(world.members[0])[-1] == "rectification.published"


# --- SMS through the gateway ---------------------------------------------------------------------------

def sms_states():
    return sorted((d.address, d.state, d.attempts) for d in db.session.scalars(
        sa.select(Delivery).where(Delivery.channel == Channel.sms)))


@pytest.mark.service
def test_voting_opened_reaches_every_elector_by_a_signed_sms(world, phones, gateway, monkeypatch):
    monkeypatch.setattr(delivery, "utcnow", lambda: daytime(10))
    campaign = make_campaign(world, "open")
    assert [m["kind"] for m in gateway.to(phone_of(0))] == ["report.requested"]
    opened = [m for m in gateway.messages if m["kind"] == "voting.opened"]
    assert sorted(m["to"] for m in opened) == [phone_of(i) for i in range(1, 6)]
    message = gateway.to(phone_of(1))[0]
    assert message["kind"] == "voting.opened"
    assert message["content"] == f"“2026年度述职评议”已开始投票，请登录参加评议。 详情：{PUBLIC}/campaigns/{campaign.id}"
    assert message["link"] == f"{PUBLIC}/campaigns/{campaign.id}"
    assert gateway.refused == []                                        # every signature checked out
    assert all(state == DeliveryState.sent for _, state, _ in sms_states())


@pytest.mark.service
def test_the_gateway_refuses_a_request_signed_with_another_key(app, world, phones, gateway, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_GATEWAY_SECRET", "not-the-shared-secret")
    monkeypatch.setattr(delivery, "utcnow", lambda: daytime(10))
    notify(world.members[0], "test", "测试")
    db.session.commit()
    assert gateway.messages == [] and gateway.refused == [(401, "signature")]
    [(_, state, attempts)] = sms_states()
    assert (state, attempts) == (DeliveryState.failed, 1)              # a 401 is final, not retried


def test_the_signature_is_an_hmac_of_timestamp_and_body():
    body = json.dumps({"id": "k", "to": "13800138000"}).encode()
    expected = hmac.new(b"s3cret", b"1733300000." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", 1733300000, body) == "sha256=" + expected


@pytest.mark.service
def test_a_failing_gateway_is_retried_with_back_off_and_sends_once(world, phones, gateway, monkeypatch):
    now = daytime(10)
    monkeypatch.setattr(delivery, "utcnow", lambda: now)
    gateway.script = [503, "drop"]
    notify(world.members[0], "test", "第一条")
    db.session.commit()                                                  # first attempt: 503
    [copy] = db.session.scalars(sa.select(Delivery))
    assert (copy.state, copy.attempts) == (DeliveryState.pending, 1) and "503" in copy.error
    assert copy.next_attempt_at == now + timedelta(minutes=1)
    assert deliver_due(now=now + timedelta(seconds=30)) == (0, 0)        # not before its back-off
    assert deliver_due(now=now + timedelta(minutes=1)) == (0, 1)         # second attempt: connection dropped
    db.session.expire_all()
    assert copy.next_attempt_at == now + timedelta(minutes=6) and "网关无法连接" in copy.error
    assert deliver_due(now=now + timedelta(minutes=6)) == (1, 0)
    assert deliver_due(now=now + timedelta(days=1)) == (0, 0)
    assert [m["text"] for m in gateway.messages] == ["第一条"] and gateway.requests == 3


@pytest.mark.service
def test_retry_after_from_the_gateway_is_honoured(world, phones, gateway, monkeypatch):
    now = daytime(10)
    monkeypatch.setattr(delivery, "utcnow", lambda: now)
    gateway.script, gateway.retry_after = [429], 600
    notify(world.members[0], "test", "限流")
    db.session.commit()
    copy = db.session.scalar(sa.select(Delivery))
    assert copy.next_attempt_at == now + timedelta(seconds=600)


@pytest.mark.service
def test_a_sender_that_died_mid_send_is_replaced_and_the_gateway_sees_one_message(world, phones, gateway, monkeypatch):
    now = daytime(10)
    monkeypatch.setattr(delivery, "utcnow", lambda: now)
    notify(world.members[0], "test", "只发一次", deliver_after=False)
    db.session.commit()
    # A sender claims it, posts it, and is killed before it records the outcome.
    claimed = delivery._claim([Channel.sms], now, 10, "killed-sender")
    row = db.session.execute(sa.select(Delivery.id, Delivery.created_at)).one()
    from evalapp.notifications import sms

    sms.post(dict(SMS_GATEWAY_URL=gateway.url, SMS_GATEWAY_SECRET=SECRET, SMS_CONCURRENCY=1),
             delivery._idempotency_key(row.id, row.created_at), {"to": phone_of(1), "text": "只发一次"})
    assert claimed == [row.id] and len(gateway.messages) == 1
    assert deliver_due(now=now + timedelta(minutes=5)) == (0, 0)         # the claim is still fresh
    assert deliver_due(now=now + delivery.STALE_CLAIM + timedelta(minutes=1)) == (1, 0)
    assert gateway.requests == 2 and len(gateway.messages) == 1          # same key: the gateway sent once
    assert sms_states() == [(phone_of(1), DeliveryState.sent, 2)]


@pytest.mark.service
def test_two_senders_at_once_send_each_message_once(app, world, phones, gateway, monkeypatch):
    import threading

    now = daytime(10)
    for index in range(40):
        notify(world.members[index % 5], "test", f"消息{index}", deliver_after=False)
    db.session.commit()
    results = []

    def sender():
        with app.app_context():
            results.append(deliver_due(now=now))
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent for sent, _ in results) == 40
    assert gateway.requests == 40 and len(gateway.messages) == 40


@pytest.mark.service
def test_no_sms_at_night_they_go_out_at_eight(world, phones, gateway, monkeypatch):
    night = daytime(23)
    monkeypatch.setattr(delivery, "utcnow", lambda: night)
    notify(world.members[0], "test", "夜里写的通知")
    db.session.commit()
    assert gateway.messages == []
    assert sms_states() == [(phone_of(1), DeliveryState.pending, 0)]
    assert deliver_due(now=night + timedelta(hours=8, minutes=59)) == (0, 0)    # 07:59
    assert deliver_due(now=night + timedelta(hours=9)) == (1, 0)                # 08:00
    assert [m["text"] for m in gateway.messages] == ["夜里写的通知"]


@pytest.mark.service
def test_members_choose_their_channels(world, phones, gateway, login, monkeypatch):
    monkeypatch.setattr(delivery, "utcnow", lambda: daytime(10))
    client = login("m1")
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "138****8001" in page and "22:00 至次日 08:00" in page
    assert client.post("/account/notifications", data={"email": "", "phone": ""}).status_code == 302  # SMS off
    assert client.post("/account/notifications", data={"sms": "y", "phone": "139 0000 1111"}).status_code == 302
    assert db.session.scalar(sa.select(NotificationSettings.phone)) == "13900001111"
    bad = client.post("/account/notifications", data={"sms": "y", "phone": "12345"})
    assert bad.status_code == 400 and "手机号格式不正确" in bad.get_data(as_text=True)
    m2 = db.session.scalar(sa.select(Member).where(Member.account_id == world.members[1].id))
    db.session.add(NotificationSettings(account_id=m2.account_id, sms=False))
    db.session.commit()
    make_campaign(world, "open")
    opened = [m["to"] for m in gateway.messages if m["kind"] == "voting.opened"]
    assert sorted(opened) == [phone_of(3), phone_of(4), phone_of(5), "13900001111"]
    audited = db.session.scalars(sa.select(AuditEntry.details).where(AuditEntry.action == "notification_settings.changed"))
    assert all("1390000" not in details for details in audited)


@pytest.mark.service
def test_no_message_carries_anything_derived_from_a_ballot(world, phones, gateway, monkeypatch):
    monkeypatch.setattr(delivery, "utcnow", lambda: daytime(10))
    campaign = make_campaign(world, "open")
    for member in world.members:
        vote(campaign, member, [0, 0, 0])
    db.session.commit()
    close_and_publish(world, campaign)
    result = db.session.get(Campaign, campaign.id).result
    score = result.overall_score
    figures = {f"{score:.1f}", f"{score:.2f}"} if score is not None else set()
    published = [m for m in gateway.messages if m["kind"] == "result.published"]
    assert len(published) == 5
    for message in gateway.messages:
        assert not any(figure in message["content"] for figure in figures), (figures, message["content"])
        assert set(message) == {"id", "to", "content", "text", "link", "kind", "created_at"}


@pytest.mark.service
def test_electors_without_an_account_are_texted_how_to_activate_once_per_number(world, phones, gateway, login,
                                                                                  monkeypatch):
    now = daytime(10)
    monkeypatch.setattr(delivery, "utcnow", lambda: now)
    for name, phone in (("未开通甲", "13900000001"), ("未开通乙", "13900000002"), ("未开通丙", "13900000002"),
                        ("没有手机号", None)):
        db.session.add(Member(union_id=world.union_a.id, name=name, phone=phone))
    db.session.commit()
    campaign = make_campaign(world, "open")
    opened = [m for m in gateway.messages if m["kind"] == "voting.opened"]
    without = sorted(m["to"] for m in opened if "激活码" in m["content"])
    assert without == ["13900000001", "13900000002"]                    # two sharing a number: one text
    assert all(m["content"].endswith(f"详情：{PUBLIC}/activate") for m in opened if "激活码" in m["content"])
    assert len([m for m in opened if "请登录参加评议" in m["content"]]) == 5
    # A day before closing, the reminder reaches them too; the officers see how many people it reached.
    db.session.get(Campaign, campaign.id).opened_at = now - timedelta(days=3)
    db.session.get(Campaign, campaign.id).closes_at = now + timedelta(hours=10)
    db.session.commit()
    vote(campaign, world.members[0], [0, 0, 0])
    db.session.commit()
    assert remind_closing(now=now) == 1
    closing = [m["to"] for m in gateway.messages if m["kind"] == "voting.closing"]
    assert sorted(closing) == sorted([phone_of(i) for i in range(2, 6)] + ["13900000001", "13900000002"])
    page = login("county_officer").get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "系统已提醒 6 位尚未投票的会员" in page


# --- What administrators see ----------------------------------------------------------------------------

@pytest.mark.service
def test_admins_see_sent_failed_and_retrying_and_can_send_the_failed_again(app, world, phones, gateway, login,
                                                                            monkeypatch):
    now = daytime(10)
    monkeypatch.setattr(delivery, "utcnow", lambda: now)
    monkeypatch.setitem(app.config, "SMS_CONCURRENCY", 1)   # one at a time: the answers go in order
    gateway.script = [400, 503]
    notify(world.members[0], "test", "会失败的")
    notify(world.members[1], "test", "会重试的")
    notify(world.members[2], "test", "会成功的")
    db.session.commit()
    page = login("admin").get("/admin/notifications").get_data(as_text=True)
    assert "138****8001" in page and "网关返回 400" in page and "发送失败" in page
    assert "138****8002" in page and "网关返回 503" in page
    assert "138****8003" not in page                                    # sent: nothing to look at
    for username in ("county_officer", "city_officer", "chair", "m1"):
        assert login(username).get("/admin/notifications").status_code == 404
    assert login("admin").post("/admin/notifications/retry").status_code == 302
    assert deliver_due(now=now + timedelta(minutes=2)) == (2, 0)
    assert sorted(m["text"] for m in gateway.messages) == ["会失败的", "会成功的", "会重试的"]
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "deliveries.retried"))


@pytest.mark.service
def test_admins_never_see_who_got_the_reminder_for_non_voters(world, phones, gateway, login, monkeypatch):
    now = daytime(10)
    monkeypatch.setattr(delivery, "utcnow", lambda: now)
    campaign = make_campaign(world, "open")
    campaign.opened_at, campaign.closes_at = now - timedelta(days=2), now + timedelta(hours=20)
    db.session.commit()
    gateway.script = [503] * 5
    assert remind_closing(now=now) == 1
    page = login("admin").get("/admin/notifications").get_data(as_text=True)
    assert "网关返回 503" in page and "（不显示）" in page
    assert "138****" not in page


@pytest.mark.service
def test_with_redis_the_notices_wait_in_the_queue_and_a_worker_sends_them(app, world, phones, gateway):
    import secrets

    from redis import Redis

    from evalapp.accounts.models import Account
    from evalapp.core.jobs import queue
    from tests.test_production import REDIS_URL, second_app

    name = f"evalapp-test-{secrets.token_hex(4)}"
    node = second_app(app, REDIS_URL=REDIS_URL, JOBS_QUEUE=name, SMS_GATEWAY_URL=gateway.url,
                      SMS_GATEWAY_SECRET=SECRET, PUBLIC_URL=PUBLIC, SMS_QUIET_HOURS="")
    campaign_id = make_campaign(world, "reporting").id
    try:
        with node.app_context():
            campaign_ops.open_voting(db.session.get(Campaign, campaign_id),
                                     db.session.get(Account, world.county_officer.id))
            db.session.commit()
            before = len(gateway.messages)                               # the chair's request to report
            assert len(queue(node)) == 1                                 # the broadcast waits for a worker
            assert len(gateway.messages) == before
            result = node.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
            assert result.exit_code == 0, result.output
            assert len(queue(node)) == 0
    finally:
        connection = Redis.from_url(REDIS_URL)
        for key in connection.scan_iter(f"*{name}*"):
            connection.delete(key)
    opened = [m for m in gateway.messages if m["kind"] == "voting.opened"]
    assert sorted(m["to"] for m in opened) == [phone_of(i) for i in range(1, 6)]
    assert kinds(world.members[0])[-1] == "voting.opened"


def test_a_federation_may_turn_the_reminder_to_non_voters_off(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "REMIND_NON_VOTERS", False)
    campaign = make_campaign(world, "open")
    campaign.opened_at, campaign.closes_at = utcnow() - timedelta(days=3), utcnow() + timedelta(hours=10)
    db.session.commit()
    assert remind_closing() == 0
    assert "voting.closing" not in kinds(world.members[1])



# --- What the review found -----------------------------------------------------------------------------

def test_a_slow_batch_keeps_its_claim_alive_and_sends_each_mail_once(app, world, monkeypatch):
    """Mail that takes minutes each: another sender's clock tick must not take the batch for dead."""
    from evalapp.notifications import mail

    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_FROM", "noreply@example.cn")
    clock = [daytime(10)]
    monkeypatch.setattr(delivery, "utcnow", lambda: clock[0])
    for index, member in enumerate(world.members):
        db.session.add(NotificationSettings(account_id=member.id, email=f"m{index}@example.cn"))
    db.session.commit()
    for member in world.members:
        notify(member, "test", "慢邮件", deliver_after=False)
    db.session.commit()
    sent_to = []

    def slow_send(to, subject, body, key=None):
        clock[0] += timedelta(minutes=6)
        sent_to.append(to)
        delivery.recover_stale_claims(clock[0])      # what another sender does every minute

    monkeypatch.setattr(mail, "send_mail", slow_send)
    assert delivery.deliver_due() == (5, 0)
    assert delivery.deliver_due() == (0, 0)
    assert sorted(sent_to) == [f"m{i}@example.cn" for i in range(5)]


def test_a_bad_quiet_hours_setting_stops_the_app_from_starting(app):
    from evalapp import create_app

    with pytest.raises(RuntimeError, match="SMS_QUIET_HOURS"):
        create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SMS_QUIET_HOURS": "nightly"})
    assert delivery.hours_window("22:00-8:00") is not None and delivery.hours_window("off") is None


@pytest.mark.service
def test_a_gateway_that_answers_200_without_the_id_is_not_believed_and_a_redirect_is_final(
        app, world, phones, gateway, monkeypatch):
    now = daytime(10)
    monkeypatch.setattr(delivery, "utcnow", lambda: now)
    monkeypatch.setitem(app.config, "SMS_CONCURRENCY", 1)
    gateway.script = [(200, b"<html>portal</html>"), (302, b"")]
    notify(world.members[0], "test", "门户页")
    notify(world.members[1], "test", "跳转")
    db.session.commit()
    states = {d.address: (d.state, d.error) for d in db.session.scalars(sa.select(Delivery))}
    assert states[phone_of(1)][0] == DeliveryState.pending and "没有本消息的 id" in states[phone_of(1)][1]
    assert states[phone_of(2)][0] == DeliveryState.failed and "跳转" in states[phone_of(2)][1]
    assert deliver_due(now=now + timedelta(minutes=2)) == (1, 0)
    assert [m["text"] for m in gateway.messages] == ["门户页"]


def test_the_reminder_count_is_the_latest_reminders_after_the_closing_time_moves(world, login):
    campaign = make_campaign(world, "open")
    campaign.opened_at, campaign.closes_at = utcnow() - timedelta(days=3), utcnow() + timedelta(hours=10)
    db.session.commit()
    assert remind_closing() == 1
    campaign.closes_at = utcnow() + timedelta(hours=20)
    db.session.commit()
    assert remind_closing() == 1
    page = login("county_officer").get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "系统已提醒 5 位尚未投票的会员" in page


@pytest.mark.parametrize(("phone", "stored"), [("１３９０００１１１１１", "13900011111"), ("139-0001-1111", "13900011111")])
def test_phone_numbers_typed_in_full_width_digits_are_stored_in_ascii(world, login, phone, stored):
    assert login("m1").post("/account/notifications", data={"sms": "y", "phone": phone}).status_code == 302
    assert db.session.scalar(sa.select(NotificationSettings.phone)) == stored


@pytest.mark.parametrize("address", ["root,me@example.cn", "me@example.cn;you@example.cn", "Me <me@example.cn>"])
def test_an_address_that_names_several_mailboxes_is_refused(world, login, address):
    response = login("m1").post("/account/notifications", data={"email": address})
    assert response.status_code == 400 and "邮箱地址格式不正确" in response.get_data(as_text=True)


@pytest.mark.service
def test_an_officer_who_puts_his_own_number_on_a_roster_during_voting_learns_nothing(
        app, world, phones, gateway, monkeypatch, tmp_path):
    """The attack: re-import the roster with one's own phone for a member, and wait for the reminder."""
    from evalapp.unions.events import MemberEventKind, record_member_event

    now = daytime(10)
    monkeypatch.setattr(delivery, "utcnow", lambda: now)
    campaign = make_campaign(world, "open")
    campaign.opened_at, campaign.closes_at = now - timedelta(days=2), now + timedelta(hours=20)
    target = db.session.scalar(sa.select(Member).where(Member.account_id == world.members[1].id))
    target.phone = "13999999999"                                   # the officer's own number
    record_member_event(target, MemberEventKind.phone_changed, world.county_officer)
    db.session.commit()
    assert remind_closing(now=now) == 1
    closing = [m["to"] for m in gateway.messages if m["kind"] == "voting.closing"]
    assert "13999999999" not in closing and len(closing) == 4
    assert kinds(world.members[1])[-1] == "voting.closing"            # the member still finds it in the inbox


@pytest.mark.service
def test_a_call_to_vote_is_never_sent_after_voting_closed(world, phones, gateway, monkeypatch):
    now = daytime(10)
    monkeypatch.setattr(delivery, "utcnow", lambda: now)
    gateway.script = [503] * 20
    campaign = make_campaign(world, "reporting")
    campaign.closes_at = now + timedelta(minutes=30)
    db.session.commit()
    campaign_ops.open_voting(campaign, world.county_officer)
    db.session.commit()
    gateway.script = []
    deliver_due(now=now + timedelta(minutes=31))
    assert [m["kind"] for m in gateway.messages] == ["report.requested"]     # the chair's, which has no end
    expired = db.session.scalars(sa.select(Delivery.error).where(Delivery.state == DeliveryState.failed)).all()
    assert len(expired) == 5 and all("已过期" in error for error in expired)
