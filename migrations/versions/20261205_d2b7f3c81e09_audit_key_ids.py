"""audit entries name the key that signed them (key rotation)

Revision ID: d2b7f3c81e09
Revises: c41f7e9d2a55
Create Date: 2026-12-05 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd2b7f3c81e09'
down_revision = 'c41f7e9d2a55'
branch_labels = None
depends_on = None


def upgrade():
    # A new column touches no row: the append-only triggers stay as they are.
    op.add_column('audit_entries', sa.Column('key_id', sa.String(length=12), nullable=True))


def downgrade():
    op.drop_column('audit_entries', 'key_id')
