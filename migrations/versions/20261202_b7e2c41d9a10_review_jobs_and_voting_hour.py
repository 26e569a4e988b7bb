"""review jobs; the hour of voting on participations

Revision ID: b7e2c41d9a10
Revises: 6805ed25ab03
Create Date: 2026-12-02 13:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e2c41d9a10'
down_revision = '6805ed25ab03'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('review_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('union_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('state', sa.Enum('queued', 'collecting', 'rendering', 'done', 'failed', name='reportjobstate', native_enum=False, length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('file_key', sa.String(length=32), nullable=True),
    sa.Column('file_size', sa.Integer(), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['campaign_batches.id'], name=op.f('fk_review_jobs_batch_id_campaign_batches')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['accounts.id'], name=op.f('fk_review_jobs_requested_by_id_accounts')),
    sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name=op.f('fk_review_jobs_union_id_unions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_jobs'))
    )
    with op.batch_alter_table('review_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_jobs_union_id'), ['union_id'], unique=False)
    # Plain ADD COLUMN (nullable): no table rebuild, so SQLite keeps its foreign keys as they are.
    op.add_column('participations', sa.Column('voted_hour', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('participations', schema=None) as batch_op:
        batch_op.drop_column('voted_hour')
    with op.batch_alter_table('review_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_jobs_union_id'))
    op.drop_table('review_jobs')
