"""Training augmentation, batched in torch and drawn from one generator (reproducible, resumable).

Covers what a face detector hands the classifier in the demo: a face framed a little larger or
smaller, off-centre, tilted, mirrored, under other light, soft (small faces upscaled), JPEG-compressed,
partly covered. One affine `grid_sample` per batch does the geometry (random-resized crop with aspect
jitter, translation, rotation, flip); photometric jitter, blur, JPEG and erasing follow. Mixup and
CutMix act on the normalised batch and its (soft) targets.

`AugmentSpec` is read from the `data` config section; `AugmentSpec()` with its defaults is the
"basic" recipe of the first releases (random crop, flip, rotation), which `to_model_input` keeps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from eemkit.errors import UsageError


@dataclass(frozen=True)
class AugmentSpec:
    """scale: area of the sampled window relative to the evaluation crop, (min, max).
    aspect: width/height ratio range (log-uniform). translate: max shift as a fraction of the crop side.
    rotate_deg: max rotation. photometric: strength of brightness/contrast/gamma jitter (0 = off;
    1 = brightness ±0.25, contrast x[0.6, 1.4], gamma x[0.67, 1.5]). blur_p: probability of a
    down-and-up resample blur (factor 1.5-4). jpeg_p: probability of JPEG re-encoding at quality 25-90.
    erase_p: probability of erasing a random rectangle (2-25 % of the area) with noise."""

    scale: tuple[float, float] = (1.0, 1.0)
    aspect: tuple[float, float] = (1.0, 1.0)
    translate: float = 0.0
    rotate_deg: float = 10.0
    flip: bool = True
    photometric: float = 0.0
    blur_p: float = 0.0
    jpeg_p: float = 0.0
    erase_p: float = 0.0

    def __post_init__(self) -> None:
        lo, hi = self.scale
        if not 0.05 <= lo <= hi <= 4.0:
            raise UsageError(f"data.scale_min and data.scale_max must satisfy 0.05 <= scale_min <= scale_max <= 4, got {lo} and {hi}")
        lo, hi = self.aspect
        if not 0.25 <= lo <= hi <= 4.0:
            raise UsageError(f"data.aspect must be between 1 and 4 (the ratio range is [1/aspect, aspect]), got {hi}")
        for name, v, top in (("translate", self.translate, 0.5), ("rotate_deg", self.rotate_deg, 180.0),
                             ("photometric", self.photometric, 2.0), ("blur_p", self.blur_p, 1.0),
                             ("jpeg_p", self.jpeg_p, 1.0), ("erase_p", self.erase_p, 1.0)):
            if not 0.0 <= v <= top:
                raise UsageError(f"data.{name} must be between 0 and {top}, got {v}")

    @property
    def is_basic(self) -> bool:
        """True when only the first releases' random crop + flip + rotation is asked for."""
        return (self.scale == (1.0, 1.0) and self.aspect == (1.0, 1.0) and self.translate == 0 and self.photometric == 0
                and self.blur_p == 0 and self.jpeg_p == 0 and self.erase_p == 0 and self.flip)


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator | None) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def geometric(x: torch.Tensor, out_size: int, aug: AugmentSpec, gen: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Float (N, C, R, R) -> (N, C, S, S) through one random affine per image; returns (images, flipped (N,) bool).

    Identity parameters give exactly the evaluation centre crop's field of view (S / R of the image)."""
    n, _, r, _ = x.shape
    base = out_size / r
    area = _uniform(n, *aug.scale, gen)
    log_ar = _uniform(n, math.log(aug.aspect[0]), math.log(aug.aspect[1]), gen)
    ar = torch.exp(log_ar)
    sx = base * torch.sqrt(area * ar)
    sy = base * torch.sqrt(area / ar)
    ang = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(aug.rotate_deg)
    tx = (torch.rand(n, generator=gen) * 2 - 1) * aug.translate * 2 * base
    ty = (torch.rand(n, generator=gen) * 2 - 1) * aug.translate * 2 * base
    flipped = (torch.rand(n, generator=gen) < 0.5) if aug.flip else torch.zeros(n, dtype=torch.bool)
    fx = torch.where(flipped, -sx, sx)
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([torch.stack([fx * cos, -sy * sin, tx], 1), torch.stack([fx * sin, sy * cos, ty], 1)], 1)
    grid = F.affine_grid(theta, [n, x.shape[1], out_size, out_size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False), flipped


def photometric(x: torch.Tensor, strength: float, gen: torch.Generator | None) -> torch.Tensor:
    """Brightness, contrast and gamma jitter on [0, 1] images (N, C, H, W)."""
    if strength <= 0:
        return x
    n = x.shape[0]
    b = _uniform(n, -0.25 * strength, 0.25 * strength, gen).view(n, 1, 1, 1)
    c = _uniform(n, 1 - 0.4 * strength, 1 + 0.4 * strength, gen).view(n, 1, 1, 1)
    g = torch.exp(_uniform(n, -math.log(1.5) * strength, math.log(1.5) * strength, gen)).view(n, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * c + mean + b).clamp(0, 1)
    return x.clamp_min(1e-6).pow(g)


def resample_blur(x: torch.Tensor, p: float, gen: torch.Generator | None) -> torch.Tensor:
    """With probability p per image, shrink by 1.5-4x and enlarge back (a small face, upscaled)."""
    n, _, h, w = x.shape
    pick = torch.rand(n, generator=gen) < p
    factors = _uniform(n, 1.5, 4.0, gen)
    if not bool(pick.any()):
        return x
    out = x.clone()
    for i in torch.nonzero(pick).flatten().tolist():
        f = float(factors[i])
        small = F.interpolate(x[i:i + 1], size=(max(4, int(h / f)), max(4, int(w / f))), mode="area")
        out[i:i + 1] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return out


def jpeg(x: torch.Tensor, p: float, gen: torch.Generator | None) -> torch.Tensor:
    """With probability p per image, JPEG-encode and decode at quality 25-90 (x in [0, 1])."""
    import cv2

    n = x.shape[0]
    pick = torch.rand(n, generator=gen) < p
    quality = torch.randint(25, 91, (n,), generator=gen)
    if not bool(pick.any()):
        return x
    out = x.clone()
    for i in torch.nonzero(pick).flatten().tolist():
        img = (x[i] * 255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
        ok, buf = cv2.imencode(".jpg", img if img.shape[2] == 3 else img[:, :, 0], [cv2.IMWRITE_JPEG_QUALITY, int(quality[i])])
        dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        out[i] = torch.from_numpy(dec.reshape(img.shape)).permute(2, 0, 1).float().div_(255.0)
    return out


def erase(x: torch.Tensor, p: float, gen: torch.Generator | None) -> torch.Tensor:
    """Random erasing (Zhong et al. 2020): with probability p, a rectangle of 2-25 % of the area,
    aspect 0.3-3.3, filled with uniform noise."""
    n, c, h, w = x.shape
    pick = torch.rand(n, generator=gen) < p
    area = _uniform(n, 0.02, 0.25, gen) * h * w
    ar = torch.exp(_uniform(n, math.log(0.3), math.log(3.3), gen))
    eh = torch.sqrt(area * ar).round().clamp(1, h).long()
    ew = torch.sqrt(area / ar).round().clamp(1, w).long()
    y0 = (torch.rand(n, generator=gen) * (h - eh + 1).float()).long()
    x0 = (torch.rand(n, generator=gen) * (w - ew + 1).float()).long()
    noise = torch.rand(x.shape, generator=gen)
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    mask = (rows >= y0.view(n, 1, 1)) & (rows < (y0 + eh).view(n, 1, 1)) & (cols >= x0.view(n, 1, 1)) \
        & (cols < (x0 + ew).view(n, 1, 1)) & pick.view(n, 1, 1)
    return torch.where(mask.unsqueeze(1), noise, x)


def augment(batch: torch.Tensor, out_size: int, aug: AugmentSpec, gen: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 NHWC (N, R, R, C) -> float (N, C, S, S) in [0, 1], augmented; and the flip mask (N,)."""
    x = batch.permute(0, 3, 1, 2).float().div_(255.0)
    x, flipped = geometric(x, out_size, aug, gen)
    x = photometric(x, aug.photometric, gen)
    if aug.blur_p > 0:
        x = resample_blur(x, aug.blur_p, gen)
    if aug.jpeg_p > 0:
        x = jpeg(x, aug.jpeg_p, gen)
    if aug.erase_p > 0:
        x = erase(x, aug.erase_p, gen)
    return x, flipped


def mix_batch(x: torch.Tensor, mixup: float, cutmix: float, rng: np.random.Generator) -> tuple[torch.Tensor, float, torch.Tensor]:
    """Mixup (Zhang et al. 2018) or CutMix (Yun et al. 2019) with a Beta(alpha, alpha) weight; when both
    are on, each batch picks one at random. Returns (mixed x, lam, perm): targets mix as
    lam * t + (1 - lam) * t[perm] (for CutMix lam is the kept area)."""
    choices = [k for k, a in (("mixup", mixup), ("cutmix", cutmix)) if a > 0]
    if not choices:
        raise ValueError("mix_batch needs mixup or cutmix > 0")
    kind = choices[int(rng.integers(len(choices)))]
    alpha = mixup if kind == "mixup" else cutmix
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(x.shape[0]))
    if kind == "mixup":
        return lam * x + (1 - lam) * x[perm], lam, perm
    h, w = x.shape[2:]
    ch, cw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy, cx = int(rng.integers(h)), int(rng.integers(w))
    y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
    x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
    x = x.clone()
    x[:, :, y0:y1, x0:x1] = x[perm][:, :, y0:y1, x0:x1]
    return x, 1 - (y1 - y0) * (x1 - x0) / (h * w), perm


def train_input(batch: torch.Tensor, spec, aug: AugmentSpec, gen: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch: uint8 NHWC at the spec's resize size -> normalised float (N, 3, S, S), and
    which images were mirrored (N,) (cached teacher outputs follow the mirror)."""
    from eemkit.data.preprocess import basic_train_crop, normalize

    if aug.is_basic:
        x, flipped = basic_train_crop(batch, spec, gen, aug.rotate_deg)
    else:
        x, flipped = augment(batch, spec.input_size, aug, gen)
    return normalize(x, spec), flipped
