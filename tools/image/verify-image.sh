#!/usr/bin/env bash
# Rebuilds the app's image from a commit and compares it with a published one: "same", or
# "different" with the first layer and the files that differ. For people who did not build the
# image: what `iexec app show` prints (multiaddr and checksum) and the commit are enough.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"

usage() {
  cat <<USAGE
Usage: tools/image/verify-image.sh [--checksum 0xHEX] IMAGE COMMIT [tdx|scone]

Rebuilds COMMIT's image (tdx: Dockerfile, the default; scone: Dockerfile.scone, the native
image sconify took) with podman, as tools/image/podman-image.sh build does (the commit's own scripts,
SOURCE_DATE_EPOCH = the commit's time unless set), and compares it with IMAGE:
  same       the same image id: the same configuration and the same bytes in every layer
  different  the first layer that differs, and the files added, changed or deleted
IMAGE is what podman pulls: a registry reference (iexec app show's multiaddr, e.g.
docker.io/me/iexec-counter-app:1.0.0), or oci-archive:FILE, docker-archive:FILE.
  --checksum 0xHEX   iexec app show's checksum: IMAGE is pulled by that digest, so the image
                     compared is the one the app names (podman checks the digest)
Works in its own store (.cache/verify; PODMAN_IMAGE_STORE names another), so that the images
of tools/image/podman-image.sh are left alone. Exit code: 0 same, 1 different, 2 bad usage.
USAGE
}

die() {
  echo "verify-image.sh: $*" >&2
  exit 2
}

checksum=""
positional=()
while (($# > 0)); do
  case "$1" in
    --checksum) checksum="${2:?--checksum needs 0x and 64 hex digits}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) positional+=("$1"); shift ;;
  esac
done
((${#positional[@]} == 2 || ${#positional[@]} == 3)) || die "IMAGE and COMMIT are needed, and at most a target (see --help)"
image="${positional[0]}" commit="${positional[1]}" target="${positional[2]:-tdx}"
[[ "$target" == tdx || "$target" == scone ]] || die "the targets are tdx and scone, not: $target"
if [[ -n "$checksum" ]]; then
  [[ "$checksum" =~ ^0x[0-9a-f]{64}$ ]] || die "--checksum must be 0x and 64 lowercase hex digits, got: $checksum"
  image="${image%%@*}@sha256:${checksum#0x}"
fi
git -C "$root" rev-parse --verify --quiet "$commit^{commit}" >/dev/null || die "no such commit here: $commit"

export PODMAN_IMAGE_STORE="${PODMAN_IMAGE_STORE:-$root/.cache/verify}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$root" show -s --format=%ct "$commit")}"
checkout="$(mktemp -d)"
trap 'rm -rf "$checkout"' EXIT
git -C "$root" archive "$commit" | tar -x -C "$checkout"
# This checkout's downloads (Node, npm; integrity checked by the commit's script) are shared.
mkdir -p "$root/.cache"
ln -s "$root/.cache" "$checkout/.cache"
# The commit's own script: tools/image/ since tools/ was laid out by job, tools/ before.
script="$checkout/tools/image/podman-image.sh"
[[ -f "$script" ]] || script="$checkout/tools/podman-image.sh"
podman_image() { bash "$script" "$@"; }

# The published image first, by id: the rebuild may take the same local name.
published="$(podman_image podman pull --quiet "$image" | tail -n 1)" || die "cannot pull $image"
echo "verify-image.sh: rebuilding $target from $commit (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)" >&2
rebuilt="$(podman_image build "$target")"

if [[ "$published" == "$rebuilt" ]]; then
  echo "same: $image is $commit's $target image (id sha256:$rebuilt)"
  exit 0
fi

echo "different: $image (id sha256:$published) is not $commit's $target image (id sha256:$rebuilt)"
layers() { podman_image podman image inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' "$1" | sed '/^$/d'; }
mapfile -t theirs < <(layers "$published")
mapfile -t ours < <(layers "$rebuilt")
for ((i = 0; i < ${#theirs[@]} || i < ${#ours[@]}; i++)); do
  if [[ "${theirs[i]:-none}" != "${ours[i]:-none}" ]]; then
    echo "  first different layer: #$((i + 1)) (published ${theirs[i]:-none}, rebuilt ${ours[i]:-none})"
    break
  fi
done
if [[ "${theirs[*]}" == "${ours[*]}" ]]; then
  echo "  every layer is the same: the configuration differs (entrypoint, environment, dates or history)"
fi
# By content: podman's own image diff compares sizes and times, the same in a one-byte change.
# Each file: its sha256, or its type, mode, owner and link target.
listing() {
  (
    cd "$1"
    find . -mindepth 1 ! -type f -printf '/%P\t%y %m %U:%G %l\n'
    find . -type f -print0 | xargs -0 -r sha256sum | sed -E 's#^([0-9a-f]{64})  \./(.*)$#/\2\tf \1#'
  )
}
listings="$(mktemp -d)"
trap 'rm -rf "$checkout" "$listings"' EXIT
listing "$(podman_image podman image mount "$published")" >"$listings/published"
listing "$(podman_image podman image mount "$rebuilt")" >"$listings/rebuilt"
podman_image podman image unmount "$published" "$rebuilt" >/dev/null
awk -F '\t' 'NR == FNR { theirs[$1] = $2; next }
  !($1 in theirs) { print "  file only in the rebuilt image: " $1; next }
  theirs[$1] != $2 { print "  file differs: " $1 }
  { delete theirs[$1] }
  END { for (path in theirs) print "  file only in the published image: " path }' "$listings/published" "$listings/rebuilt" | sort
exit 1
