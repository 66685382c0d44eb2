#!/usr/bin/env bash
# Wraps iExec's sconify image: turns the native image (Dockerfile.scone: Alpine, musl, as SCONE
# requires) into a SCONE enclave image, prints its MRENCLAVE and can write it into the target's
# iexec.json (deploy/scone-debug, or deploy/scone-production when signed). Debug unless given a
# signer key.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
heap_from_env="${SCONE_HEAP:-}"
# shellcheck source=tee.env
source "$here/tee.env"
# shellcheck source=image.env
source "$here/image.env"

usage() {
  cat <<USAGE
Usage: ./sconify.sh [options]

Builds a SCONE image from the app's native image, the one Dockerfile.scone makes:
  docker build -f Dockerfile.scone -t $SCONE_NATIVE_IMAGE .
Without a signer key the enclave is a DEBUG one: its memory can be inspected, and only debug
workerpools run it. With --signer-key it is a production enclave signed with your key.

Options (each also read from the environment variable in brackets):
  --from IMAGE           native image to sconify          [FROM_IMAGE]     (default: $SCONE_NATIVE_IMAGE)
  --to IMAGE             image to produce                 [TO_IMAGE]
                         default: <from>-scone-debug-<version>, or <from>-sconify-<version>-production,
                         <from> without its -scone-native suffix
  --sconify-version V    iexec-sconify-image tag          [SCONIFY_VERSION] (default: 5.9.1-v16)
  --heap SIZE            enclave heap, e.g. 1G            [SCONE_HEAP]     (default from tee.env: ${SCONE_HEAP})
  --signer-key FILE      production: RSA-3072 key, public exponent 3 [SCONE_SIGNER_KEY]
                         create one with: openssl genrsa -3 -out enclave-key.pem 3072
  --update-iexec-json    write app.mrenclave (entrypoint, heapSize, fingerprint) into the target's
                         iexec.json: deploy/scone-debug/, or deploy/scone-production/ with a key
  -h, --help             this text

Needs docker, and access to registry.scontain.com (docker login registry.scontain.com).
USAGE
}

die() {
  echo "sconify.sh: $*" >&2
  exit 1
}

from_image="${FROM_IMAGE:-$SCONE_NATIVE_IMAGE}"
to_image="${TO_IMAGE:-}"
sconify_version="${SCONIFY_VERSION:-5.9.1-v16}"
heap="${heap_from_env:-$SCONE_HEAP}"
signer_key="${SCONE_SIGNER_KEY:-}"
update_iexec_json=false

while (($# > 0)); do
  case "$1" in
    --from) from_image="${2:?--from needs an image}"; shift 2 ;;
    --to) to_image="${2:?--to needs an image}"; shift 2 ;;
    --sconify-version) sconify_version="${2:?--sconify-version needs a version}"; shift 2 ;;
    --heap) heap="${2:?--heap needs a size}"; shift 2 ;;
    --signer-key) signer_key="${2:?--signer-key needs a file}"; shift 2 ;;
    --update-iexec-json) update_iexec_json=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

# Heap size in bytes, as iexec.json wants it (sconify takes K/M/G suffixes).
heap_bytes() {
  local number="${1%[KMG]}" unit="${1##*[0-9]}"
  [[ "$number" =~ ^[0-9]+$ ]] || die "heap size must look like 512M or 1G, got: $1"
  case "$unit" in
    G) echo $((number * 1024 * 1024 * 1024)) ;;
    M) echo $((number * 1024 * 1024)) ;;
    K) echo $((number * 1024)) ;;
    "") echo "$number" ;;
    *) die "heap size must look like 512M or 1G, got: $1" ;;
  esac
}
heap_size_bytes="$(heap_bytes "$heap")"

# The key is checked before anything runs: a production enclave signed with a wrong key is a
# wasted build, and a debug enclave mistaken for a production one is a leak.
check_signer_key() {
  local key="$1" text
  [[ -f "$key" ]] || die "signer key not found: $key"
  [[ -r "$key" ]] || die "signer key not readable: $key"
  command -v openssl >/dev/null || die "openssl is needed to check the signer key"
  text="$(openssl rsa -in "$key" -noout -text 2>/dev/null)" || die "signer key is not an RSA private key: $key"
  grep -qE '^(RSA )?Private-Key: \(3072 bit' <<<"$text" || die "signer key must be RSA 3072 bits: $key"
  grep -qE '^publicExponent: 3 \(0x3\)' <<<"$text" || die "signer key must have public exponent 3: $key"
}

