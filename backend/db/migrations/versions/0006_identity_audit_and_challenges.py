"""Access audit, verifications in progress and the attempt log behind lockouts and limits.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=True),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(200), nullable=True),
    )
    op.create_index("ix_access_audit_patient_at", "access_audit", ["patient_id", "at"])
    op.create_index("ix_access_audit_conversation_at", "access_audit", ["conversation_id", "at"])
    op.create_table(
        "identity_challenges",
        sa.Column(
            "conversation_id", sa.String(32), sa.ForeignKey("conversations.id"), primary_key=True
        ),
        sa.Column("candidates_ciphertext", sa.Text, nullable=False),
        sa.Column("patient_ciphertext", sa.Text, nullable=True),
        sa.Column("phone_key", sa.String(64), nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "identity_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_identity_attempts_key_kind_at", "identity_attempts", ["key", "kind", "at"])


def downgrade() -> None:
    op.drop_table("identity_attempts")
    op.drop_table("identity_challenges")
    op.drop_table("access_audit")
