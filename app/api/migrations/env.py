"""Alembic environment: online migrations against DATABASE_URL.

The URL goes straight to create_engine and is never logged or put into the
Alembic config (whose interpolation would also mangle a '%' in a password).
"""

from __future__ import annotations

import os
import sys
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from experts_api.models import Base  # noqa: E402
from experts_api.settings import normalize_database_url  # noqa: E402

target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = normalize_database_url(os.environ.get("DATABASE_URL", "").strip())
    if not url:
        raise SystemExit("migrate: DATABASE_URL is not set")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("migrate: offline (--sql) mode is not supported; run against DATABASE_URL")
run_migrations_online()
