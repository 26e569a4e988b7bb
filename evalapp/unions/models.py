"""Unions form a tree with a materialised path; members are real-name people on rosters."""
from sqlalchemy.orm import validates

from evalapp.core.db import db
from evalapp.core.enums import LabelledEnum


class UnionKind(LabelledEnum):
    city = "city", "市总工会"
    county = "county", "县（市、区）总工会"
    town = "town", "镇（街）总工会"
    grassroots = "grassroots", "基层工会"


class UnionSector(LabelledEnum):
    """What kind of organisation a union belongs to (所属类型); batches and coverage select by it."""

    non_public_enterprise = "non_public_enterprise", "非公有制企业"
    state_owned_enterprise = "state_owned_enterprise", "国有企业"
    public_institution = "public_institution", "机关事业单位"
    joint = "joint", "区域/行业联合工会"
    other = "other", "其他"


#: Which kind of union may sit under which.
CHILD_KINDS = {
    UnionKind.city: (UnionKind.county,),
    UnionKind.county: (UnionKind.town, UnionKind.grassroots),
    UnionKind.town: (UnionKind.grassroots,),
    UnionKind.grassroots: (),
}


class Union(db.Model):
    __tablename__ = "unions"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    kind = db.Column(db.Enum(UnionKind, native_enum=False, length=16), nullable=False)
    parent_id = db.Column(db.Integer, db.ForeignKey("unions.id"), nullable=True, index=True)
    #: Ids from the root down, e.g. "/1/4/17/"; a subtree is a prefix match on an index.
    path = db.Column(db.String(400), nullable=False, default="", index=True)
    depth = db.Column(db.Integer, nullable=False, default=0)
    sector = db.Column(db.Enum(UnionSector, native_enum=False, length=32), nullable=False,
                       default=UnionSector.other, server_default=UnionSector.other.value)
    #: 工会代码: the unified social credit code or the federation's own code (`normalise_code`).
    code = db.Column(db.String(32), nullable=True, unique=True)
    #: When the union was dissolved (it left the federation's file); dissolved unions are kept, never deleted.
    dissolved_at = db.Column(db.DateTime, nullable=True)

    parent = db.relationship("Union", remote_side=[id], backref=db.backref("children", order_by="Union.name"))

    def __repr__(self):
        return f"<Union {self.id} {self.name}>"

    def is_within(self, other):
        """Return whether this union is `other` or lies in its subtree."""
        return self.path.startswith(other.path)

    @property
    def lineage_ids(self):
        """Return the ids from the root down to this union itself, read off the materialised path."""
        return [int(part) for part in self.path.strip("/").split("/")]

    @property
    def ancestors(self):
        """Return the unions from the root down to this union's parent."""
        ids = self.lineage_ids[:-1]
        found = {u.id: u for u in db.session.scalars(db.select(Union).where(Union.id.in_(ids)))}
        return [found[i] for i in ids]

    @staticmethod
    def subtree_filter(root):
        """Return a SQL condition selecting `root` and every union below it."""
        return Union.path.startswith(root.path, autoescape=True)


class Member(db.Model):
    __tablename__ = "members"

    id = db.Column(db.Integer, primary_key=True)
    union_id = db.Column(db.Integer, db.ForeignKey("unions.id"), nullable=False, index=True)
    name = db.Column(db.String(100), nullable=False)
    phone = db.Column(db.String(20), nullable=True)
    #: Keyed hash (HMAC-SHA256) of the national ID number; the number itself is never stored.
    id_number_hash = db.Column(db.String(64), nullable=True, unique=True)
    #: Last four characters of the national ID number, for telling people apart.
    id_number_last4 = db.Column(db.String(4), nullable=True)
    active = db.Column(db.Boolean, nullable=False, default=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True, unique=True)

    union = db.relationship("Union", backref=db.backref("members", lazy="dynamic"))
    account = db.relationship("Account", backref=db.backref("member", uselist=False))

    @validates("name")
    def _strip_name(self, _key, value):
        return value.strip()

    def __repr__(self):
        return f"<Member {self.id} {self.name}>"


class Invitation(db.Model):
    """A one-time code with which a member activates their account and chooses their password.

    One row per member: issuing a new code replaces the old one. Only a hash of the code is kept.
    """

    __tablename__ = "invitations"

    id = db.Column(db.Integer, primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False, unique=True)
    code_hash = db.Column(db.String(64), nullable=False, unique=True)
    issued_at = db.Column(db.DateTime, nullable=False)
    expires_at = db.Column(db.DateTime, nullable=False)
    issued_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    used_at = db.Column(db.DateTime, nullable=True)
    #: The second person who confirmed the code, when it is for an elector of an open campaign.
    confirmed_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    confirmed_at = db.Column(db.DateTime, nullable=True)
    #: Hash of the second code the confirming officer tells the member: the issuer never sees it, so
    #: the printed slip alone opens nothing while a second person is needed.
    second_code_hash = db.Column(db.String(64), nullable=True)
    second_code_failures = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    #: The union paths the issuer managed when issuing ("*" for an administrator), as JSON: who may
    #: confirm is decided against this, so the issuer cannot give up a grant to let a colleague confirm.
    issuer_reach = db.Column(db.Text, nullable=True)

    member = db.relationship("Member")
    issued_by = db.relationship("Account", foreign_keys=[issued_by_id])
    confirmed_by = db.relationship("Account", foreign_keys=[confirmed_by_id])

    def can_confirm(self, account):
        """A second person: manages the member's union and holds a post outside the reach of the issuer
        and of everyone who appointed the issuer (the reach the issuer had when issuing counts too), and
        is none of them. For an administrator's code, another administrator."""
        # appointments reads Union from this module: imported when first asked.
        from evalapp.unions.appointments import independence, within_reach

        member, issuer = self.member, self.issued_by
        if account.id == member.account_id or not account.manages(member.union):
            return False
        if issuer is None:
            return True
        reach, appointers = independence(issuer, self.issuer_reach)
        if account.id in appointers:
            return False
        if "*" in reach:
            return account.is_admin
        return account.is_admin or any(member.union.is_within(scope) and not within_reach(scope, reach)
                                       for scope in account.officer_unions)
