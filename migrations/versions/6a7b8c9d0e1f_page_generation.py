"""page_generation: the number every committed write raises, which kept pages are keyed by (app/pagecache.py)

Revision ID: 6a7b8c9d0e1f
Revises: 5e1f0c2a9b7d
Create Date: 2026-12-07 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6a7b8c9d0e1f'
down_revision = '5e1f0c2a9b7d'
branch_labels = None
depends_on = None


# Written by hand. The row is made here, so a page can be kept from the first request;
# the first write would make it otherwise (app/pagecache.py).


def upgrade():
    table = op.create_table('page_generation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page_generation'))
    )
    op.bulk_insert(table, [{'id': 1, 'n': 1}])


def downgrade():
    op.drop_table('page_generation')
