"""member events (what changed who can act as a member) and second-person confirmation of codes

Revision ID: e14c0ed1a001
Revises: e14a5e55101d
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e14c0ed1a001'
down_revision = 'e14a5e55101d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'member_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=True),
        sa.Column('reported_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['accounts.id'], name='fk_member_events_actor_id_accounts'),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name='fk_member_events_member_id_members'),
        sa.PrimaryKeyConstraint('id', name='pk_member_events'),
    )
    op.create_index('ix_member_events_member_id_at', 'member_events', ['member_id', 'at'])
    op.create_index('ix_member_events_at', 'member_events', ['at'])
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('second_code_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('second_code_failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('issuer_reach', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_invitations_confirmed_by_id_accounts', 'accounts', ['confirmed_by_id'], ['id'])


    # The appointment history (who granted whom which role) is read from the audit log by object.
    op.create_index('ix_audit_entries_object_type_object_id', 'audit_entries', ['object_type', 'object_id'])
    op.create_index('ix_audit_entries_action_at', 'audit_entries', ['action', 'at'])


def downgrade():
    op.drop_index('ix_audit_entries_action_at', table_name='audit_entries')
    op.drop_index('ix_audit_entries_object_type_object_id', table_name='audit_entries')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invitations_confirmed_by_id_accounts', type_='foreignkey')
        batch_op.drop_column('issuer_reach')
        batch_op.drop_column('second_code_failures')
        batch_op.drop_column('second_code_hash')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('confirmed_by_id')
    op.drop_index('ix_member_events_at', table_name='member_events')
    op.drop_index('ix_member_events_member_id_at', table_name='member_events')
    op.drop_table('member_events')
