"""jobs.runner: the process running a job, so that a dead worker shows at once

Revision ID: e6a1c9d4b372
Revises: d2b7f3c81e09
Create Date: 2026-12-05 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e6a1c9d4b372'
down_revision = 'd2b7f3c81e09'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs') as batch_op:
        batch_op.add_column(sa.Column('runner', sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table('jobs') as batch_op:
        batch_op.drop_column('runner')
