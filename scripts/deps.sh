#!/usr/bin/env bash
# scripts/deps.sh SET: make sure the Debian packages a task needs are installed.
#
#   build  compile everything (compiler, cmocka, libbsd, libedit, OpenSSL 3's headers, the
#          ZooKeeper C client, the four codecs' libraries, jansson: kafka_cli reads
#          kafka-delete-records.sh's JSON offsets file)
#   test   run the test suite (adds the real Kafka clients: kcat, librdkafka, Node.js,
#          kafka-python and confluent-kafka; Valgrind; the openssl CLI that makes the TLS
#          tests' certificates; the Prometheus parsers the /metrics text is checked with:
#          the Python client, and promtool - see below; a ZooKeeper server, Java, for the
#          cluster's tests; the lz4 and zstd tools the codec tests cross-check against;
#          nftables, whose nft cuts brokers apart in test_0317's network namespace)
#   bench  run the benchmarks (adds the peers: Redis, NATS, gnuplot)
#   fuzz   the libFuzzer targets (clang and its runtime)
#   all    everything above
#
# Missing packages are installed with apt-get (through sudo when not root). When that is
# impossible the script stops and prints the exact command to run.
set -euo pipefail

build=(gcc make pkg-config libcmocka-dev libbsd-dev libedit-dev libssl-dev libzookeeper-mt-dev
       zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libjansson-dev)
test=(kcat librdkafka-dev nodejs npm python3 procps valgrind python3-prometheus-client openssl
      python3-kafka python3-confluent-kafka zookeeper lz4 zstd nftables)
bench=(redis-server redis-tools nats-server libnats-dev gnuplot-nox valgrind)
fuzz=(clang libclang-rt-14-dev)

# promtool ships only in Debian's prometheus package, whose installation would also start a
# Prometheus server on :9090 wherever systemd runs. The tests need the checker alone, so it
# is taken out of the package without installing it: build/tools/usr/bin/promtool.
top=$(cd "$(dirname "$0")/.." && pwd)
promtool_get() {
    local tools="$top/build/tools" tmp
    [ -x "$tools/usr/bin/promtool" ] && return 0
    tmp=$(mktemp -d)
    if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) &&
       ! ( [ "$(id -u)" -eq 0 ] && apt-get update -qq >&2 && cd "$tmp" &&
           apt-get download prometheus >/dev/null); then
        rm -rf "$tmp"
        echo "deps: cannot download Debian's prometheus package (for promtool)" >&2
        return 1
    fi
    mkdir -p "$tools/usr/bin"
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x" && cp "$tmp/x/usr/bin/promtool" "$tools/usr/bin/"
    rm -rf "$tmp"
    [ -x "$tools/usr/bin/promtool" ]
}

# `make -j2` may start two of these at once (the build's stamp and the tests' stamp, say); two
# apt-gets at once fail on dpkg's lock, so runs take turns. The check below runs after the
# wait, and finds installed what the other run installed.
mkdir -p "$top/build"
exec 9>"$top/build/.deps.lock"
flock 9

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

case "${1:-build}" in test | bench | all) tools=1 ;; *) tools=0 ;; esac

missing=()
for p in "${want[@]}"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    [ "$tools" = 1 ] && promtool_get
    exit 0
fi

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
[ "$tools" = 1 ] && promtool_get
exit 0
