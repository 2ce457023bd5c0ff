"""Phone turns from a job queue: when a stored patient message was answered, and the text the
assistant gets for it when that differs from what the patient saw (a picked button's payload).

A phone webhook is acknowledged as soon as its message is stored; a queue worker answers it
later. `handled_at` is what makes a retried job (a worker killed mid-turn) answer once.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("assistant_text_ciphertext", sa.Text, nullable=True))
    # Every message stored before this revision was answered in its own request.
    op.execute("UPDATE messages SET handled_at = created_at WHERE direction = 'in'")


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("assistant_text_ciphertext")
        batch.drop_column("handled_at")
