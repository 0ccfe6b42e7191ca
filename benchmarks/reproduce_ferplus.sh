#!/usr/bin/env bash
# Reproduce the FER+ results in benchmarks/ferplus/: teacher, then the ResNet-18 student with and without
# distillation (two seeds), and the ShuffleNet v2 student with and without distillation. Every step resumes if its run folder already holds last.pt.
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
# order = priority on a 2-core CPU: the ResNet-18 pair (Table IV), the ShuffleNet pair (Table VI), then seed 1
run runs/ferplus-student-r18-s0 student --preset ferplus-student-r18 --seed 0
run runs/ferplus-student-r18-nodistill-s0 student --preset ferplus-student-r18-nodistill --seed 0
run runs/ferplus-student-shufflenet-s0 student --preset ferplus-student-shufflenet --seed 0
run runs/ferplus-student-shufflenet-nodistill-s0 student --preset ferplus-student-shufflenet-nodistill --seed 0
run runs/ferplus-student-r18-s1 student --preset ferplus-student-r18 --seed 1
run runs/ferplus-student-r18-nodistill-s1 student --preset ferplus-student-r18-nodistill --seed 1
