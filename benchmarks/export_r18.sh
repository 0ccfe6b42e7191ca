#!/usr/bin/env bash
# Export the distilled ResNet-18 student to ONNX FP32 / FP16 / INT8 (CPU Q/DQ and TensorRT Q/DQ), compare the
# three calibration methods, and check every artifact against PyTorch on the full FER+ test split.
# Usage: bash benchmarks/export_r18.sh [CKPT] [DATA] [OUT]   (the table is printed and written to OUT/table.md)
set -euo pipefail
CKPT=${1:-runs/ferplus-student-r18-s0/best.pt}
DATA=${2:-${EEMKIT_DATA:-../shared/data/ferplus}}
EEMKIT=${EEMKIT:-.venv/bin/eemkit}
ART=$(dirname "$CKPT")/best-artifacts
OUT=${3:-benchmarks/results/export-r18}
mkdir -p "$OUT" "$ART"
MANIFEST=calibration/ferplus-train-512-seed0-64px.json
"$EEMKIT" export "$CKPT" --out "$ART" --fp16 --int8 --calib-manifest $MANIFEST --calib-data "$DATA" --json > "$OUT/export.json"
for m in entropy percentile; do
  "$EEMKIT" export "$CKPT" --out "$ART/int8-$m" --int8 --calib-method $m --calib-manifest $MANIFEST --calib-data "$DATA" --json > "$OUT/export-int8-$m.json"
done
"$EEMKIT" export "$CKPT" --out "$ART/int8-trt" --int8 --int8-target trt --calib-method minmax --calib-manifest $MANIFEST --calib-data "$DATA" --json > "$OUT/export-int8-trt.json"
check() {  # check NAME ARTIFACT
  "$EEMKIT" check "$2" --checkpoint "$CKPT" --data "$DATA" --json > "$OUT/check-$1.json" || true  # exit 3 = tolerance broken, recorded in the JSON
}
check fp32 "$ART/model.onnx"
check fp16 "$ART/model.fp16.onnx"
check int8-minmax "$ART/model.int8.onnx"
check int8-entropy "$ART/int8-entropy/model.int8.onnx"
check int8-percentile "$ART/int8-percentile/model.int8.onnx"
check int8-trt-minmax "$ART/int8-trt/model.int8-trt.onnx"
.venv/bin/python - "$OUT" <<'PYEOF' | tee "$OUT/table.md"
import json, os, sys
out = sys.argv[1]
print("| artifact | MB | PyTorch acc | artifact acc | Δ acc | Δ avg | top-1 agreement | max abs Δ logit | cosine min | pass |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for name in ("fp32", "fp16", "int8-minmax", "int8-entropy", "int8-percentile", "int8-trt-minmax"):
    r = json.load(open(f"{out}/check-{name}.json"))
    mb = os.path.getsize(r["artifact"]) / 1e6
    print(f"| {name} | {mb:.2f} | {r['reference']['accuracy']:.2f} | {r['artifact_metrics']['accuracy']:.2f} | {r['accuracy_diff']:+.2f} | "
          f"{r['average_diff']:+.2f} | {r['fine']['agreement']:.2f} | {r['fine']['max_abs_diff']:.2e} | {r['fine']['cosine_min']:.5f} | "
          f"{'yes' if r['passed'] else 'NO: ' + '; '.join(r['failures'])} |")
PYEOF
