"""The experts HTTP API.

Run it with `python3 -m uvicorn --factory experts_api.main:app_from_env`, which
reads the settings from the environment; `create_app` builds one from explicit
settings (the tests do).
"""

from __future__ import annotations

import logging
from typing import List, Optional

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from . import auth, settings as settings_mod
from .models import Expert

log = logging.getLogger("experts_api")


class ExpertIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=200)
    topic: str = Field(..., min_length=1, max_length=200)
    bio: Optional[str] = Field(None, max_length=4000)


class ExpertOut(ExpertIn):
    id: int

    class Config:
        orm_mode = True


class ExpertList(BaseModel):
    experts: List[ExpertOut]
    count: int


class VersionOut(BaseModel):
    version: str
    sha: str


class Health(BaseModel):
    status: str
    database: Optional[str] = None
    schema_revision: Optional[str] = None
    reason: Optional[str] = None


def make_engine(database_url: str) -> Engine:
    """An engine that connects lazily, so the API starts (and reports 503)
    while the database is away. Connections time out quickly: a health check
    must answer within its own timeout."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                                connect_args={"connect_timeout": 3})
    return sa.create_engine(url)


def database_reason(exc: Exception) -> str:
    """A one-line reason for a database failure. It holds the driver's own
    message (host, port, user at most), never the URL or a password."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig).strip().splitlines()
        detail = text[0].strip() if text else type(exc.orig).__name__
        return f"database: {detail}"
    if isinstance(exc, SQLAlchemyError):
        return f"database: {type(exc).__name__}"
    return f"database: {type(exc).__name__}"


def create_app(config: settings_mod.Settings, engine: Optional[Engine] = None) -> FastAPI:
    if engine is None:
        if not config.database_url:
            raise settings_mod.SettingsError("DATABASE_URL is not set: set it to the database's SQLAlchemy URL")
        engine = make_engine(config.database_url)

    app = FastAPI(
        title="experts API",
        version=config.version,
        description="Lists and records the experts. /api/v1 needs a bearer token.",
    )
    if config.cors_origins:
        # The frontend's pages read /version from another origin. No
        # credentials: the bearer token is not a browser cookie.
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                           allow_methods=["GET"], allow_headers=["Authorization"], allow_credentials=False)
    bearer = HTTPBearer(auto_error=False, description="the API token")

    def require_token(request: Request, _: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> None:
        if not auth.token_matches(request.headers.get("authorization"), config.token_sha256):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="a valid bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    def db_session():
        with Session(engine) as session:
            yield session

    @app.get("/healthz", response_model=Health, response_model_exclude_none=True,
             responses={503: {"model": Health, "description": "the database cannot be used"}})
    def healthz():
        try:
            with engine.connect() as conn:
                revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError as exc:
            reason = database_reason(exc)
            if "alembic_version" in str(exc.orig):
                reason = "database: the schema is not migrated (no alembic_version table): run scripts/migrate.sh"
            log.warning("health check failed: %s", reason)
            return JSONResponse(status_code=503, content={"status": "unavailable", "reason": reason})
        except SQLAlchemyError as exc:
            reason = database_reason(exc)
            log.warning("health check failed: %s", reason)
            return JSONResponse(status_code=503, content={"status": "unavailable", "reason": reason})
        return Health(status="ok", database="ok", schema_revision=revision)

    @app.get("/version", response_model=VersionOut)
    def version():
        return VersionOut(version=config.version, sha=config.git_sha)

    @app.get("/api/v1/experts", response_model=ExpertList, dependencies=[Depends(require_token)])
    def list_experts(
        q: Optional[str] = Query(None, max_length=200, description="only experts whose name or topic contains this"),
        limit: int = Query(100, ge=1, le=500),
        session: Session = Depends(db_session),
    ):
        query = session.query(Expert)
        if q:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.filter(sa.or_(Expert.name.ilike(pattern, escape="\\"), Expert.topic.ilike(pattern, escape="\\")))
        rows = query.order_by(Expert.name, Expert.id).limit(limit).all()
        return ExpertList(experts=[ExpertOut.from_orm(r) for r in rows], count=len(rows))

    @app.post("/api/v1/experts", response_model=ExpertOut, status_code=201, dependencies=[Depends(require_token)])
    def create_expert(body: ExpertIn, session: Session = Depends(db_session)):
        expert = Expert(name=body.name, topic=body.topic, bio=body.bio)
        session.add(expert)
        session.commit()
        session.refresh(expert)
        return ExpertOut.from_orm(expert)

    return app


def app_from_env() -> FastAPI:
    """The app as the image runs it: `uvicorn --factory experts_api.main:app_from_env`."""
    config = settings_mod.from_env()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(config.log_level)
    log.propagate = False  # uvicorn logs its own lines; the root logger stays untouched
    if not config.token_sha256:
        log.warning("API_TOKEN_SHA256 is not set: every request to /api/v1 is refused with 401")
    log.info("experts api %s (sha %s) starting", config.version, config.git_sha)
    return create_app(config)
