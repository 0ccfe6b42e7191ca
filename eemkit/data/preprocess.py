"""The ONE preprocessing path shared by training, evaluation, export, calibration, parity, bench and demo.

Two stages, so that small datasets can be decoded and resized once and held in memory:

1. `prepare_image(s)`: any RGB or greyscale uint8 image -> uint8 HWC at `resize_size`
   (greyscale models convert to one channel here).
2. `to_model_input`: a uint8 NHWC batch at `resize_size` -> float32 NCHW at `input_size`:
   centre crop (evaluation) or random crop + flip + small rotation (training), greyscale replicated
   to 3 channels, then (x/255 - mean) / std.

`preprocess(images, spec)` chains both for evaluation; every consumer outside training calls it.

The evaluation path (centre crop + normalise, `eval_input`) is numpy only, so the runtime (predict, demo,
bench, check, eval of an exported model) never needs torch; the training path (random crop, flip, rotation)
is torch, imported when it runs. `to_model_input(train=False)` is `eval_input` on a tensor, bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from eemkit.errors import UsageError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PreprocessSpec:
    """How images become model input. Travels inside every checkpoint and exported artifact.

    input_size: side of the square model input (pixels).
    resize_size: side images are resized to before the (centre/random) crop.
    color: "gray" (convert to one channel, replicate to 3 at input) or "rgb".
    mean/std: per-channel normalisation applied to x/255, in RGB order.
    """

    input_size: int = 64
    resize_size: int = 71
    color: str = "gray"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    channel_order: str = field(default="RGB")

    def __post_init__(self) -> None:
        if self.input_size < 16:
            raise UsageError(f"input size {self.input_size} is too small; use 16 px or more")
        if self.resize_size < self.input_size:
            raise UsageError(
                f"resize size {self.resize_size} is smaller than input size {self.input_size}"
            )
        if self.color not in ("gray", "rgb"):
            raise UsageError(f"color must be 'gray' or 'rgb', not {self.color!r}")

    @classmethod
    def for_input(cls, input_size: int, crop_pct: float = 0.9, color: str = "gray") -> "PreprocessSpec":
        """A spec whose resize side is input_size / crop_pct (the paper: 224 resize, 200 crop)."""
        return cls(input_size=input_size, resize_size=int(math.ceil(input_size / crop_pct)), color=color)

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PreprocessSpec":
        return cls(
            input_size=int(d["input_size"]), resize_size=int(d["resize_size"]), color=d["color"],
            mean=tuple(float(v) for v in d["mean"]), std=tuple(float(v) for v in d["std"]),
            channel_order=d.get("channel_order", "RGB"),
        )


def prepare_image(image: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """Convert one uint8 image (H, W), (H, W, 1) or RGB (H, W, 3) to uint8 (R, R, C), R = resize_size.

    Raises UsageError for a non-uint8 image or an unexpected channel count.
    """
    import cv2

    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise UsageError(f"images must be uint8, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3) or min(img.shape[:2]) < 2:
        raise UsageError(f"unexpected image shape {img.shape}; expected HxW grey or HxWx3 RGB")
    if spec.color == "gray" and img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    elif spec.color == "rgb" and img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    r = spec.resize_size
    if img.shape[0] != r or img.shape[1] != r:
        shrink = img.shape[0] > r or img.shape[1] > r
        img = cv2.resize(img, (r, r), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    if img.ndim == 2:
        img = img[:, :, None]
    return np.ascontiguousarray(img)


def prepare_images(images: Sequence[np.ndarray], spec: PreprocessSpec) -> np.ndarray:
    """Stack `prepare_image` over a sequence: uint8 (N, R, R, C)."""
    if len(images) == 0:
        return np.zeros((0, spec.resize_size, spec.resize_size, spec.channels), np.uint8)
    return np.stack([prepare_image(im, spec) for im in images])


def eval_input(prepared: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """The evaluation input in numpy: uint8 (N, R, R, C) -> float32 (N, 3, S, S), centre crop, x/255,
    grey replicated to 3 channels, (x - mean) / std in float32 (the same operations, in the same order
    and precision, as the torch training path, so both give identical bits).

    Raises UsageError for a batch that is not uint8 NHWC at the spec's resize size and channels.
    """
    batch = np.asarray(prepared)
    if batch.dtype != np.uint8 or batch.ndim != 4:
        raise UsageError(f"expected a uint8 NHWC batch, got {tuple(batch.shape)} {batch.dtype}")
    _check_batch(batch.shape, spec)
    o, s = (spec.resize_size - spec.input_size) // 2, spec.input_size
    x = batch[:, o:o + s, o:o + s, :].transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
    if x.shape[1] == 1:
        x = np.broadcast_to(x, (x.shape[0], 3, s, s))
    mean = np.asarray(spec.mean, np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(spec.std, np.float32).reshape(1, 3, 1, 1)
    return np.ascontiguousarray((x - mean) / std, dtype=np.float32)


def _check_batch(shape: tuple, spec: PreprocessSpec) -> None:
    _, r, _, c = shape
    if r != spec.resize_size or c != spec.channels:
        raise UsageError(
            f"batch of {r}x{r}x{c} does not match the preprocess spec "
            f"({spec.resize_size}x{spec.resize_size}x{spec.channels})"
        )


def _crop_offsets(n: int, spec: PreprocessSpec, train: bool, gen: torch.Generator | None) -> torch.Tensor:
    import torch

    margin = spec.resize_size - spec.input_size
    if not train or margin == 0:
        return torch.full((n, 2), margin // 2, dtype=torch.long)
    return torch.randint(0, margin + 1, (n, 2), generator=gen)


def to_model_input(
    batch: torch.Tensor,
    spec: PreprocessSpec,
    train: bool = False,
    generator: torch.Generator | None = None,
    rotate_deg: float = 0.0,
) -> torch.Tensor:
    """uint8 (N, R, R, C) at resize_size -> float32 (N, 3, S, S) at input_size, normalised.

    Evaluation takes the centre crop. Training takes a random crop, a random horizontal flip and,
    if rotate_deg > 0, a random rotation in [-rotate_deg, rotate_deg]; all randomness comes from
    `generator` so a run is reproducible and resumable.
    """
    import torch

    if batch.dtype != torch.uint8 or batch.ndim != 4:
        raise UsageError(f"expected a uint8 NHWC batch, got {tuple(batch.shape)} {batch.dtype}")
    _check_batch(tuple(batch.shape), spec)
    if not train:
        return torch.from_numpy(eval_input(batch.cpu().numpy(), spec)).to(batch.device)
    x, _ = basic_train_crop(batch, spec, generator, rotate_deg)
    return normalize(x, spec)


def basic_train_crop(batch: torch.Tensor, spec: PreprocessSpec, generator: torch.Generator | None,
                     rotate_deg: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The first releases' training crop: uint8 NHWC -> float (N, C, S, S) in [0, 1] by a random crop, a
    random horizontal flip and a rotation in [-rotate_deg, rotate_deg]; returns (images, flipped (N,))."""
    import torch

    n = batch.shape[0]
    s = spec.input_size
    offs = _crop_offsets(n, spec, True, generator)
    if bool((offs == offs[0]).all()):
        y, x0 = int(offs[0, 0]), int(offs[0, 1])
        crops = batch[:, y:y + s, x0:x0 + s, :]
    else:
        crops = torch.stack([batch[i, int(o[0]):int(o[0]) + s, int(o[1]):int(o[1]) + s, :] for i, o in enumerate(offs)])
    x = crops.permute(0, 3, 1, 2).float().div_(255.0)
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if rotate_deg > 0:
        x = _random_rotate(x, rotate_deg, generator)
    return x, flip


