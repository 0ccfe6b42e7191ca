"""Robustness of any model (checkpoint, ONNX, engine) to what a deployed face crop looks like.

A second dataset is not always at hand; the failure modes of a cross-dataset face usually are:
framing (the detector's box is shifted, larger or smaller than the training crops), tilt, resolution,
light, compression, mirroring. Each condition perturbs the raw evaluation images deterministically
(seeded) and scores them through the model's own preprocessing, at the training prior and with the
prior removed (`uniform`). The "demo" condition is what `eemkit demo` sees: each face is placed,
enlarged, at a random spot of a larger textured frame, found by the project's own detector and cropped
with the demo's margin; a face the detector misses counts as wrong (the table gives the detector's
recall), so this row measures detection and classification together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from eemkit.metrics import classification_metrics
from eemkit.runtime.faces import FaceDetector

Perturb = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _affine(img: np.ndarray, scale: float, angle: float, dx: float, dy: float) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[0, 2] += dx * w
    m[1, 2] += dy * h
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _shift(img, rng):
    ang = rng.uniform(0, 2 * np.pi)
    return _affine(img, 1.0, 0.0, 0.12 * np.cos(ang), 0.12 * np.sin(ang))


def _zoom_out(img, rng):  # the detector's box is larger than the training crop: the face is smaller
    return _affine(img, 0.8, 0.0, 0.0, 0.0)


def _zoom_in(img, rng):  # a tighter box: the face fills more of the crop
    return _affine(img, 1.25, 0.0, 0.0, 0.0)


def _rotate(img, rng):
    return _affine(img, 1.0, float(rng.choice([-15.0, 15.0])), 0.0, 0.0)


def _low_res(img, rng):  # a face of about 20 px upscaled
    import cv2

    h, w = img.shape[:2]
    small = cv2.resize(img, (max(4, w * 20 // max(h, w)), max(4, h * 20 // max(h, w))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _low_light(img, rng):  # darker, lower contrast, sensor noise
    x = (img.astype(np.float32) / 255.0) ** 1.8 * 0.6
    x = x + rng.normal(0, 0.03, x.shape).astype(np.float32)
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def _jpeg(img, rng):
    import cv2

    ok, buf = cv2.imencode(".jpg", img if img.ndim == 2 else img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 20])
    dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return dec if img.ndim == 2 else dec[:, :, ::-1]


def _mirror(img, rng):
    return np.ascontiguousarray(img[:, ::-1])


CONDITIONS: dict[str, tuple[str, Perturb | None]] = {
    "clean": ("the evaluation images as they are", None),
    "mirror": ("horizontally mirrored", _mirror),
    "shift": ("shifted by 12 % of the side", _shift),
    "zoom-out": ("face at 0.8x in the crop (a loose box)", _zoom_out),
    "zoom-in": ("face at 1.25x (a tight box)", _zoom_in),
    "rotate": ("rotated by 15 degrees", _rotate),
    "low-res": ("shrunk to 20 px and enlarged", _low_res),
    "low-light": ("gamma 1.8, 60 % light, noise", _low_light),
    "jpeg": ("JPEG at quality 20", _jpeg),
    "demo": ("in a 320x240 frame, found by the demo's detector, cropped with its margin", None),
}


def place_in_frame(img: np.ndarray, rng: np.random.Generator, frame: tuple[int, int] = (240, 320)) -> tuple[np.ndarray, tuple]:
    """An RGB frame (H, W, 3) holding `img` enlarged to 100-160 px at a random spot on a smooth random
    background; returns (frame, face box x, y, w, h)."""
    import cv2

    fh, fw = frame
    side = int(rng.integers(100, 161))
    face = cv2.resize(img, (side, side), interpolation=cv2.INTER_CUBIC)
    if face.ndim == 2:
        face = np.repeat(face[:, :, None], 3, axis=2)
    bg = cv2.resize(rng.integers(40, 200, (6, 8, 3), dtype=np.uint8), (fw, fh), interpolation=cv2.INTER_CUBIC)
    x = int(rng.integers(0, fw - side + 1))
    y = int(rng.integers(0, fh - side + 1))
    bg[y:y + side, x:x + side] = face
    return bg, (x, y, side, side)


def _demo_crops(images: Sequence[np.ndarray], seed: int, margin: float, det: FaceDetector) -> tuple[list[np.ndarray | None], float]:
    """Each image through place_in_frame -> the face detector `det` -> crop_face; None where no face
    overlaps the true box (IoU > 0.3). Returns (crops, recall %)."""
    from eemkit.runtime.faces import crop_face, iou

    rng = np.random.default_rng(seed)
    crops: list[np.ndarray | None] = []
    for img in images:
        frame, box = place_in_frame(img, rng)
        faces = [f for f in det.detect(frame) if iou(f.box, box) > 0.3]
        crops.append(crop_face(frame, max(faces, key=lambda f: iou(f.box, box)), margin) if faces else None)
    found = sum(c is not None for c in crops)
    return crops, 100.0 * found / max(len(crops), 1)


@dataclass
class RobustnessRow:
    condition: str
    what: str
    n: int
    metrics: dict[str, dict]  # prior name -> classification_metrics
    recall: float | None = None
    detector: str | None = None  # the demo condition's face detector
    margin: float | None = None  # and the crop margin around its boxes

    def to_dict(self) -> dict:
        d = {"condition": self.condition, "what": self.what, "n": self.n, "detector_recall": self.recall}
        if self.detector is not None:
            d["detector"] = self.detector
        if self.margin is not None:
            d["margin"] = self.margin
        for prior, m in self.metrics.items():
            d[f"accuracy_{prior}"] = m["accuracy"]
            d[f"average_{prior}"] = m["average"]
        return d


def check_conditions(conditions: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The robustness conditions, each once, in the order given; UsageError for an unknown one (before any
    work). None: no robustness table; (): every condition."""
    if conditions is None:
        return None
    from eemkit.errors import UsageError

    names = list(dict.fromkeys(conditions))
    bad = [c for c in names if c not in CONDITIONS]
    if bad:
        raise UsageError(f"unknown robustness condition(s) {bad}; choose from: {', '.join(CONDITIONS)}")
    return tuple(names)


