"""The per-frame path shared by predict, demo and `bench --pipeline`:
detect -> crop/align -> the shared preprocess -> ONE batched inference for all faces -> smoothing.

Per-face tracking (greedy IoU matching) carries an exponential moving average of the probabilities
so labels do not flicker; every stage is timed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from eemkit.runtime.faces import Face, FaceDetector, crop_face, detector_margin, iou
from eemkit.runtime.base import Runner

STAGES = ("detect", "preprocess", "infer", "postprocess")
COARSE_COLORS = {"positive": (40, 200, 40), "negative": (220, 40, 40), "neutral": (200, 200, 200), "surprise": (240, 200, 0)}


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class Track:
    id: int
    box: tuple
    fine: np.ndarray
    coarse: np.ndarray
    missed: int = 0


@dataclass
class FaceResult:
    box: tuple[int, int, int, int]
    track: int
    fine_label: str
    fine_conf: float
    coarse_label: str
    fine_probs: dict[str, float]
    coarse_probs: dict[str, float]

    def to_dict(self) -> dict:
        return {"box": list(self.box), "track": self.track, "fine_label": self.fine_label, "fine_conf": self.fine_conf,
                "coarse_label": self.coarse_label, "fine_probs": self.fine_probs, "coarse_probs": self.coarse_probs}


@dataclass
class FramePipeline:
    """Runs one frame (RGB uint8 HxWx3) through detection and the model. smoothing in [0, 1): weight of
    the previous probabilities (0 = none). detect_every: run the detector every N frames, reusing the
    tracked boxes in between. margin: the crop margin around each box (None: the detector's own,
    eemkit.runtime.faces.detector_margin)."""

    runner: Runner
    detector: FaceDetector
    margin: float | None = None
    smoothing: float = 0.6
    detect_every: int = 1
    max_missed: int = 5
    tracks: list[Track] = field(default_factory=list)
    timings: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    _next_id: int = 0
    _frame: int = 0

    def __post_init__(self) -> None:
        self.margin = detector_margin(self.detector, self.margin)

    def __call__(self, rgb: np.ndarray) -> list[FaceResult]:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            from eemkit.errors import UsageError

            raise UsageError(f"frames must be uint8 HxWx3 RGB, got {rgb.shape} {rgb.dtype}")
        t0 = time.perf_counter()
        if self._frame % self.detect_every == 0 or not self.tracks:
            faces = self.detector.detect(rgb)
        else:
            faces = [Face(t.box) for t in self.tracks if t.missed == 0]
        self._frame += 1
        t1 = time.perf_counter()
        results: list[FaceResult] = []
        if faces:
            crops = [crop_face(rgb, f, self.margin) for f in faces]
            from eemkit.data.preprocess import prepare_images, runtime_input

            x = runtime_input(prepare_images(crops, self.runner.spec), self.runner.spec, self.runner.input_kind)
            t2 = time.perf_counter()
            out = self.runner.postprocess(self.runner.infer(x))
            t3 = time.perf_counter()
            results = self._postprocess(faces, softmax(out["fine_logits"]), softmax(out["coarse_logits"]))
        else:
            t2 = t3 = time.perf_counter()
            self._age_tracks(set())
        t4 = time.perf_counter()
        for s, a, b in zip(STAGES, (t0, t1, t2, t3), (t1, t2, t3, t4)):
            self.timings[s].append((b - a) * 1000.0)
        return results

    def _age_tracks(self, matched: set[int]) -> None:
        for t in self.tracks:
            if t.id not in matched:
                t.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]

    def _postprocess(self, faces: list[Face], pf: np.ndarray, pc: np.ndarray) -> list[FaceResult]:
        labels = self.runner.labels
        matched: set[int] = set()
        results = []
        for i, f in enumerate(faces):
            best = max((t for t in self.tracks if t.id not in matched), key=lambda t: iou(t.box, f.box), default=None)
            if best is not None and iou(best.box, f.box) > 0.3:
                a = self.smoothing
                best.fine = a * best.fine + (1 - a) * pf[i]
                best.coarse = a * best.coarse + (1 - a) * pc[i]
                best.box, best.missed = f.box, 0
                tr = best
            else:
                tr = Track(self._next_id, f.box, pf[i].copy(), pc[i].copy())
                self._next_id += 1
                self.tracks.append(tr)
            matched.add(tr.id)
            k = int(tr.fine.argmax())
            results.append(FaceResult(
                box=tuple(int(v) for v in f.box), track=tr.id, fine_label=labels.fine[k], fine_conf=float(tr.fine[k]),
                coarse_label=labels.coarse[int(tr.coarse.argmax())],
                fine_probs={c: float(p) for c, p in zip(labels.fine, tr.fine)},
                coarse_probs={c: float(p) for c, p in zip(labels.coarse, tr.coarse)}))
        self._age_tracks(matched)
        return results

    def stage_ms(self) -> dict[str, float]:
        return {s: float(np.mean(v)) if v else 0.0 for s, v in self.timings.items()}


def draw(rgb: np.ndarray, results: list[FaceResult], fps: float | None = None, stage_ms: dict | None = None) -> np.ndarray:
    """Boxes coloured by the coarse label, the fine label with its confidence, and the timing line."""
    import cv2

    img = rgb.copy()
    for r in results:
        x, y, w, h = r.box
        col = COARSE_COLORS.get(r.coarse_label, (255, 255, 255))
        cv2.rectangle(img, (x, y), (x + w, y + h), col, 2)
        text = f"{r.fine_label} {100 * r.fine_conf:.0f}% | {r.coarse_label}"
        cv2.putText(img, text, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, col, 1, cv2.LINE_AA)
    if fps is not None:
        line = f"{fps:.1f} fps" + ("  " + " ".join(f"{k} {v:.1f}ms" for k, v in (stage_ms or {}).items()) if stage_ms else "")
        cv2.putText(img, line, (6, img.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def bench_pipeline(models: list[Path], video: Path, threads: int | None = None, detect_every: int = 1,
                   log: Callable[[str], None] = lambda s: None, detector: str = "haar",
                   detector_model: str | Path | None = None) -> dict:
    """Time the whole per-frame path on a video for each model: frames/s and per-stage ms. `detector` /
    `detector_model`: the face detector (eemkit.runtime.faces.create_detector)."""
    from eemkit.runtime.env import machine_info
    from eemkit.demo.capture import open_source
    from eemkit.runtime.faces import create_detector
    from eemkit.runtime import open_runner

    face_detector = create_detector(detector, detector_model, threads)
    rows = []
    for m in models:
        with open_runner(m, threads=threads) as runner:
            pipe = FramePipeline(runner, face_detector, detect_every=detect_every)
            src = open_source(str(video), live=False)
            n, faces, t0 = 0, 0, time.perf_counter()
            try:
                for frame in src.frames():
                    faces += len(pipe(frame))
                    n += 1
            finally:
                src.close()
            wall = time.perf_counter() - t0
            rows.append({"model": str(m), "precision": runner.precision, "detector": detector, "frames": n, "faces": faces,
                         "fps": n / max(wall, 1e-9), "stage_ms": pipe.stage_ms(), "detect_every": detect_every, "margin": pipe.margin,
                         "frame_ms": 1000.0 * wall / max(n, 1)})
            log(f"{m}: {rows[-1]['fps']:.1f} frames/s")
    return {"machine": machine_info(threads, "cpu"), "video": str(video), "rows": rows}
