"""add a nullable bio to experts and index their topic

Expand-only: the column is nullable and nothing is renamed or dropped, so the
code of the previous release keeps working against this schema (a rollback
of the code never needs a downgrade of the database).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("experts", sa.Column("bio", sa.Text, nullable=True))
    op.create_index("ix_experts_topic", "experts", ["topic"])


def downgrade() -> None:
    op.drop_index("ix_experts_topic", table_name="experts")
    op.drop_column("experts", "bio")
