"""deliveries (e-mail and SMS copies of notices), broadcasts, SMS settings

Revision ID: b5e8d4a2c611
Revises: a7c3d2e91b40
Create Date: 2026-12-05 14:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b5e8d4a2c611'
down_revision = 'a7c3d2e91b40'
branch_labels = None
depends_on = None
# The previous release cannot run on the schema this leaves (evalapp.core.releases).
STOP_THE_SERVICE = True


def upgrade():
    op.create_table(
        'broadcasts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('audience', sa.String(length=40), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('link', sa.String(length=300), nullable=True),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('fanned_out_at', sa.DateTime(), nullable=True),
        sa.Column('recipients', sa.Integer(), nullable=True),
        sa.Column('text_without_account', sa.String(length=500), nullable=True),
        sa.Column('link_without_account', sa.String(length=300), nullable=True),
        sa.Column('texted_without_account', sa.Integer(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts')),
        sa.UniqueConstraint('key', name=op.f('uq_broadcasts_key')),
    )
    op.create_index(op.f('ix_broadcasts_fanned_out_at'), 'broadcasts', ['fanned_out_at'])
    op.create_table(
        'deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notification_id', sa.Integer(), nullable=True),
        sa.Column('broadcast_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.Enum('email', 'sms', name='channel', native_enum=False, length=8), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'failed', name='deliverystate', native_enum=False,
                                   length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claim', sa.String(length=32), nullable=True),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('error', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                                name=op.f('fk_deliveries_notification_id_notifications')),
        sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_deliveries_broadcast_id_broadcasts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
        sa.UniqueConstraint('notification_id', 'channel', name='uq_deliveries_notification_channel'),
        sa.UniqueConstraint('broadcast_id', 'address', name='uq_deliveries_broadcast_address'),
    )
    op.create_index('ix_deliveries_state_next_attempt_at', 'deliveries', ['state', 'next_attempt_at'])
    op.create_index(op.f('ix_deliveries_broadcast_id'), 'deliveries', ['broadcast_id'])
    # The e-mail copies kept on the notices until now become deliveries.
    op.execute(
        "INSERT INTO deliveries (notification_id, channel, address, state, attempts, next_attempt_at, sent_at,"
        " created_at) SELECT id, 'email', mail_to, mail_state, mail_attempts, created_at, mailed_at, created_at"
        " FROM notifications WHERE mail_state <> 'none' AND mail_to IS NOT NULL")
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.drop_index('ix_notifications_mail_state')
        batch_op.drop_column('mail_state')
        batch_op.drop_column('mail_to')
        batch_op.drop_column('mail_attempts')
        batch_op.drop_column('mailed_at')
        batch_op.add_column(sa.Column('broadcast_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_notifications_broadcast_id_broadcasts'), 'broadcasts',
                                    ['broadcast_id'], ['id'])
        batch_op.create_index(op.f('ix_notifications_broadcast_id'), ['broadcast_id'])
    with op.batch_alter_table('notification_settings') as batch_op:
        batch_op.add_column(sa.Column('sms', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('notification_settings') as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('sms')
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.drop_index(op.f('ix_notifications_broadcast_id'))
        batch_op.drop_constraint(op.f('fk_notifications_broadcast_id_broadcasts'), type_='foreignkey')
        batch_op.drop_column('broadcast_id')
        batch_op.add_column(sa.Column('mailed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('mail_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('mail_to', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('mail_state', sa.String(length=16), server_default='none', nullable=False))
        batch_op.create_index('ix_notifications_mail_state', ['mail_state'])
    op.execute(
        "UPDATE notifications SET mail_state = (SELECT d.state FROM deliveries d WHERE d.notification_id ="
        " notifications.id AND d.channel = 'email'), mail_to = (SELECT d.address FROM deliveries d WHERE"
        " d.notification_id = notifications.id AND d.channel = 'email'), mail_attempts = (SELECT d.attempts FROM"
        " deliveries d WHERE d.notification_id = notifications.id AND d.channel = 'email'), mailed_at = (SELECT"
        " d.sent_at FROM deliveries d WHERE d.notification_id = notifications.id AND d.channel = 'email')"
        " WHERE id IN (SELECT notification_id FROM deliveries WHERE channel = 'email')")
    op.execute("UPDATE notifications SET mail_state = 'pending' WHERE mail_state = 'sending'")
    op.drop_index(op.f('ix_deliveries_broadcast_id'), table_name='deliveries')
    op.drop_index('ix_deliveries_state_next_attempt_at', table_name='deliveries')
    op.drop_table('deliveries')
    op.drop_index(op.f('ix_broadcasts_fanned_out_at'), table_name='broadcasts')
    op.drop_table('broadcasts')
