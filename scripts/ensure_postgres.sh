#!/usr/bin/env bash
# Make sure the local PostgreSQL test server is up and the hpo_test database exists, empty:
# it is a scratch database, recreated on every run so that no schema left behind by an
# earlier run (or another checkout of another hpo version) can fail or skew the tests.
# Under CI=true a missing server is an error (the PostgreSQL tests must run there);
# elsewhere the tests that need it skip and say why.
set -u
HOST=${HPO_PG_HOST:-127.0.0.1}
PORT=${HPO_PG_PORT:-5432}
DB=${HPO_PG_DB:-hpo_test}
if ! command -v pg_isready >/dev/null 2>&1; then
  echo "ensure_postgres: no PostgreSQL client tools here; PostgreSQL tests will skip."
  [ "${CI:-}" = "true" ] && echo "ensure_postgres: CI=true but no PostgreSQL tools" >&2
  exit 0
fi
if ! pg_isready -h "$HOST" -p "$PORT" -q; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
    for _ in $(seq 1 20); do pg_isready -h "$HOST" -p "$PORT" -q && break; sleep 0.5; done
  fi
fi
if pg_isready -h "$HOST" -p "$PORT" -q; then
  psql -h "$HOST" -p "$PORT" -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  psql -h "$HOST" -p "$PORT" -U postgres -qc "CREATE DATABASE $DB" >/dev/null
  echo "ensure_postgres: PostgreSQL at $HOST:$PORT, database $DB ready."
else
  echo "ensure_postgres: PostgreSQL at $HOST:$PORT is not reachable; PostgreSQL tests will skip."
fi
exit 0