mode=debug
if [[ -n "$signer_key" ]]; then
  check_signer_key "$signer_key"
  signer_key="$(cd "$(dirname "$signer_key")" && pwd)/$(basename "$signer_key")"
  mode=production
fi

if [[ -z "$to_image" ]]; then
  # 1.0.0-scone-native becomes 1.0.0-scone-debug-<version>: the native image is never pushed.
  if [[ "$mode" == production ]]; then
    to_image="${from_image%-scone-native}-sconify-${sconify_version}-production"
  else
    to_image="${from_image%-scone-native}-scone-debug-${sconify_version}"
  fi
fi
if [[ "$mode" == debug && "$to_image" == *prod* ]]; then
  die "target tag '$to_image' says production but no signer key was given (--signer-key or SCONE_SIGNER_KEY)"
fi

command -v docker >/dev/null || die "docker is not installed or not on PATH"
docker image inspect "$from_image" >/dev/null 2>&1 ||
  die "source image '$from_image' not found: build it first (docker build -f Dockerfile.scone -t $from_image .)"

sconify_image="registry.scontain.com/scone-production/iexec-sconify-image:${sconify_version}"
if ! docker image inspect "$sconify_image" >/dev/null 2>&1; then
  docker pull "$sconify_image" >/dev/null ||
    die "cannot pull $sconify_image: log in first (docker login registry.scontain.com; access is granted by Scontain)"
fi

if [[ "$mode" == debug ]]; then
  echo "sconify.sh: building a DEBUG enclave ($to_image): not signed with your key, inspectable,"
  echo "            for debug workerpools only. Give --signer-key for production."
else
  echo "sconify.sh: building a PRODUCTION enclave ($to_image), signed with $signer_key"
fi

run_args=(run --rm -v /var/run/docker.sock:/var/run/docker.sock)
sconify_args=(
  sconify_iexec
  "--from=$from_image"
  "--to=$to_image"
  --binary-fs
  --fs-dir=/app
  --host-path=/etc/hosts
  --host-path=/etc/resolv.conf
  --binary=/usr/local/bin/node
  "--heap=$heap"
  --dlopen=1
  --no-color
  --verbose
)
if [[ "$mode" == production ]]; then
  # Mounted read-only into the sconify container only: the key never enters an image layer.
  run_args+=(-v "$signer_key:/sig/enclave-key.pem:ro")
  sconify_args+=(--scone-signer=/sig/enclave-key.pem)
fi
docker "${run_args[@]}" "$sconify_image" "${sconify_args[@]}"

# SCONE_HASH=1 makes the enclave print its MRENCLAVE instead of running the app.
fingerprint="$(docker run --rm -e SCONE_HASH=1 "$to_image" | grep -oE '[0-9a-f]{64}' | tail -n 1 || true)"
[[ -n "$fingerprint" ]] || die "no MRENCLAVE in the output of: docker run --rm -e SCONE_HASH=1 $to_image"

echo "image:       $to_image ($mode)"
echo "entrypoint:  $APP_ENTRYPOINT"
echo "heapSize:    $heap_size_bytes ($heap)"
echo "fingerprint: $fingerprint"

if [[ "$update_iexec_json" == true ]]; then
  command -v node >/dev/null || die "node is needed to update iexec.json"
  # A debug enclave runs only with the debug SMS and pool, a signed one with the production ones.
  iexec_json="$here/deploy/scone-$mode/iexec.json"
  [[ -f "$iexec_json" ]] || die "missing $iexec_json"
  # "v5.9" for sconify 5.9.x: the SCONE version iexec.json names.
  node - "$iexec_json" "$APP_ENTRYPOINT" "$heap_size_bytes" "$fingerprint" "v${sconify_version%.*-*}" <<'JS'
const fs = require('node:fs');
const [file, entrypoint, heapSize, fingerprint, version] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(file, 'utf8'));
config.app.mrenclave = { framework: 'SCONE', version, entrypoint, heapSize: Number(heapSize), fingerprint };
fs.writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
JS
  echo "iexec.json:  deploy/scone-$mode/iexec.json app.mrenclave updated; set app.multiaddr and app.checksum once the image is pushed"
fi
