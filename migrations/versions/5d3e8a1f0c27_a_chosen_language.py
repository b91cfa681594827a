"""a person's chosen language: pages follow the browser unless they chose one on the account page

Revision ID: 5d3e8a1f0c27
Revises: 4f4a25b82aa5
Create Date: 2026-12-07 12:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d3e8a1f0c27'
down_revision = '4f4a25b82aa5'
branch_labels = None
depends_on = None


# Reviewed by hand: one column, with a server default so every existing account
# keeps following its browser (what they had before there was a choice).


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language_follows_browser', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language_follows_browser')
