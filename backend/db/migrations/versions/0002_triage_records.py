"""Finished triages, for clinicians.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "triage_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id", sa.String(32), sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("rule_ids", sa.JSON, nullable=False),
        sa.Column("summary_ciphertext", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_triage_records_conversation_id", "triage_records", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_triage_records_conversation_id", table_name="triage_records")
    op.drop_table("triage_records")
