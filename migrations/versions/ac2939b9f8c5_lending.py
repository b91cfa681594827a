"""lending: things, keepers, photos, reservations that never overlap, waitlists

Revision ID: ac2939b9f8c5
Revises: 3c1a7e0d5b21
Create Date: 2026-11-29 09:16:03.391877

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'ac2939b9f8c5'
down_revision = '3c1a7e0d5b21'
branch_labels = None
depends_on = None

# Reviewed by hand. Autogenerate wrote the exclusion constraint into
# create_table, which SQLite cannot compile: it is added below on PostgreSQL
# only, after btree_gist (for "thing_id WITH ="), as the model's DDL event does
# for create_all(). CREATE EXTENSION needs the CREATE privilege on the database
# (see README); on SQLite the overlap rule is checked in the write unit.
NO_OVERLAP = ("ALTER TABLE reservations ADD CONSTRAINT ex_reservations_no_overlap EXCLUDE USING gist "
              "(thing_id WITH =, daterange(start_date, blocked_until, '[]') WITH &&) "
              "WHERE (status IN ('accepted', 'out'))")


def upgrade():
    op.create_table('things',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('circle_owned', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description_source', sa.Text(), nullable=False),
    sa.Column('description_html', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('condition', sa.String(length=20), nullable=False),
    sa.Column('pickup_place', sa.String(length=200), nullable=False),
    sa.Column('house_rules', sa.String(length=500), nullable=False),
    sa.Column('max_loan_days', sa.Integer(), nullable=False),
    sa.Column('buffer_days', sa.Integer(), nullable=False),
    sa.Column('auto_accept', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('status_reason', sa.String(length=300), nullable=False),
    sa.Column('photo_hash', sa.String(length=64), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('available', 'repair', 'retired')", name=op.f('ck_things_status')),
    sa.CheckConstraint('buffer_days >= 0 AND buffer_days <= 30', name=op.f('ck_things_buffer_range')),
    sa.CheckConstraint('max_loan_days >= 1 AND max_loan_days <= 365', name=op.f('ck_things_max_loan_range')),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], name=op.f('fk_things_circle_id_circles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_things_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_things'))
    )
    with op.batch_alter_table('things', schema=None) as batch_op:
        batch_op.create_index('ix_things_circle_id_category', ['circle_id', 'category'], unique=False)
        batch_op.create_index(batch_op.f('ix_things_owner_id'), ['owner_id'], unique=False)

    op.create_table('thing_keepers',
    sa.Column('thing_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['thing_id'], ['things.id'], name=op.f('fk_thing_keepers_thing_id_things'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_thing_keepers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('thing_id', 'user_id', name=op.f('pk_thing_keepers'))
    )
    with op.batch_alter_table('thing_keepers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thing_keepers_user_id'), ['user_id'], unique=False)

    op.create_table('thing_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thing_id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('small', sa.LargeBinary(), nullable=False),
    sa.Column('large', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['thing_id'], ['things.id'], name=op.f('fk_thing_photos_thing_id_things'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thing_photos')),
    sa.UniqueConstraint('thing_id', 'content_hash', name=op.f('uq_thing_photos_thing_id_content_hash'))
    )
    with op.batch_alter_table('thing_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thing_photos_content_hash'), ['content_hash'], unique=False)

    op.create_table('thing_waitlist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thing_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('offer_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('waiting', 'offered', 'expired', 'taken', 'gone')", name=op.f('ck_thing_waitlist_status')),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_thing_waitlist_ends_after_start')),
    sa.ForeignKeyConstraint(['thing_id'], ['things.id'], name=op.f('fk_thing_waitlist_thing_id_things'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_thing_waitlist_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thing_waitlist'))
    )
    with op.batch_alter_table('thing_waitlist', schema=None) as batch_op:
        batch_op.create_index('ix_thing_waitlist_thing_id_status', ['thing_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_thing_waitlist_user_id'), ['user_id'], unique=False)

    op.create_table('reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thing_id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('blocked_until', sa.Date(), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('answer_note', sa.String(length=500), nullable=False),
    sa.Column('gathering_id', sa.Integer(), nullable=True),
    sa.Column('pickup_note', sa.String(length=500), nullable=False),
    sa.Column('return_note', sa.String(length=500), nullable=False),
    sa.Column('picked_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_by_borrower_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_by_owner_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_told_on', sa.Date(), nullable=True),
    sa.Column('due_told_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('requested', 'accepted', 'out', 'returned', 'declined', 'cancelled')", name=op.f('ck_reservations_status')),
    sa.CheckConstraint('blocked_until >= end_date', name=op.f('ck_reservations_blocked_after_end')),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_reservations_ends_after_start')),
    sa.ForeignKeyConstraint(['borrower_id'], ['users.id'], name=op.f('fk_reservations_borrower_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], name=op.f('fk_reservations_gathering_id_gatherings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['thing_id'], ['things.id'], name=op.f('fk_reservations_thing_id_things'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reservations_borrower_id'), ['borrower_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reservations_gathering_id'), ['gathering_id'], unique=False)
        batch_op.create_index('ix_reservations_thing_id_start_date', ['thing_id', 'start_date'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(NO_OVERLAP)


def downgrade():
    # The constraint goes with its table; btree_gist stays (dropping an
    # extension is the database owner's choice).
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.drop_index('ix_reservations_thing_id_start_date')
        batch_op.drop_index(batch_op.f('ix_reservations_gathering_id'))
        batch_op.drop_index(batch_op.f('ix_reservations_borrower_id'))

    op.drop_table('reservations')
    with op.batch_alter_table('thing_waitlist', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thing_waitlist_user_id'))
        batch_op.drop_index('ix_thing_waitlist_thing_id_status')

    op.drop_table('thing_waitlist')
    with op.batch_alter_table('thing_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thing_photos_content_hash'))

    op.drop_table('thing_photos')
    with op.batch_alter_table('thing_keepers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thing_keepers_user_id'))

    op.drop_table('thing_keepers')
    with op.batch_alter_table('things', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_things_owner_id'))
        batch_op.drop_index('ix_things_circle_id_category')

    op.drop_table('things')
