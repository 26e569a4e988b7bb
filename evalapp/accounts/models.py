"""Accounts log in; role grants make an account a chair or an officer of a union."""
import hmac
import secrets
import time

from flask import current_app
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from evalapp.core.db import db
from evalapp.core.enums import LabelledEnum


class Role(LabelledEnum):
    chair = "chair", "工会主席"
    officer = "officer", "工作人员"


class Account(UserMixin, db.Model):
    __tablename__ = "accounts"

    id = db.Column(db.Integer, primary_key=True)
    #: Login name: a phone number for members, or a chosen name for staff.
    username = db.Column(db.String(64), nullable=False, unique=True)
    display_name = db.Column(db.String(100), nullable=False)
    password_hash = db.Column(db.String(256), nullable=False)
    is_admin = db.Column(db.Boolean, nullable=False, default=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    #: Set when someone else chose the password (an officer enrolling a member): the holder must
    #: choose their own before doing anything, so the officer cannot act, or vote, in their name.
    must_change_password = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())

    #: Part of every session and remember-me cookie (see `get_id`): a new one ends them all.
    session_token = db.Column(db.String(64), nullable=False, default=lambda: new_session_token())

    grants = db.relationship("RoleGrant", back_populates="account", cascade="all, delete-orphan")

    def __repr__(self):
        return f"<Account {self.id} {self.username}>"

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        """The id Flask-Login keeps in the session and the remember-me cookie: "id:token:signed-in at".

        Flask-Login's "alternative tokens": a cookie made before the account's session token changed
        names no session. The time of signing in gives every login a remember-me cookie of its own,
        which the server refuses once REMEMBER_COOKIE_DURATION has passed, whatever the browser keeps.
        """
        return f"{self.id}:{self.session_token}:{int(_now())}"

    def holds_session(self, token, signed_in_at):
        """Whether a session (or remember-me cookie) with this token, begun at `signed_in_at`, is still good."""
        if not hmac.compare_digest(self.session_token.encode(), (token or "").encode()):
            return False
        lifetime = current_app.config["REMEMBER_COOKIE_DURATION"].total_seconds()
        return signed_in_at.isdigit() and int(signed_in_at) <= _now() + 60 and _now() - int(signed_in_at) <= lifetime

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    def unions_with_role(self, role):
        return [grant.union for grant in self.grants if grant.role == role]

    @property
    def officer_unions(self):
        return self.unions_with_role(Role.officer)

    @property
    def chaired_unions(self):
        return self.unions_with_role(Role.chair)

    def manages(self, union):
        """Return whether this account may manage `union` (admin, or officer of it or an ancestor)."""
        return self.is_admin or any(union.is_within(scope) for scope in self.officer_unions)

    def chairs(self, union):
        return any(u.id == union.id for u in self.chaired_unions)

    @property
    def is_staff(self):
        return self.is_admin or bool(self.officer_unions)

    @property
    def holds_a_post(self):
        """Staff, or the chair of some union: who has pages about other people's campaigns."""
        return self.is_staff or bool(self.chaired_unions)

    def can_reset(self, actor):
        """Whether `actor` may reset this account (print its member a new code). An officer only for an
        account they fully oversee: never an administrator's, nor one that holds a role in a union
        outside the officer's subtree (that would be a takeover); an inactive one not at all."""
        if actor.is_admin:
            return True
        if self.is_admin or not self.active:
            return False
        return all(actor.manages(grant.union) for grant in self.grants)


def _now():
    return time.time()


def new_session_token():
    return secrets.token_urlsafe(32)


class RoleGrant(db.Model):
    __tablename__ = "role_grants"
    __table_args__ = (db.UniqueConstraint("account_id", "union_id", "role"),)

    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False, index=True)
    union_id = db.Column(db.Integer, db.ForeignKey("unions.id"), nullable=False, index=True)
    role = db.Column(db.Enum(Role, native_enum=False, length=16), nullable=False)

    account = db.relationship("Account", back_populates="grants")
    union = db.relationship("Union")
