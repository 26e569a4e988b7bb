"""one job model: jobs (state, stage, progress, heartbeat, attempts) with roster_imports and review_reports

Moves every row of roster_import_jobs and review_jobs into the new shape, and a campaign's
background publication (publish_requested_at, publish_failure) into a publication job; back on
downgrade. Roster imports keep their ids (the audit log names them); review jobs follow them.

Revision ID: fb9f1192c363
Revises: e14c0ed1a001
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'fb9f1192c363'
down_revision = 'e14c0ed1a001'
branch_labels = None
depends_on = None
# The previous release cannot run on the schema this leaves (evalapp.core.releases).
STOP_THE_SERVICE = True

#: The old tables' states are the new stages; each stage's generic state.
ROSTER_STATE = ("CASE state WHEN 'uploaded' THEN 'queued' WHEN 'previewing' THEN 'running' "
                "WHEN 'previewed' THEN 'waiting' WHEN 'applying' THEN 'running' WHEN 'applied' THEN 'done' "
                "WHEN 'failed' THEN 'failed' ELSE 'cancelled' END")
REVIEW_STATE = ("CASE state WHEN 'queued' THEN 'queued' WHEN 'collecting' THEN 'running' "
                "WHEN 'rendering' THEN 'running' WHEN 'done' THEN 'done' ELSE 'failed' END")
JOB_COLUMNS = ("id, kind, state, stage, subject_table, subject_id, created_by_id, created_at, updated_at, "
               "finished_at, total, processed, attempts, message")
#: Who asked for a campaign's last background publication, and when: the audit log kept it.
LAST_REQUEST = ("(SELECT a.{column} FROM audit_entries a WHERE a.action = 'campaign.publish_requested' "
                "AND a.object_type = 'Campaign' AND a.object_id = c.id ORDER BY a.seq DESC LIMIT 1)")
PUBLICATION_COLUMNS = ("kind, state, stage, subject_table, subject_id, created_by_id, created_at, updated_at, "
                       "finished_at, processed, attempts, message")
#: A campaign's latest publication job, for the downgrade.
LATEST_PUBLICATION = ("FROM jobs j WHERE j.kind = 'publication' AND j.subject_table = 'campaigns' "
                      "AND j.subject_id = campaigns.id ORDER BY j.id DESC LIMIT 1")


def upgrade():
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('state', sa.Enum('queued', 'running', 'waiting', 'done', 'failed', 'cancelled', name='jobstate',
                                   native_enum=False, length=16), nullable=False),
        sa.Column('stage', sa.String(length=16), nullable=True),
        sa.Column('subject_table', sa.String(length=32), nullable=True),
        sa.Column('subject_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('processed', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='1', nullable=False),
        sa.Column('message', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['accounts.id'], name='fk_jobs_created_by_id_accounts'),
        sa.PrimaryKeyConstraint('id', name='pk_jobs'),
    )
    op.create_index('ix_jobs_kind_state', 'jobs', ['kind', 'state'])
    op.create_index('ix_jobs_subject_table_subject_id', 'jobs', ['subject_table', 'subject_id'])
    op.create_table(
        'roster_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('applied_by_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('stored_name', sa.String(length=64), nullable=True),
        sa.Column('file_format', sa.String(length=8), nullable=False),
        sa.Column('skip_errors', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('report', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['applied_by_id'], ['accounts.id'], name='fk_roster_imports_applied_by_id_accounts'),
        sa.ForeignKeyConstraint(['id'], ['jobs.id'], name='fk_roster_imports_id_jobs'),
        sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name='fk_roster_imports_union_id_unions'),
        sa.PrimaryKeyConstraint('id', name='pk_roster_imports'),
    )
    op.create_index('ix_roster_imports_union_id', 'roster_imports', ['union_id'])
    op.create_table(
        'review_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('file_key', sa.String(length=32), nullable=True),
        sa.Column('file_size', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['campaign_batches.id'], name='fk_review_reports_batch_id_campaign_batches'),
        sa.ForeignKeyConstraint(['id'], ['jobs.id'], name='fk_review_reports_id_jobs'),
        sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name='fk_review_reports_union_id_unions'),
        sa.PrimaryKeyConstraint('id', name='pk_review_reports'),
    )
    op.create_index('ix_review_reports_union_id', 'review_reports', ['union_id'])

    op.execute(
        f"INSERT INTO jobs ({JOB_COLUMNS}) "
        f"SELECT id, 'roster_import', {ROSTER_STATE}, state, 'unions', union_id, created_by_id, created_at, "
        "updated_at, finished_at, total_rows, processed_rows, 1, message FROM roster_import_jobs")
    op.execute(
        "INSERT INTO roster_imports (id, union_id, applied_by_id, filename, stored_name, file_format, skip_errors, report) "
        "SELECT id, union_id, applied_by_id, filename, stored_name, file_format, skip_errors, report FROM roster_import_jobs")
    offset = op.get_bind().execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM jobs")).scalar()
    op.execute(sa.text(
        f"INSERT INTO jobs ({JOB_COLUMNS}) "
        f"SELECT id + :offset, 'review_pdf', {REVIEW_STATE}, state, 'unions', union_id, requested_by_id, created_at, "
        "updated_at, finished_at, total, processed, 1, message FROM review_jobs").bindparams(offset=offset))
    op.execute(sa.text(
        "INSERT INTO review_reports (id, union_id, batch_id, period_start, period_end, file_key, file_size) "
        "SELECT id + :offset, union_id, batch_id, period_start, period_end, file_key, file_size FROM review_jobs")
        .bindparams(offset=offset))
    _restart_ids('jobs')
    # A publication under way (stalled, if its request is over half an hour old) or failed.
    op.execute(
        f"INSERT INTO jobs ({PUBLICATION_COLUMNS}) "
        f"SELECT 'publication', 'running', 'counting', 'campaigns', c.id, {LAST_REQUEST.format(column='actor_id')}, "
        "c.publish_requested_at, c.publish_requested_at, NULL, 0, 1, NULL "
        "FROM campaigns c WHERE c.publish_requested_at IS NOT NULL ORDER BY c.id")
    requested_at = f"COALESCE({LAST_REQUEST.format(column='at')}, c.closed_at, c.created_at)"
    op.execute(
        f"INSERT INTO jobs ({PUBLICATION_COLUMNS}) "
        f"SELECT 'publication', 'failed', 'failed', 'campaigns', c.id, {LAST_REQUEST.format(column='actor_id')}, "
        f"{requested_at}, {requested_at}, {requested_at}, 0, 1, c.publish_failure "
        "FROM campaigns c WHERE c.publish_failure IS NOT NULL AND c.publish_requested_at IS NULL ORDER BY c.id")
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('publish_failure')
        batch_op.drop_column('publish_requested_at')

    op.drop_index('ix_review_jobs_union_id', table_name='review_jobs')
    op.drop_table('review_jobs')
    op.drop_index('ix_roster_import_jobs_union_id', table_name='roster_import_jobs')
    op.drop_table('roster_import_jobs')


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publish_requested_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('publish_failure', sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE campaigns SET "
        f"publish_requested_at = (SELECT CASE WHEN j.state IN ('queued', 'running') THEN j.updated_at END {LATEST_PUBLICATION}), "
        f"publish_failure = (SELECT CASE WHEN j.state = 'failed' THEN SUBSTR(j.message, 1, 200) END {LATEST_PUBLICATION})")
    op.execute("DELETE FROM jobs WHERE kind = 'publication'")

    op.create_table(
        'roster_import_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('applied_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('state', sa.Enum('uploaded', 'previewing', 'previewed', 'applying', 'applied', 'failed', 'abandoned',
                                   name='importstate', native_enum=False, length=16), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('stored_name', sa.String(length=64), nullable=True),
        sa.Column('file_format', sa.String(length=8), nullable=False),
        sa.Column('skip_errors', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('total_rows', sa.Integer(), nullable=True),
        sa.Column('processed_rows', sa.Integer(), nullable=False),
        sa.Column('report', sa.Text(), nullable=True),
        sa.Column('message', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['applied_by_id'], ['accounts.id'], name='fk_roster_import_jobs_applied_by_id_accounts'),
        sa.ForeignKeyConstraint(['created_by_id'], ['accounts.id'], name='fk_roster_import_jobs_created_by_id_accounts'),
        sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name='fk_roster_import_jobs_union_id_unions'),
        sa.PrimaryKeyConstraint('id', name='pk_roster_import_jobs'),
    )
    op.create_index('ix_roster_import_jobs_union_id', 'roster_import_jobs', ['union_id'])
    op.create_table(
        'review_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('state', sa.Enum('queued', 'collecting', 'rendering', 'done', 'failed', name='reportjobstate',
                                   native_enum=False, length=16), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('processed', sa.Integer(), nullable=False),
        sa.Column('file_key', sa.String(length=32), nullable=True),
        sa.Column('file_size', sa.Integer(), nullable=True),
        sa.Column('message', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['campaign_batches.id'], name='fk_review_jobs_batch_id_campaign_batches'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['accounts.id'], name='fk_review_jobs_requested_by_id_accounts'),
        sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name='fk_review_jobs_union_id_unions'),
        sa.PrimaryKeyConstraint('id', name='pk_review_jobs'),
    )
    op.create_index('ix_review_jobs_union_id', 'review_jobs', ['union_id'])

    op.execute(
        "INSERT INTO roster_import_jobs (id, union_id, created_by_id, applied_by_id, created_at, updated_at, finished_at, "
        "state, filename, stored_name, file_format, skip_errors, total_rows, processed_rows, report, message) "
        "SELECT j.id, r.union_id, j.created_by_id, r.applied_by_id, j.created_at, j.updated_at, j.finished_at, j.stage, "
        "r.filename, r.stored_name, r.file_format, r.skip_errors, j.total, j.processed, r.report, j.message "
        "FROM jobs j JOIN roster_imports r ON r.id = j.id")
    op.execute(
        "INSERT INTO review_jobs (id, union_id, batch_id, period_start, period_end, requested_by_id, created_at, "
        "updated_at, finished_at, state, total, processed, file_key, file_size, message) "
        "SELECT j.id, r.union_id, r.batch_id, r.period_start, r.period_end, j.created_by_id, j.created_at, "
        "j.updated_at, j.finished_at, j.stage, j.total, j.processed, r.file_key, r.file_size, j.message "
        "FROM jobs j JOIN review_reports r ON r.id = j.id")
    _restart_ids('roster_import_jobs')
    _restart_ids('review_jobs')

    op.drop_index('ix_review_reports_union_id', table_name='review_reports')
    op.drop_table('review_reports')
    op.drop_index('ix_roster_imports_union_id', table_name='roster_imports')
    op.drop_table('roster_imports')
    op.drop_index('ix_jobs_subject_table_subject_id', table_name='jobs')
    op.drop_index('ix_jobs_kind_state', table_name='jobs')
    op.drop_table('jobs')


def _restart_ids(table):
    """After rows were copied with their ids, PostgreSQL's sequence must continue above them."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}")
