"""The experts HTTP API: FastAPI over SQLAlchemy, schema managed by Alembic."""