def robustness(runner, images: Sequence[np.ndarray], y: np.ndarray, conditions: Sequence[str] | None = None,
               priors: Sequence[str] | Mapping[str, str] = ("train", "uniform"), seed: int = 0, margin: float | None = None,
               progress: Callable[[str], None] | None = None,
               detector: FaceDetector | None = None) -> list[RobustnessRow]:
    """Score `runner` (an active Runner) on raw uint8 images (grey HxW or RGB HxWx3) under each condition
    and class prior (`priors`: choices, or name -> choice as eemkit.eval.evaluate.prior_keys gives them). `detector`:
    the FaceDetector of the "demo" condition (default: the Haar cascade); `margin`: its crop margin (None: the
    detector's own, eemkit.runtime.faces.detector_margin). Unknown condition names raise UsageError."""
    prior_map = dict(priors) if isinstance(priors, Mapping) else {str(p): str(p) for p in priors}
    names = list(check_conditions(tuple(conditions or ())) or CONDITIONS)
    labels = runner.labels
    rows = []
    order = list(CONDITIONS)
    for name in names:
        i = order.index(name)  # each condition draws from its own seed, whichever others are asked for
        if progress:
            progress(name)
        what, fn = CONDITIONS[name]
        recall = det_name = det_margin = None
        if name == "demo":
            if detector is None:
                from eemkit.runtime.faces import create_detector

                detector = create_detector("haar")
            from eemkit.runtime.faces import detector_margin, detector_name

            det_margin = detector_margin(detector, margin)
            crops, recall = _demo_crops(images, seed + i, det_margin, detector)
            det_name = detector_name(detector)
            keep = [c if c is not None else np.zeros((8, 8, 3), np.uint8) for c in crops]
            missed = np.asarray([c is None for c in crops])
        else:
            rng = np.random.default_rng(seed + i)
            keep = [fn(im, rng) if fn is not None else im for im in images]
            missed = np.zeros(len(images), bool)
        raw = runner.infer_images(keep, raw=True)
        metrics = {}
        for prior, choice in prior_map.items():
            runner.set_class_prior(choice)
            out = runner.postprocess(raw)
            fine = out["fine_logits"].copy()
            fine[missed] = -np.inf
            fine[missed, [int((t + 1) % fine.shape[1]) for t in y[missed]]] = 0.0  # a missed face is a wrong answer
            coarse = out["coarse_logits"].copy()
            coarse_true = np.asarray(labels.coarse_index)[y]
            coarse[missed] = -np.inf
            coarse[missed, [int((t + 1) % coarse.shape[1]) for t in coarse_true[missed]]] = 0.0
            metrics[prior] = classification_metrics(y, fine, labels.fine, coarse, labels.coarse_index, labels.coarse)
        runner.set_class_prior("train")
        rows.append(RobustnessRow(name, what, len(images), metrics, recall, det_name, det_margin))
    return rows


def plot_robustness(rows: list[RobustnessRow], path: str, title: str = "") -> None:
    """Grouped bars: accuracy and average per condition, at each prior."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    priors = list(rows[0].metrics)
    series = [(f"{m} ({p})", [r.metrics[p][m] for r in rows]) for p in priors for m in ("accuracy", "average")]
    x = np.arange(len(rows))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(rows)), 3.6), dpi=120)
    for k, (label, vals) in enumerate(series):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, vals, width, label=label)
    ax.set_xticks(x, [r.condition for r in rows], rotation=30, ha="right")
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=2)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    from eemkit.io_utils import save_figure

    save_figure(fig, path)
    plt.close(fig)
