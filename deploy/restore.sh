#!/usr/bin/env bash
# Restore a dump made by deploy/backup.sh into a database, replacing what it holds.
# Stop the web and scheduler processes first; afterwards run `telejt db upgrade` (a dump
# of an older release is brought up to date) and start them again.
#
#   deploy/restore.sh postgresql://telejt:…@host:5432/telejt /backups/telejt-2026-12-01.dump
set -euo pipefail
url="${1:?usage: restore.sh DATABASE_URL FILE}"
file="${2:?usage: restore.sh DATABASE_URL FILE}"
pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error \
    --single-transaction --dbname="$url" "$file"
echo "telejt: restored $file"
