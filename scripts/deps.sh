#!/usr/bin/env bash
# scripts/deps.sh SET: make sure the Debian packages a task needs are installed.
#
#   build  compile everything (compiler, cmocka, libbsd, libedit, the four codecs' libraries)
#   test   run the test suite (adds the real Kafka clients: kcat, librdkafka, Node.js, and
#          the lz4 and zstd tools the codec tests cross-check against)
#   bench  run the benchmarks (adds the peers: Redis, NATS, gnuplot)
#   fuzz   the libFuzzer targets (clang and its runtime)
#   all    everything above
#
# Missing packages are installed with apt-get (through sudo when not root). When that is
# impossible the script stops and prints the exact command to run.
set -euo pipefail

build=(gcc make pkg-config libcmocka-dev libbsd-dev libedit-dev
       zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev)
test=(kcat librdkafka-dev nodejs npm python3 procps lz4 zstd)
bench=(redis-server redis-tools nats-server libnats-dev gnuplot-nox)
fuzz=(clang libclang-rt-14-dev)

want=()
case "${1:-build}" in
build) want=("${build[@]}") ;;
test) want=("${build[@]}" "${test[@]}") ;;
bench) want=("${build[@]}" "${test[@]}" "${bench[@]}") ;;
fuzz) want=("${build[@]}" "${fuzz[@]}") ;;
all) want=("${build[@]}" "${test[@]}" "${bench[@]}" "${fuzz[@]}") ;;
*) echo "usage: $0 build|test|bench|fuzz|all" >&2; exit 2 ;;
esac

installed() {
    # Node.js may come from outside Debian (nodesource, nvm): a working binary is enough.
    case "$1" in
    nodejs) command -v node >/dev/null && return 0 ;;
    npm) command -v npm >/dev/null && return 0 ;;
    esac
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${want[@]}"; do
    installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo)
else
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: install them with:  sudo apt-get update && sudo ${cmd[*]}" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2 || true
if ! "${sudo[@]}" "${cmd[@]}" >&2; then
    echo "deps: apt-get failed; run it yourself:  sudo apt-get update && sudo ${cmd[*]}" >&2
    exit 1
fi
