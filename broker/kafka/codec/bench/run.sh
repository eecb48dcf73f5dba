#!/usr/bin/env bash
# bench/run.sh: the schema-driven codec against itself (classic vs flexible versions) and
# against the hand-written codec (broker/kafka), on Produce decode and Fetch encode.
# `make bench-broker/kafka/codec` runs it; BUILD names the build directory.
set -euo pipefail
build=${BUILD:-build}
dir="$build/bench/broker/kafka/codec"
new=$(mktemp) old=$(mktemp)
trap 'rm -f "$new" "$old"' EXIT
echo "== broker/kafka/codec bench on $(nproc) CPUs; load: $(uptime | sed 's/.*load average: //')"
"$dir/kp_bench" | tee "$new" | grep '^#'
"$dir/kp_bench_old" | tee "$old" | grep '^#'
echo "== load after: $(uptime | sed 's/.*load average: //')"
awk '
  FNR == 1 { file++ }
  /^RESULT/ { if (file == 1) n[$2] = $3; else o[$2] = $3 }
  END {
    printf "%-24s %12s %14s %10s\n", "case", "libbrk_kp ns", "hand-written ns", "kp/old"
    split("produce_decode_v7 produce_decode_v9 fetch_encode_v11_1 fetch_encode_v12_1 " \
          "fetch_encode_v11_100 fetch_encode_v12_100 fetch_encode_v11_1000 " \
          "fetch_encode_v12_1000", cases, " ")
    for (i = 1; i <= length(cases); i++) {
      c = cases[i]
      if (c in o) printf "%-24s %12.1f %14.1f %10.2f\n", c, n[c], o[c], n[c] / o[c]
      else printf "%-24s %12.1f %14s %10s\n", c, n[c], "-", "-"
    }
    printf "\nflexible vs classic (libbrk_kp): produce v9/v7 %.2f", n["produce_decode_v9"] / n["produce_decode_v7"]
    split("1 100 1000", ns, " ")
    for (i = 1; i <= 3; i++)
      printf ", fetch v12/v11 @%s %.2f", ns[i], n["fetch_encode_v12_" ns[i]] / n["fetch_encode_v11_" ns[i]]
    printf "\n"
  }' "$new" "$old"
