"""Settings read once from the environment.

DATABASE_URL      the database (SQLAlchemy URL; postgres:// is accepted too)
API_TOKEN_SHA256  hex SHA-256 of the bearer token that /api/v1/experts accepts;
                  unset, every request there is refused with 401
VERSION, GIT_SHA  what /version reports (set from the image's build args)
LOG_LEVEL         logging level name, default info
CORS_ALLOW_ORIGINS  comma-separated origins whose pages may GET from the API
                  (the frontend's, such as https://app.example.com); default none
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Mapping, Optional, Tuple

_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class SettingsError(ValueError):
    """A setting has a value the API cannot use. The message never holds it."""


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str
    token_sha256: Optional[str]
    version: str
    git_sha: str
    log_level: str
    cors_origins: Tuple[str, ...] = ()

    def __repr__(self) -> str:  # keep the URL and the token hash out of logs
        return (
            f"Settings(database_url=<{'set' if self.database_url else 'unset'}>, "
            f"token_sha256=<{'set' if self.token_sha256 else 'unset'}>, "
            f"version={self.version!r}, git_sha={self.git_sha!r}, log_level={self.log_level!r}, "
            f"cors_origins={self.cors_origins!r})"
        )


def normalize_database_url(url: str) -> str:
    """SQLAlchemy 1.4 knows postgresql://, not the postgres:// that many hosts hand out."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://"):]
    return url


def from_env(env: Mapping[str, str] = os.environ) -> Settings:
    token = env.get("API_TOKEN_SHA256", "").strip().lower() or None
    if token is not None and not _HEX_SHA256.match(token):
        raise SettingsError("API_TOKEN_SHA256 is not 64 hex digits: set it to the SHA-256 of the token, "
                            "for example: printf %s \"$TOKEN\" | sha256sum")
    return Settings(
        database_url=normalize_database_url(env.get("DATABASE_URL", "").strip()),
        token_sha256=token,
        version=env.get("VERSION", "").strip() or "0.0.0-dev",
        git_sha=env.get("GIT_SHA", "").strip() or "unknown",
        log_level=env.get("LOG_LEVEL", "info").strip().upper() or "INFO",
        cors_origins=tuple(o.strip().rstrip("/") for o in env.get("CORS_ALLOW_ORIGINS", "").split(",") if o.strip()),
    )
