#!/usr/bin/env bash
# bench/run.sh: the schema-driven codec against itself, classic vs flexible versions, on
# Produce decode and Fetch encode. `make bench-broker/kafka/codec` runs it; BUILD names the
# build directory. (Until the Kafka door moved to this codec the same cases also ran
# against the hand-written one it replaced; README.md section 6 keeps those figures.)
#
# Two figures per case:
#  - ns/op: the median of 9 timed runs (kpb.h). On a shared 2-core machine these move
#    with the other load (printed before and after); compare within one run only.
#  - instructions/op, counted by callgrind (when valgrind is installed; KPB_CALLGRIND=0
#    skips it): the case runs N1 and N2 times and the difference in instructions is
#    divided by N2 - N1, so start-up and set-up cancel out. Deterministic: the same
#    binary gives the same count whatever else the machine does.
set -euo pipefail
build=${BUILD:-build}
dir="$build/bench/broker/kafka/codec"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cases="produce_decode_v7 produce_decode_v9 fetch_encode_v11_1 fetch_encode_v12_1
       fetch_encode_v11_100 fetch_encode_v12_100 fetch_encode_v11_1000 fetch_encode_v12_1000"

echo "== broker/kafka/codec bench on $(nproc) CPUs; load before: $(uptime | sed 's/.*load average: //')"
"$dir/kp_bench" | tee "$tmp/new" | grep '^#'
echo "== load after: $(uptime | sed 's/.*load average: //')"

# instructions per op: callgrind at two iteration counts
instr() { # binary case
    local n1=200 n2=1200
    case $2 in *_1000) n1=20 n2=120 ;; *_100) n1=100 n2=600 ;; esac
    local a b
    a=$(KPB_ONLY=$2 KPB_ITERS=$n1 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
        "$dir/$1" 2>&1 >/dev/null | sed -n 's/.*Collected : //p')
    b=$(KPB_ONLY=$2 KPB_ITERS=$n2 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
        "$dir/$1" 2>&1 >/dev/null | sed -n 's/.*Collected : //p')
    echo $(( (b - a) / (n2 - n1) ))
}
if [ "${KPB_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
    for c in $cases; do
        echo "INSTR $c $(instr kp_bench "$c")" >>"$tmp/new"
    done
fi

awk -v cases="$cases" '
  /^RESULT/ { n[$2] = $3 }
  /^INSTR/  { ni[$2] = $3 }
  function r(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
  function v(x) { return x == "" ? "-" : x }
  END {
    printf "%-22s %10s %12s\n", "case", "kp ns", "kp instr"
    k = split(cases, cs, " ")
    for (i = 1; i <= k; i++) {
      c = cs[i]
      printf "%-22s %10.1f %12s\n", c, n[c], v(ni[c])
    }
    printf "\nflexible / classic, libbrk_kp:  produce v9/v7 ns %s instr %s",
           r(n["produce_decode_v9"], n["produce_decode_v7"]),
           r(ni["produce_decode_v9"], ni["produce_decode_v7"])
    split("1 100 1000", ns, " ")
    for (i = 1; i <= 3; i++) {
      a = "fetch_encode_v12_" ns[i]; b = "fetch_encode_v11_" ns[i]
      printf ";  fetch@%s v12/v11 ns %s instr %s", ns[i], r(n[a], n[b]), r(ni[a], ni[b])
    }
    printf "\n"
  }' "$tmp/new"
