"""The tables the API reads and writes. The migrations under migrations/versions
create them; this module never does (no create_all)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Expert(Base):
    __tablename__ = "experts"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    topic = sa.Column(sa.String(200), nullable=False)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
    # Added by revision 0002 (expand-only: nullable, so code from before it
    # still inserts rows).
    bio = sa.Column(sa.Text, nullable=True)
