#!/bin/bash
# Import all of France into a fresh SQLite and a fresh PostgreSQL database (local server on
# 127.0.0.1:5432, trust auth, database carpool_bench_fr created and dropped); prints times and sizes.
# Run: benchmarks/bench_gazetteer_import.sh
set -u
cd "$(dirname "$0")/.."
C=.venv/bin/carpool
out=${OUT:-/dev/stdout}
[ "$out" = /dev/stdout ] || : > "$out"
rm -f ${TMPDIR:-/tmp}/carpool-fr.db*
export DATABASE_URL=sqlite:///${TMPDIR:-/tmp}/carpool-fr.db
export SECRET_KEY=${SECRET_KEY:-bench-only-secret-key-not-for-production}
$C db upgrade >> $out 2>&1
echo "sqlite before: $(du -b ${TMPDIR:-/tmp}/carpool-fr.db | cut -f1)" >> $out
/usr/bin/time -f "sqlite --all: %e s wall, %U s user, %S s sys, %M KB max RSS" $C import-communes --all >> $out 2>&1
echo "sqlite after: $(du -b ${TMPDIR:-/tmp}/carpool-fr.db* | awk '{s+=$1} END {print s}')" >> $out
/usr/bin/time -f "sqlite --all again: %e s wall, %U s user, %S s sys" $C import-communes --all >> $out 2>&1
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS carpool_bench_fr" -c "CREATE DATABASE carpool_bench_fr" postgres >> $out 2>&1
psql -q -h 127.0.0.1 -U postgres -c "CREATE EXTENSION IF NOT EXISTS postgis" carpool_bench_fr >> $out 2>&1
export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/carpool_bench_fr
$C db upgrade >> $out 2>&1
psql -At -h 127.0.0.1 -U postgres -c "select 'pg before: ' || pg_database_size('carpool_bench_fr')" postgres >> $out
/usr/bin/time -f "postgresql --all: %e s wall, %U s user, %S s sys, %M KB max RSS" $C import-communes --all >> $out 2>&1
psql -At -h 127.0.0.1 -U postgres -c "VACUUM ANALYZE" carpool_bench_fr
psql -At -h 127.0.0.1 -U postgres -c "select 'pg after: ' || pg_database_size('carpool_bench_fr') || ' commune table+indexes: ' || pg_total_relation_size('commune')" carpool_bench_fr >> $out
/usr/bin/time -f "postgresql --all again: %e s wall, %U s user, %S s sys" $C import-communes --all >> $out 2>&1
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE carpool_bench_fr" postgres >> $out 2>&1
echo done >> $out
