#!/usr/bin/env bash
# Regenerates stacks/publish/contenttypes_table.go from the pinned mime-db
# release on npm (run by `go generate ./stacks/publish`).
set -euo pipefail
version=1.54.0
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "mime-db@$version" >/dev/null && tar xzf "mime-db-$version.tgz")
cd "$here/../.."
go run ./internal/mimegen -db "$work/package/db.json" -version "$version" -o contenttypes_table.go
