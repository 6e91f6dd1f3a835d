#!/usr/bin/env bash
# Install the Debian packages the project needs, only when one is missing.
#   libsqlite3-mod-spatialite  SpatiaLite for the embedded database
#   postgresql-15-postgis-3    PostGIS (and PostgreSQL 15) for the production backend and its tests
#   chromium                   the browser the Playwright tests drive
# Usage: scripts/system-deps.sh [run|test]   ("run" needs only SpatiaLite)
set -euo pipefail
case "${1:-test}" in
  run) packages=(libsqlite3-mod-spatialite) ;;
  *) packages=(libsqlite3-mod-spatialite postgresql-15-postgis-3 chromium) ;;
esac
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installation des paquets système manquants : ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
