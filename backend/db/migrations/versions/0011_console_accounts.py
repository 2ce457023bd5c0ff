"""Console accounts: roles, the TOTP second factor, idle session expiry and the console audit.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinicians") as batch:
        batch.add_column(
            sa.Column("role", sa.String(16), nullable=False, server_default="clinician")
        )
        batch.add_column(sa.Column("totp_secret_ciphertext", sa.Text, nullable=True))
        batch.add_column(sa.Column("totp_pending_ciphertext", sa.Text, nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer, nullable=True))
    with op.batch_alter_table("clinician_sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "console_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinician_id", sa.Integer, sa.ForeignKey("clinicians.id"), nullable=True),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("handoff_id", sa.Integer, nullable=True),
        sa.Column("conversation_id", sa.String(64), nullable=True),
        sa.Column("patient_id", sa.String(64), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("detail", sa.String(200), nullable=True),
    )
    op.create_index("ix_console_audit_patient_at", "console_audit", ["patient_id", "at"])
    op.create_index("ix_console_audit_clinician_at", "console_audit", ["clinician_id", "at"])


def downgrade() -> None:
    op.drop_table("console_audit")
    with op.batch_alter_table("clinician_sessions") as batch:
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("clinicians") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_pending_ciphertext")
        batch.drop_column("totp_secret_ciphertext")
        batch.drop_column("role")
