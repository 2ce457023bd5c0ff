"""identity_challenges.phone_key holds "p:" and a 64-character keyed hash: 66 characters, as
long as identity_attempts.key (80) allows. SQLite ignored the old 64; PostgreSQL refused the
insert, so no code could be sent (found by the scaled profile's end-to-end test).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_challenges") as batch:
        batch.alter_column(
            "phone_key", existing_type=sa.String(64), type_=sa.String(80), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_challenges") as batch:
        batch.alter_column(
            "phone_key", existing_type=sa.String(80), type_=sa.String(64), existing_nullable=True
        )
