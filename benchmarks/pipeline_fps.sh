#!/usr/bin/env bash
# End-to-end frames/s of the per-frame path (Haar detection + preprocess + inference + postprocess) on a
# generated 640x480 clip with one real face (scikit-image's astronaut photo gliding across a background).
# Usage: bash benchmarks/pipeline_fps.sh MODEL... (default: the shipped INT8 student and the R18 exports)
set -euo pipefail
EEMKIT=${EEMKIT:-.venv/bin/eemkit}
PY=${PY:-.venv/bin/python}
THREADS=${THREADS:-2}
OUT=benchmarks/results/pipeline
mkdir -p "$OUT"
VIDEO=$OUT/astronaut_640x480.mp4
$PY - "$VIDEO" <<'PYEOF'
import sys
from skimage import data
from eemkit.demo.synthetic import make_face_video
a = data.astronaut()
make_face_video(sys.argv[1], [a[0:240, 105:345]], n_frames=150, size=(640, 480), face_px=300, fps=30)
PYEOF
if [ "$#" -gt 0 ]; then models=("$@"); else
  models=(eemkit/assets/default-student.int8.onnx)
  for f in runs/ferplus-student-r18-s0/best-artifacts/model.onnx runs/ferplus-student-r18-s0/best-artifacts/model.int8.onnx; do
    [ -f "$f" ] && models+=("$f")
  done
fi
for every in 1 3; do
  "$EEMKIT" bench "${models[@]}" --pipeline "$VIDEO" --detect-every $every --threads "$THREADS" --json > "$OUT/pipeline_detect_every_$every.json" \
    || exit 1
done
rm -f "$VIDEO"
$PY - <<'PYEOF'
import json, glob
for f in sorted(glob.glob("benchmarks/results/pipeline/pipeline_detect_every_*.json")):
    r = json.load(open(f))
    print(f"\n{f}: {r['machine']['cpu']}, {r['machine']['threads']} threads")
    print("| model | precision | frames/s | detect ms | preprocess ms | infer ms | postprocess ms | faces/frames |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for x in r["rows"]:
        s = x["stage_ms"]
        print(f"| {x['model']} | {x['precision']} | {x['fps']:.1f} | {s['detect']:.2f} | {s['preprocess']:.2f} | {s['infer']:.2f} | {s['postprocess']:.2f} | {x['faces']}/{x['frames']} |")
PYEOF
