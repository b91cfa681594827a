"""notifications: notices and their settings, the job runner's rows, a language per person,
and an HTML part and headers (List-Unsubscribe) for outbox mail

Revision ID: 48c145adaeb8
Revises: 22a3e9d7217f
Create Date: 2026-11-29 09:47:36.633620

"""
from alembic import op
import sqlalchemy as sa


revision = '48c145adaeb8'
down_revision = '22a3e9d7217f'
branch_labels = None
depends_on = None


# Generated, then read: new tables, and three nullable columns on existing ones.

def upgrade():
    op.create_table('scheduled_jobs',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduled_jobs'))
    )
    op.create_table('circle_notice_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.CheckConstraint("channel IN ('off', 'inbox', 'digest')", name=op.f('ck_circle_notice_settings_channel')),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], name=op.f('fk_circle_notice_settings_circle_id_circles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_circle_notice_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'circle_id', name=op.f('pk_circle_notice_settings'))
    )
    op.create_table('notice_prefs',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('digest_hour', sa.Integer(), nullable=False),
    sa.Column('quiet_from', sa.Integer(), nullable=False),
    sa.Column('quiet_until', sa.Integer(), nullable=False),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('digest_hour BETWEEN 0 AND 23', name=op.f('ck_notice_prefs_digest_hour')),
    sa.CheckConstraint('quiet_from BETWEEN 0 AND 23 AND quiet_until BETWEEN 0 AND 23', name=op.f('ck_notice_prefs_quiet')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_prefs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notice_prefs'))
    )
    op.create_table('notice_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.CheckConstraint("channel IN ('off', 'inbox', 'digest', 'now')", name=op.f('ck_notice_settings_channel')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notice_settings'))
    )
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('occasion', sa.String(length=120), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('mail_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel IN ('inbox', 'digest', 'now')", name=op.f('ck_notices_channel')),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], name=op.f('fk_notices_circle_id_circles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('kind', 'user_id', 'occasion', name='uq_notices_occasion')
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_circle_id'), ['circle_id'], unique=False)
        batch_op.create_index('ix_notices_mail_due', ['mailed_at', 'mail_due_at'], unique=False)
        batch_op.create_index('ix_notices_user_created', ['user_id', 'created_at'], unique=False)

    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('headers', sa.Text(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')

    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_column('headers')
        batch_op.drop_column('html')

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_user_created')
        batch_op.drop_index('ix_notices_mail_due')
        batch_op.drop_index(batch_op.f('ix_notices_circle_id'))

    op.drop_table('notices')
    op.drop_table('notice_settings')
    op.drop_table('notice_prefs')
    op.drop_table('circle_notice_settings')
    op.drop_table('scheduled_jobs')
