"""Web chat sessions: server-issued tokens (a keyed hash only) with idle and absolute expiry.

Web chat conversations opened before this revision were keyed by a token the browser chose;
no session row names them, so a tab presenting such a token starts a new conversation.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webchat_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("address_ciphertext", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webchat_sessions_created_at", "webchat_sessions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_webchat_sessions_created_at", table_name="webchat_sessions")
    op.drop_table("webchat_sessions")
