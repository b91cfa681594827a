"""invitations for printed notices: who may be named, the question, the notice text

Revision ID: 3c1a7e0d5b21
Revises: 60d8f149f598
Create Date: 2026-11-29 09:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '3c1a7e0d5b21'
down_revision = '60d8f149f598'
branch_labels = None
depends_on = None


# Written by hand: three plain columns; the booleans get a server default so
# the links made before keep working as they did (no name shown, no question).

def upgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('names_inviter', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('asks_question', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('notice_text', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('notice_text')
        batch_op.drop_column('asks_question')
        batch_op.drop_column('names_inviter')
