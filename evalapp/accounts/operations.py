"""Account creation, authentication and role grants."""
import functools
import logging
import secrets
import unicodedata

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from evalapp.accounts.models import Account, Role, RoleGrant, new_session_token
from evalapp.accounts.passwords import personal_words, weakness
from evalapp.accounts.signals import initial_password_replaced, member_campaigns
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused

logger = logging.getLogger(__name__)
MIN_PASSWORD_LENGTH = 8
#: Where a member sees, and can report, the changes made to their account (in notices' links).


def normalise_username(username):
    """Return the stored form of a login name: NFKC (full-width digits become ASCII), trimmed, lower case.

    Storing it this way lets logins use the unique index instead of scanning for lower(username).
    """
    return unicodedata.normalize("NFKC", username or "").strip().lower()


def authenticate(username, password):
    """Return the active account with these credentials, or None.

    Every attempt pays one password-hash check, an unknown or inactive name included (against a
    dummy hash), so that the answer's timing does not tell which phone numbers have an account.
    """
    account = find_account(username)
    if account is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password or "")
        return None
    if not account.check_password(password or "") or not account.active:
        return None
    return account


@functools.cache
def _dummy_hash(method):
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def create_account(username, display_name, password=None, *, password_hash=None, is_admin=False, actor=None,
                   must_change_password=False):
    """Create an account; pass `password_hash` to reuse a hash computed once (bulk loads)."""
    username = normalise_username(username)
    if not username:
        raise Refused("登录名不能为空。", 400)
    if find_account(username) is not None:
        raise Refused(f"登录名“{username}”已被使用。", 400)
    account = Account(username=username, display_name=display_name.strip() or username, is_admin=is_admin,
                      must_change_password=must_change_password)
    if password_hash is not None:
        account.password_hash = password_hash
    else:
        check_password_policy(password, username, name=display_name,
                              phone=username if username.isdigit() else None)
        account.set_password(password)
    db.session.add(account)
    db.session.flush()
    audit.record("account.created", account, actor=actor, username=username, is_admin=is_admin)
    return account


#: Passwords every guesser tries first (the top of leaked-password lists, Chinese ones included).
COMMON_PASSWORDS = frozenset("""
    12345678 123456789 1234567890 87654321 11111111 88888888 66666666 00000000 12341234 11223344
    password password1 passw0rd qwertyui qwerty123 1qaz2wsx qazwsxedc asdfghjk zxcvbnm1 abcd1234
    abc12345 a1234567 a12345678 aa123456 iloveyou woaini1314 5201314520 qq123456 admin123 admin888
    """.split())
_RUNS = "0123456789012345678901234567890", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm"


