"""union code (工会代码) and dissolved_at

Revision ID: a7c3d2e91b40
Revises: fb9f1192c363
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3d2e91b40'
down_revision = 'fb9f1192c363'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('unions') as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('dissolved_at', sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint('uq_unions_code', ['code'])


def downgrade():
    with op.batch_alter_table('unions') as batch_op:
        batch_op.drop_constraint('uq_unions_code', type_='unique')
        batch_op.drop_column('dissolved_at')
        batch_op.drop_column('code')
