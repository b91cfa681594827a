"""export, import and closing: a member's choice to let their address leave in the circle's export

Revision ID: 5e1f0c2a9b7d
Revises: ed1eaa3c00ca
Create Date: 2026-12-07 12:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1f0c2a9b7d'
down_revision = 'ed1eaa3c00ca'
branch_labels = None
depends_on = None


# Written by hand. memberships.share_email is off for everyone until they say yes.


def upgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_email', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('share_email')
