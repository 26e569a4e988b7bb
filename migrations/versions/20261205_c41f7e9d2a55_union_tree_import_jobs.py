"""union tree imports as jobs: roster_imports.dissolve_missing

Revision ID: c41f7e9d2a55
Revises: b5e8d4a2c611
Create Date: 2026-12-05 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c41f7e9d2a55'
down_revision = 'b5e8d4a2c611'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('roster_imports') as batch_op:
        batch_op.add_column(sa.Column('dissolve_missing', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    op.execute("DELETE FROM roster_imports WHERE id IN (SELECT id FROM jobs WHERE kind = 'union_tree_import')")
    op.execute("DELETE FROM jobs WHERE kind = 'union_tree_import'")
    with op.batch_alter_table('roster_imports') as batch_op:
        batch_op.drop_column('dissolve_missing')