def normalize(x: torch.Tensor, spec: PreprocessSpec) -> torch.Tensor:
    """Float (N, C, S, S) in [0, 1] -> (N, 3, S, S) normalised with the spec's mean/std (grey replicated)."""
    import torch

    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(spec.mean, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def _random_rotate(x: torch.Tensor, max_deg: float, gen: torch.Generator | None) -> torch.Tensor:
    import torch
    import torch.nn.functional as F

    n = x.shape[0]
    ang = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(max_deg)
    cos, sin = torch.cos(ang), torch.sin(ang)
    zeros = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def preprocess(images: Sequence[np.ndarray] | np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """The evaluation preprocess: uint8 images of any size -> float32 (N, 3, S, S), normalised.

    Accepts a list of HxW / HxWx3 RGB images, or an already prepared uint8 (N, R, R, C) array.
    """
    arr = images if isinstance(images, np.ndarray) and images.ndim == 4 and images.shape[1] == spec.resize_size \
        and images.shape[2] == spec.resize_size and images.shape[3] == spec.channels else prepare_images(list(images), spec)
    return eval_input(arr, spec)


def runtime_input(prepared: np.ndarray, spec: PreprocessSpec, input_kind: str = "float_nchw") -> np.ndarray:
    """Prepared uint8 (N, R, R, C) -> what an artifact takes: float32 NCHW normalised ("float_nchw"),
    or the uint8 NHWC centre crop ("uint8_nhwc", normalisation inside the model)."""
    if input_kind == "float_nchw":
        return eval_input(prepared, spec)
    if input_kind == "uint8_nhwc":
        o = (spec.resize_size - spec.input_size) // 2
        return np.ascontiguousarray(prepared[:, o:o + spec.input_size, o:o + spec.input_size, :])
    raise UsageError(f"unknown input kind {input_kind!r}; expected float_nchw or uint8_nhwc")
