"""Settings from the environment."""

from __future__ import annotations

import pytest

from experts_api import settings


def test_settings_are_read_from_the_environment():
    got = settings.from_env({
        "DATABASE_URL": "postgres://app:s3cret@db.internal/experts",
        "API_TOKEN_SHA256": "A" * 64,
        "VERSION": "1.4.2",
        "GIT_SHA": "4b825dc",
        "LOG_LEVEL": "debug",
        "CORS_ALLOW_ORIGINS": "https://app.example.com/, http://localhost:5173",
    })
    assert got == settings.Settings(database_url="postgresql://app:s3cret@db.internal/experts",
                                    token_sha256="a" * 64, version="1.4.2", git_sha="4b825dc",
                                    log_level="DEBUG",
                                    cors_origins=("https://app.example.com", "http://localhost:5173"))


def test_unset_values_have_development_defaults():
    got = settings.from_env({})
    assert (got.database_url, got.token_sha256, got.version, got.git_sha) == ("", None, "0.0.0-dev", "unknown")


def test_a_token_hash_that_is_not_sha256_is_refused_without_repeating_it():
    with pytest.raises(settings.SettingsError) as exc:
        settings.from_env({"API_TOKEN_SHA256": "my-plain-token"})
    assert "my-plain-token" not in str(exc.value)


def test_the_repr_hides_the_url_and_the_token_hash():
    got = repr(settings.from_env({"DATABASE_URL": "postgresql://app:s3cret@db/experts", "API_TOKEN_SHA256": "b" * 64}))
    assert "s3cret" not in got and "b" * 64 not in got
