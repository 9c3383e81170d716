#!/usr/bin/env bash
# Back up telejt's PostgreSQL database to one file (pg_dump's custom format: compressed,
# restorable table by table). Run it from cron; keep copies off the host; the dump holds
# clinical records: store it encrypted and readable only by whoever may read the database.
#
#   deploy/backup.sh postgresql://telejt:…@host:5432/telejt /backups/telejt-$(date +%F).dump
set -euo pipefail
url="${1:?usage: backup.sh DATABASE_URL FILE}"
file="${2:?usage: backup.sh DATABASE_URL FILE}"
umask 077
pg_dump --format=custom --no-owner --no-privileges --file="$file" "$url"
echo "telejt: backed up to $file ($(du -h "$file" | cut -f1))"
