"""The API's endpoints over a migrated database."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings
from experts_api import main


def test_healthz_reports_ok_and_the_schema_revision(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "ok", "database": "ok", "schema_revision": "0002"}


def test_healthz_is_503_with_the_reason_when_the_database_cannot_be_opened(tmp_path):
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'experts.db'}"
    engine = main.make_engine(url)
    with TestClient(main.create_app(make_settings(url), engine)) as c:
        resp = c.get("/healthz")
    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "unavailable"
    assert body["reason"].startswith("database: "), body
    assert "unable to open database file" in body["reason"]


def test_healthz_is_503_when_the_schema_is_not_migrated(database_url):
    engine = main.make_engine(database_url)
    with TestClient(main.create_app(make_settings(database_url), engine)) as c:
        resp = c.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["reason"] == (
        "database: the schema is not migrated (no alembic_version table): run scripts/migrate.sh")


def test_version_reports_the_configured_version_and_sha(client):
    resp = client.get("/version")
    assert resp.status_code == 200
    assert resp.json() == {"version": "1.4.2", "sha": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": "Basic dGVzdC10b2tlbi0wMTIzNDU2Nzg5"},
    {"Authorization": "Bearer"},
    {"Authorization": "test-token-0123456789"},
], ids=["no header", "wrong token", "basic scheme", "empty bearer", "token without scheme"])
def test_experts_are_refused_without_the_right_bearer_token(client, headers):
    for method in ("GET", "POST"):
        resp = client.request(method, "/api/v1/experts", headers=headers, json={"name": "a", "topic": "b"})
        assert resp.status_code == 401, (method, resp.text)
        assert resp.headers["www-authenticate"] == "Bearer"
        assert "experts" not in resp.json()


def test_experts_are_refused_when_no_token_is_configured(migrated, auth_header):
    engine = main.make_engine(migrated)
    with TestClient(main.create_app(make_settings(migrated, token_sha256=None), engine)) as c:
        assert c.get("/api/v1/experts", headers=auth_header).status_code == 401


def test_created_experts_are_listed_by_name(client, auth_header):
    for name, topic in [("Grace Hopper", "compilers"), ("Ada Lovelace", "analytical engines")]:
        resp = client.post("/api/v1/experts", headers=auth_header, json={"name": name, "topic": topic})
        assert resp.status_code == 201, resp.text
    resp = client.get("/api/v1/experts", headers=auth_header)
    assert resp.status_code == 200
    got = [(e["name"], e["topic"], e["bio"]) for e in resp.json()["experts"]]
    assert got == [("Ada Lovelace", "analytical engines", None), ("Grace Hopper", "compilers", None)]
    assert resp.json()["count"] == 2


def test_search_matches_name_or_topic_and_treats_wildcards_literally(client, auth_header):
    for name, topic in [("Grace Hopper", "compilers"), ("Edsger Dijkstra", "shortest paths"),
                        ("Percy 100%", "percentages")]:
        client.post("/api/v1/experts", headers=auth_header, json={"name": name, "topic": topic, "bio": "x"})
    cases = {"COMPIL": ["Grace Hopper"], "dijk": ["Edsger Dijkstra"], "%": ["Percy 100%"], "_": [], "nobody": []}
    for q, want in cases.items():
        resp = client.get("/api/v1/experts", headers=auth_header, params={"q": q})
        assert resp.status_code == 200
        assert [e["name"] for e in resp.json()["experts"]] == want, q


def test_an_invalid_expert_is_rejected_with_422(client, auth_header):
    resp = client.post("/api/v1/experts", headers=auth_header, json={"name": "", "topic": "x"})
    assert resp.status_code == 422


def test_openapi_lists_the_paths_and_the_bearer_scheme(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["version"] == "1.4.2"
    for path in ("/healthz", "/version", "/api/v1/experts"):
        assert path in doc["paths"], path
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert doc["paths"]["/api/v1/experts"]["get"]["security"] == [{"HTTPBearer": []}]


def test_the_frontends_origin_may_read_the_version(migrated):
    config = dataclasses.replace(make_settings(migrated), cors_origins=("https://app.example.com",))
    engine = main.make_engine(migrated)
    with TestClient(main.create_app(config, engine)) as c:
        allowed = c.get("/version", headers={"Origin": "https://app.example.com"})
        other = c.get("/version", headers={"Origin": "https://evil.example.com"})
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers
