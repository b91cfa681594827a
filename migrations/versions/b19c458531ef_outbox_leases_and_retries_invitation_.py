"""outbox leases and retries, invitation sign-up counts, guest answers kept by name

Revision ID: b19c458531ef
Revises: 44ecd4b90396
Create Date: 2026-11-29 06:39:09.619484

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b19c458531ef'
down_revision = '44ecd4b90396'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signups', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('given_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_mail_due', ['sent_at', 'given_up_at', 'next_attempt_at'], unique=False)

    # A guest's answer is kept by their name once their email is erased
    # (autogenerate cannot see CHECK constraints: written by hand).
    _set_someone('user_id IS NOT NULL OR guest_name IS NOT NULL')


def _set_someone(condition):
    # On SQLite the batch copies the table, which loses the expression index:
    # it is dropped first and made again after.
    op.drop_index('uq_gathering_answers_guest_email', table_name='gathering_answers')
    with op.batch_alter_table('gathering_answers', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_gathering_answers_someone'), type_='check')
        batch_op.create_check_constraint('someone', condition)
    op.create_index('uq_gathering_answers_guest_email', 'gathering_answers',
                    ['gathering_id', sa.text('lower(guest_email)')], unique=True)


def downgrade():
    _set_someone('user_id IS NOT NULL OR guest_email IS NOT NULL')

    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_mail_due')
        batch_op.drop_column('given_up_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('message_id')

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('signups')
