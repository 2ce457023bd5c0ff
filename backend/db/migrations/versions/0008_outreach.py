"""Scheduled outreach: contacts, the outbox that makes each message exactly once, pauses.

APScheduler's own job table (`outreach_jobs`) is created by its job store when the scheduler
first starts, in the same database.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_contacts",
        sa.Column("patient_hash", sa.String(64), primary_key=True),
        sa.Column("patient_ciphertext", sa.Text, nullable=False),
        sa.Column(
            "conversation_id", sa.String(32), sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("consents", sa.JSON, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_outreach_contacts_conversation_id", "outreach_contacts", ["conversation_id"]
    )
    op.create_table(
        "outreach_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("job_id", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("patient_hash", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("capped", sa.Boolean, nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_mark", sa.Integer, nullable=False),
        sa.Column("message_mark", sa.Integer, nullable=False),
    )
    op.create_index("ix_outreach_outbox_job_id", "outreach_outbox", ["job_id"])
    op.create_index(
        "ix_outreach_outbox_patient_at", "outreach_outbox", ["patient_hash", "claimed_at"]
    )
    op.create_table(
        "outreach_pauses",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outreach_pauses")
    op.drop_index("ix_outreach_outbox_patient_at", "outreach_outbox")
    op.drop_index("ix_outreach_outbox_job_id", "outreach_outbox")
    op.drop_table("outreach_outbox")
    op.drop_index("ix_outreach_contacts_conversation_id", "outreach_contacts")
    op.drop_table("outreach_contacts")
