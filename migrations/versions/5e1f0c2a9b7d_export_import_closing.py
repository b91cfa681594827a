"""export, import and closing: a member's choice to let their address leave in the circle's export,
places to claim in an imported circle, a circle's closing and the links a closed circle leaves

Revision ID: 5e1f0c2a9b7d
Revises: 5d3e8a1f0c27
Create Date: 2026-12-07 12:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1f0c2a9b7d'
down_revision = '5d3e8a1f0c27'
branch_labels = None
depends_on = None


# Written by hand. memberships.share_email is off for everyone until they say yes.


def upgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_email', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('circles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('imported_from', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_circles_imported_from'), ['imported_from'])
    op.create_table('circle_places',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('offers', sa.String(length=300), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('share_email', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('member', 'steward')", name=op.f('ck_circle_places_role')),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], name=op.f('fk_circle_places_circle_id_circles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_circle_places_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circle_places')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_circle_places_token_hash')),
    sa.UniqueConstraint('user_id', name=op.f('uq_circle_places_user_id'))
    )
    with op.batch_alter_table('circle_places', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_circle_places_circle_id'), ['circle_id'], unique=False)
    op.create_table('circle_closings',
    sa.Column('circle_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delete_after', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], name=op.f('fk_circle_closings_circle_id_circles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['talk_proposals.id'], name=op.f('fk_circle_closings_proposal_id_talk_proposals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_circle_closings_proposed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('circle_id', name=op.f('pk_circle_closings')),
    sa.UniqueConstraint('proposal_id', name=op.f('uq_circle_closings_proposal_id'))
    )
    op.create_table('closed_links',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_closed_links'))
    )


def downgrade():
    op.drop_table('closed_links')
    op.drop_table('circle_closings')
    with op.batch_alter_table('circle_places', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_circle_places_circle_id'))
    op.drop_table('circle_places')
    with op.batch_alter_table('circles', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_circles_imported_from'), type_='unique')
        batch_op.drop_column('imported_from')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('share_email')
