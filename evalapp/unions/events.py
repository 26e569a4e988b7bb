"""Member events: every change to who can act as a member (roster entries, codes, passwords).

They are what the member is told about ("this was not me") and what a result's integrity report
counts for the officers above: an official who wants to vote in a member's name has to enrol,
move, re-phone, activate or reset someone, and each of those leaves an event here.
"""
from evalapp.core.db import db
from evalapp.core.enums import LabelledEnum
from evalapp.core.timeutil import utcnow

#: The member's own page of account changes, linked from the notices those changes send.
SECURITY_LINK = "/account/security"


class MemberEventKind(LabelledEnum):
    enrolled = "enrolled", "登记入会员名册"
    moved_in = "moved_in", "从其他工会转入"
    phone_changed = "phone_changed", "更改手机号"
    reactivated = "reactivated", "恢复在册"
    #: An officer chose the member's first password (enrolment with an account).
    initial_password = "initial_password", "由工作人员设置初始密码"  # nosec B105 (an event kind, not a password)
    activation_code = "activation_code", "发放激活码"
    #: A second person confirmed a code that needed one (their name is what the report shows).
    code_confirmed = "code_confirmed", "上级工会确认激活码"
    reset_code = "reset_code", "发放重置密码的激活码"
    activated = "activated", "开通账号（用激活码或初始密码）"
    password_reset = "password_reset", "用激活码重新设置密码"  # nosec B105 (an event kind, not a password)

#: The changes that gave someone a way into the member's account: a member may report them as "not me".
CREDENTIAL_KINDS = frozenset({MemberEventKind.initial_password, MemberEventKind.reset_code,
                              MemberEventKind.password_reset, MemberEventKind.phone_changed})


class MemberEvent(db.Model):
    __tablename__ = "member_events"
    __table_args__ = (db.Index("ix_member_events_member_id_at", "member_id", "at"),)

    id = db.Column(db.Integer, primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False)
    kind = db.Column(db.String(24), nullable=False)
    #: The official who did it; None when the member did it themselves or nobody is known.
    actor_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    #: Indexed: a result's integrity report looks for the events within its voting window.
    at = db.Column(db.DateTime, nullable=False, index=True)
    #: When the member saw it on their security page.
    seen_at = db.Column(db.DateTime, nullable=True)
    #: When the member reported "this was not me".
    reported_at = db.Column(db.DateTime, nullable=True)

    member = db.relationship("Member")
    actor = db.relationship("Account")

    @property
    def kind_label(self):
        return MemberEventKind(self.kind).label


def record_member_event(member, kind: MemberEventKind, actor=None):
    event = MemberEvent(member_id=member.id, kind=kind.value, actor_id=actor.id if actor is not None else None,
                        at=utcnow())
    db.session.add(event)
    return event
