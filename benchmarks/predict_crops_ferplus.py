"""A model on FER+ test as a user gets it: `eemkit predict FER2013Test --crops --json` (the CLI, in a
subprocess), its records (full-precision probabilities) joined with the majority labels, at each class prior.

Usage: .venv/bin/python benchmarks/predict_crops_ferplus.py [--model MODEL] [--data DATA] [--threads N]
       [--out benchmarks/results/predict-crops/NAME.json]
Without --model: the shipped default model. Prints a table and writes the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from eemkit.data.datasets import load_split
from eemkit.data.preprocess import PreprocessSpec
from eemkit.metrics import classification_metrics
from eemkit.runtime.env import machine_info

EEMKIT = os.environ.get("EEMKIT", str(Path(sys.executable).parent / "eemkit"))


def predict_crops(model: str | None, data: str | Path, prior: str, threads: int) -> dict:
    """Run `eemkit predict DATA/FER2013Test --crops` at `prior` and score it on the majority-labelled images."""
    test = load_split(data, "ferplus", "test", PreprocessSpec.for_input(48, 1.0))
    labels = test.labels
    cmd = [EEMKIT, "predict", str(Path(data) / "FER2013Test"), "--crops", "--threads", str(threads),
           "--class-prior", prior, "--json"] + (["--model", str(model)] if model else [])
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:  # show the CLI's own one-line error, not a CalledProcessError
        raise SystemExit(f"{' '.join(cmd[:3])} ... exited {done.returncode}: {done.stderr.strip()[-500:]}")
    wall = time.perf_counter() - t0
    rows = {Path(r["file"]).name: r for r in json.loads(done.stdout)["records"]}
    missing = [n for n in test.names if Path(n).name not in rows]
    if missing:
        raise SystemExit(f"predict gave no record for {len(missing)} test images (e.g. {missing[0]})")
    fine = np.zeros((len(test), labels.n_fine), np.float32)
    coarse = np.zeros((len(test), len(labels.coarse)), np.float32)
    for i, n in enumerate(test.names):
        r = rows[Path(n).name]
        fine[i] = [r["fine_probs"][c] for c in labels.fine]
        coarse[i] = [r["coarse_probs"][c] for c in labels.coarse]
    m = classification_metrics(test.fine, fine, labels.fine, coarse, labels.coarse_index, labels.coarse)
    return {"prior": prior, "n": len(test), "accuracy": m["accuracy"], "average": m["average"],
            "coarse_accuracy": m["coarse_accuracy"], "per_class": m["per_class"], "support": m["support"],
            "wall_s": round(wall, 1), "command": " ".join(["eemkit"] + cmd[1:])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", default=os.environ.get("EEMKIT_DATA", "../shared/data/ferplus"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/predict-crops/default.json")
    a = ap.parse_args()
    res = {"model": a.model or "shipped default", "machine": machine_info(a.threads, "cpu")["cpu"], "threads": a.threads,
           "points": [predict_crops(a.model, a.data, p, a.threads) for p in ("train", "uniform")]}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2))
    print(f"| prior | accuracy | average | coarse | wall s |  ({res['model']}, {res['machine']})")
    print("| --- | --- | --- | --- | --- |")
    for p in res["points"]:
        print(f"| {p['prior']} | {p['accuracy']:.2f} | {p['average']:.2f} | {p['coarse_accuracy']:.2f} | {p['wall_s']} |")


if __name__ == "__main__":
    main()
