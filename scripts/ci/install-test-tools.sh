#!/usr/bin/env bash
# Installs the system tools the tests use, when missing: buildah (builds and runs the Dockerfile
# without a Docker engine), Debian's Chromium (the browser playwright-core drives), redis-server
# (the shared-cache tests start their own), promtool (Debian's prometheus package; checks the
# gateway's /metrics output) and libjemalloc2 (the image's malloc; its stand-in base image copies
# it from here, and the bench preloads it as the image does). Needs root (or sudo) and Debian's
# package mirrors. Safe to run again.
set -euo pipefail
missing=()
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
compgen -G '/usr/lib/*-linux-gnu/libjemalloc.so.2' >/dev/null || missing+=(libjemalloc2)
if ((${#missing[@]} == 0)); then
  echo "buildah, chromium, redis-server, promtool and libjemalloc2 are installed."
  exit 0
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
