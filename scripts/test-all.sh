#!/usr/bin/env bash
# The whole suite on SpatiaLite, then on PostGIS.
# PostGIS: TEST_POSTGRES_URL (an admin URL; each run creates and drops its own database),
# or else a throwaway cluster started here and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
export PYTHONDONTWRITEBYTECODE=1

# Each pass gets its own temp root: pytest rotates /tmp/pytest-of-$USER, and a second session
# started meanwhile (another run, an editor) would delete the databases of this one.
scratch=$(mktemp -d /tmp/carpool-tests.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

echo "== tests sur SQLite + SpatiaLite"
CARPOOL_TEST_BACKEND=sqlite $py -m pytest -q --basetemp="$scratch/sqlite" ${PYTEST_MARKERS:+-m "$PYTEST_MARKERS"} "$@"

echo "== tests sur PostgreSQL + PostGIS"
cluster=""
if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  cluster=$(mktemp -d /tmp/carpool-pg.XXXXXX)
  trap 'scripts/throwaway-postgis.sh stop "$cluster"; rm -rf "$scratch"' EXIT
  TEST_POSTGRES_URL=$(scripts/throwaway-postgis.sh start "$cluster")
  export TEST_POSTGRES_URL
fi
CARPOOL_TEST_BACKEND=postgresql $py -m pytest -q --basetemp="$scratch/postgresql" ${PYTEST_MARKERS:+-m "$PYTEST_MARKERS"} "$@"
