"""One Runner interface for every runtime (after Polygraphy): activate / infer / deactivate, and a
context manager. Every runner exposes the artifact's metadata (classes, preprocess, input kind), so
callers prepare input with the one shared preprocess and read outputs by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from eemkit.artifact import ArtifactMeta
from eemkit.data.preprocess import PreprocessSpec, prepare_images, runtime_input
from eemkit.errors import UsageError
from eemkit.labels import LabelSpace
from eemkit.priors import PriorShift, prior_shift


class Runner(ABC):
    """Runs one model artifact. `infer(x)` takes the artifact's input (float32 NCHW normalised, or
    uint8 NHWC for uint8-input artifacts) with any batch size and returns {"fine_logits": (N, K),
    "coarse_logits": (N, 4)} as float32 numpy arrays."""

    name = "runner"
    max_batch: int | None = None  # the largest batch one call to the backend takes (an engine's profile); None: any

    def __init__(self, path: str | Path, meta: ArtifactMeta | dict) -> None:
        self.path = Path(path)
        self.meta = meta if isinstance(meta, ArtifactMeta) else ArtifactMeta.from_dict(meta, self.path)
        try:
            self.labels = self.meta.labels
            self.spec = PreprocessSpec.from_dict(self.meta.preprocess)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            what = f"lacks {err}" if isinstance(err, KeyError) else f"is malformed ({err})"
            raise UsageError(f"the eemkit metadata of {self.path} {what}; re-export the model with `eemkit export`") from None
        self.input_kind: str = self.meta.input
        self.precision: str = self.meta.precision
        self.prior: PriorShift = prior_shift(self.meta, "train")
        self.active = False

    def set_class_prior(self, choice: str | Path) -> "Runner":
        """Choose the operating point (train | uniform | uniform:S | JSON file) that `postprocess` applies."""
        self.prior = prior_shift(self.meta, choice)
        return self

    def postprocess(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Raw outputs of `infer` -> logits at the chosen class prior (identity at the training prior)."""
        return out if self.prior.is_identity else self.prior.apply(out)

    def activate(self) -> "Runner":
        if not self.active:
            self._activate()
            self.active = True
        return self

    def deactivate(self) -> None:
        if self.active:
            self._deactivate()
            self.active = False

    def __enter__(self) -> "Runner":
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.deactivate()

    @abstractmethod
    def _activate(self) -> None: ...

    def _deactivate(self) -> None:
        pass

    @abstractmethod
    def infer(self, x: np.ndarray) -> dict[str, np.ndarray]: ...

    def infer_prepared(self, prepared: np.ndarray, batch: int = 256, raw: bool = False) -> dict[str, np.ndarray]:
        """Run prepared uint8 images (N, R, R, C) through the model, in batches of at most `batch` and of at
        most the runner's max_batch; logits at the chosen class prior (raw: as the model gives them)."""
        step = min(batch, self.max_batch or batch)
        outs: dict[str, list] = {}
        for i in range(0, len(prepared), step):
            o = self.infer(runtime_input(prepared[i:i + step], self.spec, self.input_kind))
            for k, v in o.items():
                outs.setdefault(k, []).append(v)
        res = {k: np.concatenate(v) for k, v in outs.items()}
        return res if raw else self.postprocess(res)

    def infer_images(self, images: list[np.ndarray], raw: bool = False) -> dict[str, np.ndarray]:
        """Run raw RGB/grey uint8 images (any size) through the shared preprocess and the model."""
        return self.infer_prepared(prepare_images(images, self.spec), raw=raw)
