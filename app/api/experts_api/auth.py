"""Bearer-token authentication against a configured SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
from typing import Optional


def token_matches(authorization: Optional[str], token_sha256: Optional[str]) -> bool:
    """Reports whether an Authorization header carries the bearer token whose
    SHA-256 is token_sha256. With no digest configured nothing matches."""
    if not token_sha256 or not authorization:
        return False
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return False
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return hmac.compare_digest(digest, token_sha256)
