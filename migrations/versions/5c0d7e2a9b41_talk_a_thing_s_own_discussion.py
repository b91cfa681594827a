"""talk: a thing of the library has its own discussion, as a gathering has

Revision ID: 5c0d7e2a9b41
Revises: ed1eaa3c00ca
Create Date: 2026-12-07 12:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c0d7e2a9b41'
down_revision = 'ed1eaa3c00ca'
branch_labels = None
depends_on = None


# Reviewed by hand: a nullable column, so existing discussions stay as they are;
# unique like gathering_id (one discussion a thing), gone with the thing.


def upgrade():
    with op.batch_alter_table('talk_discussions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thing_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_talk_discussions_thing_id'), ['thing_id'])
        batch_op.create_foreign_key(batch_op.f('fk_talk_discussions_thing_id_things'), 'things', ['thing_id'], ['id'],
                                    ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('talk_discussions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_talk_discussions_thing_id_things'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_talk_discussions_thing_id'), type_='unique')
        batch_op.drop_column('thing_id')