def check_password_policy(password, username=None, *, name=None, phone=None):
    """Refuse passwords too short or too easy to guess, with a message saying why.

    The quick rules first (their messages are the plainest), then the strength estimate
    (`passwords.weakness`: zxcvbn with Chinese common passwords and the holder's `name`, in pinyin,
    and `phone` number).
    """
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        raise Refused(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。", 400)
    lowered = password.lower()
    if len(set(lowered)) <= 2 or lowered in COMMON_PASSWORDS or _is_run(lowered):
        raise Refused("密码过于简单（如连续或重复的字符、常见密码），请换一个。", 400)
    for known in (username, phone):
        if known and len(known) >= 4 and known.lower() in lowered:
            raise Refused("密码不能包含登录名或手机号。", 400)
    if password.isdigit() and len(password) < 10 and _looks_like_a_date(password):
        raise Refused("密码不能是生日等日期，请换一个。", 400)
    reason = weakness(password, personal_words(name=name, phone=phone, username=username))
    if reason:
        raise Refused(reason, 400)


def password_policy_for(account):
    """The keyword arguments of `check_password_policy` that describe `account`'s holder."""
    member = getattr(account, "member", None)
    return {"name": member.name if member is not None else account.display_name,
            "phone": member.phone if member is not None else None}


def _is_run(text):
    return any(text in run or text in run[::-1] for run in _RUNS)


def _looks_like_a_date(digits):
    from datetime import datetime

    try:
        datetime.strptime(digits[:8], "%Y%m%d")
    except ValueError:
        return False
    return 1900 <= int(digits[:4]) <= 2100


def change_password(account, current, new):
    if not account.check_password(current or ""):
        raise Refused("当前密码不正确。", 400)
    takes_over_initial = account.must_change_password and account.member is not None
    if takes_over_initial and member_campaigns(account.member):
        # The officer who enrolled the member knows this password: once a campaign of the member's is
        # announced it would let that officer vote in their name.
        raise Refused("评议期间，工作人员设置的初始密码不能用来开通账号。请向工会工作人员索取激活单，"
                      "激活码经上级工会确认后即可使用。", 403)
    check_password_policy(new, account.username, **password_policy_for(account))
    if new == current:
        raise Refused("新密码不能与当前密码相同。", 400)
    account.set_password(new)
    account.must_change_password = False
    end_all_sessions(account)
    if takes_over_initial:
        initial_password_replaced.send(account)
    db.session.flush()
    audit.record("account.password_changed", account, actor=account)


def end_all_sessions(account):
    """Log `account` out everywhere: every session and remember-me cookie issued so far stops working.

    Called on logout, password change, reset (activation with a code) and deactivation. A view that
    wants its own browser to stay signed in signs it in again afterwards (`core.auth.start_session`).
    """
    account.session_token = new_session_token()
    db.session.flush()


def deactivate_account(actor, account):
    """Stop `account` from signing in, ending its sessions: administrators, or the command line (`actor` None)."""
    if actor is not None and not actor.is_admin:
        raise Refused("只有系统管理员可以停用账号。", 403)
    if actor is not None and account.id == actor.id:
        raise Refused("不能停用自己的账号。", 400)
    account.active = False
    end_all_sessions(account)
    audit.record("account.deactivated", account, actor=actor)


def find_account(username):
    return db.session.scalar(select(Account).where(Account.username == normalise_username(username)))


def appoint(actor, union, username, role: Role):
    """Make the account `username` officer or chair of `union`; a union has one chair at a time.

    `actor` None is the system (a command run on the server, such as the union tree import)."""
    if actor is not None and not actor.manages(union):
        raise Refused("无权管理该工会的负责人。", 403)
    account = find_account(username)
    if account is None or not account.active:
        raise Refused(f"没有找到登录名为“{(username or '').strip()}”的账号。", 400)
    if role == Role.chair:
        if account.member is None or account.member.union_id != union.id or not account.member.active:
            raise Refused("工会主席须是本工会花名册上的在册会员。", 400)
        for grant in db.session.scalars(select(RoleGrant).filter_by(union_id=union.id, role=Role.chair)):
            if grant.account_id != account.id:
                revoke(actor, grant)
    return grant_role(account, union, role, actor=actor)


def revoke(actor, grant):
    if actor is not None and not actor.manages(grant.union):
        raise Refused("无权管理该工会的负责人。", 403)
    account, union, role = grant.account, grant.union, grant.role
    db.session.delete(grant)
    db.session.flush()
    audit.record("role.revoked", account, actor=actor, union_id=union.id, role=role.value)


def grant_role(account, union, role: Role, actor=None):
    """Make `account` chair or officer of `union` (idempotent)."""
    existing = db.session.scalar(select(RoleGrant).filter_by(account_id=account.id, union_id=union.id, role=role))
    if existing is not None:
        return existing
    grant = RoleGrant(account=account, union=union, role=role)
    db.session.add(grant)
    db.session.flush()
    audit.record("role.granted", account, actor=actor, union_id=union.id, role=role.value)
    return grant


def account_for_session(session_id):
    """The active account a session or remember-me cookie names, if its session token is still current."""
    account_id, token, signed_in_at = ((session_id or "").split(":") + ["", ""])[:3]
    account = db.session.get(Account, int(account_id)) if account_id.isdigit() and len(account_id) < 10 else None
    if account is None or not account.active or not account.holds_session(token, signed_in_at):
        return None
    return account
