"""Fixtures: a migrated database for each test and an app over it.

The database is a fresh SQLite file by default. With TEST_DATABASE_URL set
(the end-to-end test sets it to its PostgreSQL), each test gets that database
with its public schema emptied and migrated again.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import sys

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient

API_DIR = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(API_DIR))

from experts_api import main, settings  # noqa: E402

TOKEN = "test-token-0123456789"
TOKEN_SHA256 = hashlib.sha256(TOKEN.encode()).hexdigest()


def alembic_config() -> Config:
    cfg = Config(str(API_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(API_DIR / "migrations"))
    return cfg


def migrate(url: str, monkeypatch, revision: str = "head") -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    command.upgrade(alembic_config(), revision)


@pytest.fixture
def database_url(tmp_path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'experts.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def migrated(database_url, monkeypatch) -> str:
    migrate(database_url, monkeypatch)
    return database_url


def make_settings(url: str, token_sha256=TOKEN_SHA256) -> settings.Settings:
    return settings.Settings(database_url=url, token_sha256=token_sha256,
                             version="1.4.2", git_sha="4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                             log_level="INFO")


@pytest.fixture
def client(migrated):
    engine = main.make_engine(migrated)
    with TestClient(main.create_app(make_settings(migrated), engine)) as c:
        yield c
    engine.dispose()


@pytest.fixture
def auth_header():
    return {"Authorization": f"Bearer {TOKEN}"}
