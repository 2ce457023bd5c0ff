"""Which FHIR Patient each conversation is verified as.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_verifications",
        sa.Column(
            "conversation_id", sa.String(32), sa.ForeignKey("conversations.id"), primary_key=True
        ),
        sa.Column("patient_ciphertext", sa.Text, nullable=False),
        sa.Column("dependants_ciphertext", sa.Text, nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("identity_verifications")
