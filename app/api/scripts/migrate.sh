#!/bin/sh
# Brings the database at $DATABASE_URL to the newest schema: alembic upgrade
# head. A database already there is left as it is (exit 0). Exits non-zero,
# with Alembic's error on stderr, when a migration fails; a failed revision
# is rolled back (one transaction per revision). The URL is never printed.
#
#   DATABASE_URL=postgresql://user:password@host/db scripts/migrate.sh
#
# PYTHON names the interpreter (default python3).
set -eu
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
	echo "migrate: DATABASE_URL is not set" >&2
	exit 2
fi
echo "migrate: alembic upgrade head" >&2
"${PYTHON:-python3}" -m alembic -c alembic.ini upgrade head
echo "migrate: the database is at head" >&2
