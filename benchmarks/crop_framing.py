"""How a face detector's box relates to the FER+ framing the models were trained on, and the crop margin that
reproduces it.

Each face of a split is placed in a 320x240 frame exactly as `eemkit eval --conditions demo` places it (the same
seeds), the detector is run, and for each face it finds (IoU > 0.3 with the placed image) the placed image's side is
compared with the detector's box: the crop margin m for which `crop_face` (side = max(w, h) * (1 + 2m), centred on
the box) spans the placed FER+ image is (side_true / max(w, h) - 1) / 2, and the centre offset says whether the box
sits off the face's centre (fractions of the box side; + is right / down).

With --model M --margins 0,0.05,...: the same detections cropped at each margin and classified by M, scored as
the demo condition scores them (a missed face is a wrong answer) at the training prior and without it, and on the
found faces alone.

Usage: .venv/bin/python benchmarks/crop_framing.py [--data ../shared/data/ferplus] [--split valid]
       [--detector haar|centerface] [--model M --margins 0,0.05,0.1,0.15] [--threads 1]
       [--out benchmarks/results/crop-framing/valid-haar.json]
Prints Markdown tables and writes JSON (machine, command, quantiles, scores per margin).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from eemkit.data.datasets import read_split_images
from eemkit.eval.robustness import CONDITIONS, place_in_frame
from eemkit.io_utils import atomic_write_text
from eemkit.runtime.env import machine_info
from eemkit.runtime.faces import create_detector, iou


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data/ferplus")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--detector", default="haar")
    ap.add_argument("--seed", type=int, default=0, help="the eval seed (the demo condition draws from seed + its index)")
    ap.add_argument("--model", type=Path, help="score the demo-condition crops of each --margins with this model")
    ap.add_argument("--margins", default="0,0.05,0.1,0.15")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    out = a.out or Path(f"benchmarks/results/crop-framing/{a.split}-{a.detector}.json")
    images, y, _, _ = read_split_images(a.data, "ferplus", a.split)
    det = create_detector(a.detector)
    rng = np.random.default_rng(a.seed + list(CONDITIONS).index("demo"))
    margins, dx, dy, aspect, found = [], [], [], [], []
    t0 = time.perf_counter()
    for i, img in enumerate(images):
        frame, box = place_in_frame(img, rng)
        faces = [f for f in det.detect(frame) if iou(f.box, box) > 0.3]
        if faces:
            face = max(faces, key=lambda f: iou(f.box, box))
            found.append((i, frame, face))
            x, y0, w, h = face.box
            side = max(w, h)
            margins.append((box[2] / side - 1) / 2)
            dx.append(((box[0] + box[2] / 2) - (x + w / 2)) / side)
            dy.append(((box[1] + box[3] / 2) - (y0 + h / 2)) / side)
            aspect.append(w / h)
        if (i + 1) % 500 == 0:
            print(f"{i + 1}/{len(images)} faces, {len(margins)} found", file=sys.stderr, flush=True)
    q = (0.1, 0.25, 0.5, 0.75, 0.9)

    def quant(v: list[float]) -> dict:
        return {f"q{int(p * 100)}": round(float(np.quantile(v, p)), 4) for p in q} | {"mean": round(float(np.mean(v)), 4)}

    res = {"command": " ".join(["benchmarks/crop_framing.py", *sys.argv[1:]]), "machine": machine_info(1, "cpu"),
           "split": a.split, "detector": a.detector, "faces": len(images), "found": len(margins),
           "recall": round(100 * len(margins) / len(images), 2), "seconds": round(time.perf_counter() - t0, 1),
           "margin": quant(margins), "centre_dx": quant(dx), "centre_dy": quant(dy), "box_aspect_w_h": quant(aspect)}
    if a.model is not None:
        res["model"] = str(a.model)
        res["scores"] = score_margins(a.model, found, y, [float(m) for m in a.margins.split(",")], a.threads)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(res, indent=1) + "\n", what="crop framing")
    print(f"{a.detector} on FER+ {a.split}: {res['found']} of {res['faces']} faces found ({res['recall']} %)")
    print("| quantity | q10 | q25 | median | q75 | q90 | mean |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for k in ("margin", "centre_dx", "centre_dy", "box_aspect_w_h"):
        v = res[k]
        print(f"| {k} | " + " | ".join(f"{v[n]:+.3f}" for n in ("q10", "q25", "q50", "q75", "q90", "mean")) + " |")
    if "scores" in res:
        print(f"\n{a.model}, demo condition on FER+ {a.split} (a missed face counts as wrong):\n")
        print("| margin | acc / avg, train prior | acc / avg, uniform | acc on the faces found (train prior) |")
        print("| --- | --- | --- | --- |")
        for r in res["scores"]:
            print(f"| {r['margin']:.2f} | {r['train']['accuracy']:.2f} / {r['train']['average']:.2f} | "
                  f"{r['uniform']['accuracy']:.2f} / {r['uniform']['average']:.2f} | {r['found_accuracy_train']:.2f} |")


def score_margins(model: Path, found: list, y: np.ndarray, margins: list[float], threads: int) -> list[dict]:
    """Accuracy / average of `model` on the crops of `found` ((index, frame, face)) at each margin; the faces not
    found count as wrong."""
    from eemkit.runtime import open_runner
    from eemkit.runtime.faces import crop_face

    n, k = len(y), int(y.max()) + 1
    rows = []
    with open_runner(model, threads=threads) as runner:
        k = max(k, len(runner.labels.fine))
        idx = np.asarray([i for i, _, _ in found], dtype=np.int64)
        for m in margins:
            raw = runner.infer_images([crop_face(frame, face, m) for _, frame, face in found], raw=True)
            row: dict = {"margin": m}
            for prior in ("train", "uniform"):
                runner.set_class_prior(prior)
                pred = np.full(n, -1, dtype=np.int64)  # -1: not found, wrong
                pred[idx] = runner.postprocess(raw)["fine_logits"].argmax(1)
                ok = pred == y
                per_class = [100.0 * ok[y == c].mean() for c in range(k) if (y == c).any()]
                row[prior] = {"accuracy": round(100.0 * ok.mean(), 2), "average": round(float(np.mean(per_class)), 2)}
                if prior == "train":
                    row["found_accuracy_train"] = round(100.0 * ok[idx].mean(), 2)
            runner.set_class_prior("train")
            rows.append(row)
    return rows


if __name__ == "__main__":
    main()
