"""Milliseconds per 640x480 frame of each face detector alone (eemkit.bench.measure.time_fn), on one frame
holding scikit-image's astronaut face at 300 px, as in the clip of section 5. The Haar cascade runs on
OpenCV's own thread pool (all cores unless limited), so it is timed at OpenCV's default and at one thread.
Usage: .venv/bin/python benchmarks/detector_latency.py [--detector-model PATH] [--out FILE.json]"""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
from skimage import data

from eemkit.bench.measure import time_fn
from eemkit.runtime.centerface import CenterFaceDetector
from eemkit.runtime.env import machine_info
from eemkit.runtime.faces import HaarDetector


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--detector-model", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[90:390, 170:470] = cv2.resize(data.astronaut()[0:240, 105:345], (300, 300), interpolation=cv2.INTER_AREA)
    default_threads = cv2.getNumThreads()
    rows = []
    for name, threads, make in (
            ("haar", default_threads, lambda: HaarDetector()),
            ("haar", 1, lambda: HaarDetector()),
            ("centerface", 1, lambda: CenterFaceDetector(args.detector_model, threads=1)),
            ("centerface, detect_width 640", 1, lambda: CenterFaceDetector(args.detector_model, threads=1, detect_width=640))):
        cv2.setNumThreads(threads if name == "haar" else default_threads)
        det = make()
        t = time_fn(lambda: det.detect(frame), warmup=5, min_runs=30, min_time_s=3.0)
        faces = det.detect(frame)
        rows.append({"detector": name, "threads": threads, "faces": [list(f.box) for f in faces], **t})
        print(f"{name:30s} {threads} thread(s): median {t['median_ms']:.2f} ms, p90 {t['p90_ms']:.2f} ms, faces {rows[-1]['faces']}")
    cv2.setNumThreads(default_threads)
    res = {"machine": machine_info(1, "cpu"), "frame": "640x480, astronaut face at 300 px", "rows": rows}
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(res, fh, indent=2)


if __name__ == "__main__":
    main()
