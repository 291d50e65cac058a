#!/usr/bin/env bash
# Back up the database (custom-format pg_dump) and the media bucket to a dated folder.
# Usage: DATABASE_URL=postgresql://... S3_BUCKET=... infra/backup.sh /backups
set -euo pipefail
dest="${1:?usage: backup.sh DEST_DIR}/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dest"
# sign the audit chain's head first and keep the line beside the dump: a copy of the anchor outside the database,
# so `makeready audit verify` after a restore shows whether the newest events survived unchanged
makeready audit checkpoint | tee "$dest/audit-checkpoint.txt"
pg_dump --format=custom --no-owner --dbname="${DATABASE_URL/postgresql+asyncpg/postgresql}" --file="$dest/makeready.dump"
if [ -n "${S3_BUCKET:-}" ]; then
  aws s3 sync ${S3_ENDPOINT_URL:+--endpoint-url "$S3_ENDPOINT_URL"} "s3://$S3_BUCKET" "$dest/media"
else
  cp -a "${MEDIA_ROOT:-var/media}" "$dest/media"
fi
echo "backup written to $dest"
