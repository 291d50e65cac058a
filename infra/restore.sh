#!/usr/bin/env bash
# Restore a backup made by backup.sh into an EMPTY database and bucket, then verify the audit chain.
# Usage: DATABASE_URL=postgresql://... S3_BUCKET=... infra/restore.sh /backups/20260101T000000Z
set -euo pipefail
src="${1:?usage: restore.sh BACKUP_DIR}"
pg_restore --no-owner --exit-on-error --dbname="${DATABASE_URL/postgresql+asyncpg/postgresql}" "$src/makeready.dump"
if [ -n "${S3_BUCKET:-}" ]; then
  aws s3 sync ${S3_ENDPOINT_URL:+--endpoint-url "$S3_ENDPOINT_URL"} "$src/media" "s3://$S3_BUCKET"
else
  mkdir -p "${MEDIA_ROOT:-var/media}" && cp -a "$src/media/." "${MEDIA_ROOT:-var/media}/"
fi
makeready db upgrade
makeready audit verify
