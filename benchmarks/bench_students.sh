#!/usr/bin/env bash
# The published latency / size table: ResNet-18, MobileNet v3 small and ShuffleNet v2 students at the default
# input size (64 px), torch vs ONNX FP32 vs ONNX FP16 vs ONNX INT8, batch 1 and 32, plus the teacher.
# Students without a trained run folder get a short training run first (latency needs trained weights:
# random MobileNets have ~1e-10 activations that slow FP32 down, PLATFORM.md); their accuracy is then
# NOT a result, only their speed and size are.
# Usage: bash benchmarks/bench_students.sh [DATA] [THREADS]
set -euo pipefail
DATA=${1:-${EEMKIT_DATA:-../shared/data/ferplus}}
THREADS=${2:-2}
EEMKIT=${EEMKIT:-.venv/bin/eemkit}
OUT=benchmarks/results/students
mkdir -p "$OUT"
ckpts=()
# the distilled students of benchmarks/README.md section 1 (the longest-trained one where there are two)
declare -A trained=([resnet18]="runs/ferplus-student-r18-refresh-s0 runs/ferplus-student-r18-long-s0 runs/ferplus-student-r18-s0"
                    [mobilenet_v3_small]=runs/ferplus-student-mnv3-s0 [shufflenet_v2_x1_0]=runs/ferplus-student-shufflenet-s0)
for bb in resnet18 mobilenet_v3_small shufflenet_v2_x1_0; do
  run=none
  for r in ${trained[$bb]:-}; do
    if [ -f "$r/best.pt" ]; then run=$r; break; fi
  done
  if [ ! -f "$run/best.pt" ]; then
    run=runs/bench-$bb
    [ -f "$run/best.pt" ] || "$EEMKIT" train student --no-distill --backbone $bb --data "$DATA" --out $run \
        --epochs 1 --max-steps 300 --lr 1e-3 --loss ce
  fi
  ckpts+=("$run/best.pt")
done
"$EEMKIT" bench "${ckpts[@]}" --formats torch,onnx,onnx-fp16,onnx-int8 --batch 1,32 --threads "$THREADS" \
  --data "$DATA" --min-time 2 --out "$OUT" --json > /dev/null
if [ -f runs/ferplus-teacher/best.pt ]; then
  "$EEMKIT" bench runs/ferplus-teacher/best.pt --formats torch,onnx,onnx-int8 --batch 1,32 --threads "$THREADS" \
    --data "$DATA" --min-time 2 --out benchmarks/results/teacher --json > /dev/null
fi
cat "$OUT/bench.md"
