"""The migration chain and the expand-only rule."""

from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from conftest import API_DIR, alembic_config, migrate


def test_the_revisions_form_one_chain_with_one_head():
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == ["0002"]
    chain = [rev.revision for rev in scripts.walk_revisions()]
    assert chain == ["0002", "0001"]


def test_upgrading_twice_changes_nothing_the_second_time(database_url, monkeypatch):
    migrate(database_url, monkeypatch)
    engine = sa.create_engine(database_url)
    before = sa.inspect(engine).get_columns("experts")
    migrate(database_url, monkeypatch)
    after = sa.inspect(sa.create_engine(database_url)).get_columns("experts")
    assert [c["name"] for c in after] == [c["name"] for c in before]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0002"


def test_the_previous_releases_queries_work_on_the_new_schema(database_url, monkeypatch):
    # What the code of revision 0001 ran: insert and select without bio.
    migrate(database_url, monkeypatch)
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO experts (name, topic) VALUES ('Barbara Liskov', 'abstraction')"))
        rows = conn.execute(sa.text("SELECT id, name, topic, created_at FROM experts")).all()
    assert [(r.name, r.topic) for r in rows] == [("Barbara Liskov", "abstraction")]


def test_migrate_sh_refuses_to_run_without_database_url():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHON"] = sys.executable
    proc = subprocess.run([str(API_DIR / "scripts" / "migrate.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "migrate: DATABASE_URL is not set"


def test_migrate_sh_upgrades_to_head_without_printing_the_url(database_url):
    env = dict(os.environ, DATABASE_URL=database_url, PYTHON=sys.executable)
    for _ in range(2):
        proc = subprocess.run([str(API_DIR / "scripts" / "migrate.sh")], env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert database_url not in proc.stdout + proc.stderr
    assert "migrate: the database is at head" in proc.stderr
