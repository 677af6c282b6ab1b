// Package e2e holds the end-to-end test of the reference application under
// app/: a real PostgreSQL, the api's real migration script, the api, the MCP
// server and the built frontend served with the publisher's headers, gated
// by the real `deployctl smoke`. It has no code of its own; `bash .ci/test`
// installs what the test needs and names it in the environment:
//
//	EXPERTS_PG_BIN   the directory holding PostgreSQL's initdb, pg_ctl and createdb
//	EXPERTS_PYTHON   a python3 with FastAPI, Uvicorn, SQLAlchemy, Alembic,
//	                 psycopg2 and pytest (Debian's python3-* packages)
//
// node and npm come from PATH, and app/mcp and app/frontend need their
// node_modules (npm ci).
package e2e
