"""accounts session token: every session and remember-me cookie names it; a new one ends them all

Revision ID: e14a5e55101d
Revises: 60582023da63
Create Date: 2026-12-04 18:45:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e14a5e55101d'
down_revision = '60582023da63'
branch_labels = None
depends_on = None
# The previous release cannot run on the schema this leaves (evalapp.core.releases).
STOP_THE_SERVICE = True


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))

    # Every existing account gets a random token of its own: the cookies issued before (`id|HMAC(id)`)
    # name no token, so they stop working and everyone signs in once more.
    accounts = sa.table('accounts', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    connection = op.get_bind()
    ids = connection.execute(sa.select(accounts.c.id)).scalars().all()
    for start in range(0, len(ids), 1000):
        connection.execute(
            accounts.update().where(accounts.c.id == sa.bindparam('account_id')).values(session_token=sa.bindparam('token')),
            [{'account_id': account_id, 'token': secrets.token_urlsafe(32)} for account_id in ids[start:start + 1000]])

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('session_token')
