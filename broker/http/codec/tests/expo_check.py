#!/usr/bin/python3
"""expo_check.py EXPO [EXPECT]: read a /metrics text with the Prometheus Python client.

EXPO is a text in the exposition format 0.0.4. It is parsed with
prometheus_client.parser.text_string_to_metric_families, the parser Prometheus' own
Python client ships. With EXPECT (one JSON array per line, written by test_hp_promtool
from what hp_expo_parse read: family, type, help, sample name, labels, value), every
sample the client read must be there, in the same order, with the same labels and value.

Exit status: 0 the client read the text (and agrees with EXPECT); 1 it read something
else than EXPECT; 2 it refused the text. Run with Debian's /usr/bin/python3, which has
python3-prometheus-client (scripts/deps.sh test installs it).
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def same_value(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        got = [[fam.name, fam.type, fam.documentation, s.name, dict(s.labels), s.value]
               for fam in text_string_to_metric_families(text) for s in fam.samples]
    except Exception as e:  # the client raises ValueError (and others) on a bad text
        print(f"prometheus_client refused the text: {type(e).__name__}: {e}")
        return 2
    print(f"prometheus_client read {len(got)} samples")
    if len(sys.argv) < 3:
        return 0
    with open(sys.argv[2], encoding="utf-8") as f:
        want = [json.loads(line) for line in f]
    if len(want) != len(got):
        print(f"samples: prometheus_client {len(got)}, hp_expo_parse {len(want)}")
        return 1
    for i, (g, w) in enumerate(zip(got, want)):
        w[5] = float(w[5])
        if g[:5] != w[:5] or not same_value(g[5], w[5]):
            print(f"sample {i}: prometheus_client {g}\n           hp_expo_parse     {w}")
            return 1
    print("hp_expo_parse read the same samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
