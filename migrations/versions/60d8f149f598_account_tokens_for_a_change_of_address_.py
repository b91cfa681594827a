"""account tokens for a change of address: the address they are about

Revision ID: 60d8f149f598
Revises: b19c458531ef
Create Date: 2026-11-29 06:39:56.254387

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '60d8f149f598'
down_revision = 'b19c458531ef'
branch_labels = None
depends_on = None


# Reviewed by hand: autogenerate saw the column and its index but cannot see
# CHECK constraints, so the purpose check is widened and the email check added
# here. On SQLite the batch copies the table (ALTER cannot change a CHECK).

PURPOSES_BEFORE = "purpose IN ('verify', 'reset')"
PURPOSES_AFTER = "purpose IN ('verify', 'reset', 'change', 'undo')"
# Links about a change of address carry the address they are about; others none.
EMAIL_CHECK = "(purpose IN ('change', 'undo')) = (email IS NOT NULL)"


def upgrade():
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=320), nullable=True))
        batch_op.create_index(batch_op.f('ix_account_tokens_email'), ['email'], unique=False)
        batch_op.drop_constraint(batch_op.f('ck_account_tokens_purpose'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_account_tokens_purpose'), PURPOSES_AFTER)
        batch_op.create_check_constraint(batch_op.f('ck_account_tokens_email'), EMAIL_CHECK)


def downgrade():
    # The older schema has no place for these links: they go (the addresses
    # they would confirm or give back are lost with them).
    op.execute("DELETE FROM account_tokens WHERE purpose IN ('change', 'undo')")
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_account_tokens_email'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_account_tokens_purpose'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_account_tokens_purpose'), PURPOSES_BEFORE)
        batch_op.drop_index(batch_op.f('ix_account_tokens_email'))
        batch_op.drop_column('email')
