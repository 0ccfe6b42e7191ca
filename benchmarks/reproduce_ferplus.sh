#!/usr/bin/env bash
# Reproduce the FER+ results in benchmarks/ferplus/: teacher, then the ResNet-18 student with and without
# distillation, two seeds each. Every step resumes if its run folder already holds last.pt.
# Usage: bash benchmarks/reproduce_ferplus.sh [DATA]   (default ../shared/data/ferplus)
set -euo pipefail
DATA=${1:-${EEMKIT_DATA:-../shared/data/ferplus}}
EEMKIT=${EEMKIT:-.venv/bin/eemkit}
run() {  # run OUT ARGS...: train, resuming when OUT/last.pt exists; skip when finished
  local out=$1; shift
  local resume=()
  [ -f "$out/last.pt" ] && resume=(--resume)
  "$EEMKIT" train "$@" --data "$DATA" --out "$out" "${resume[@]}"
}
run runs/ferplus-teacher teacher --preset ferplus-teacher
for seed in 0 1; do
  run runs/ferplus-student-r18-s$seed student --preset ferplus-student-r18 --seed $seed
  run runs/ferplus-student-r18-nodistill-s$seed student --preset ferplus-student-r18-nodistill --seed $seed
done
