#!/usr/bin/env bash
# System packages Makeready needs on Debian: fonts and libraries for WeasyPrint, Chromium for browser tests.
# Installs only what is missing; needs root (or sudo) the first time.
set -euo pipefail
need=()
# fonts-wqy-microhei: the CJK face spec PDFs embed (makeready/specs/pdf.py loads it by @font-face, found with fontconfig's
# fc-match); WenQuanYi Micro Hei subsets in a fraction of the time Noto Sans CJK's collection takes (DESIGN.md section 6)
for pkg in "$@" chromium fonts-wqy-microhei fontconfig libpango-1.0-0 libpangoft2-1.0-0 poppler-utils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing system packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
