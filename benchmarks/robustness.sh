#!/usr/bin/env bash
# Robustness and operating points of a model on the full FER+ test split: accuracy / average at the training
# prior and with it removed, under each condition of `eemkit eval --robustness` (eemkit/eval/robustness.py).
# Usage: bash benchmarks/robustness.sh MODEL NAME [DATA]   (MODEL: checkpoint, ONNX or engine)
# Writes benchmarks/results/robustness/NAME.json and NAME/ (confusion-<prior>.png, robustness.png).
set -euo pipefail
MODEL=$1
NAME=$2
DATA=${3:-${EEMKIT_DATA:-../shared/data/ferplus}}
EEMKIT=${EEMKIT:-.venv/bin/eemkit}
OUT=benchmarks/results/robustness
mkdir -p "$OUT"
"$EEMKIT" eval "$MODEL" --data "$DATA" --robustness --threads "${THREADS:-1}" --out "$OUT/$NAME" --json > "$OUT/$NAME.json"
.venv/bin/python - "$OUT/$NAME.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pri = list(r["priors"])
print("| condition | " + " | ".join(f"acc / avg ({p})" for p in pri) + " | detector recall |")
print("| --- | " + " | ".join("---" for _ in pri) + " | --- |")
for x in r["robustness"]:
    rec = "-" if x["detector_recall"] is None else f"{x['detector_recall']:.1f}"
    print(f"| {x['condition']} | " + " | ".join(f"{x['accuracy_' + p]:.2f} / {x['average_' + p]:.2f}" for p in pri) + f" | {rec} |")
PY
