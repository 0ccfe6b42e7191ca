"""PyTorch eager runner for eemkit checkpoints."""

from __future__ import annotations

import numpy as np
import torch

from eemkit.runtime.base import Runner


def checkpoint_meta(ckpt: dict) -> dict:
    from eemkit.labels import LabelSpace

    labels = LabelSpace.from_dict(ckpt["labels"])
    return {"classes": list(labels.fine), "coarse_classes": list(labels.coarse), "preprocess": ckpt["preprocess"],
            "input": "float_nchw", "precision": "fp32", "model_spec": ckpt["model_spec"],
            "coarse_index": list(labels.coarse_index), "fine_to_coarse": labels.fine_to_coarse_map(),
            "class_prior": ckpt.get("class_prior"),
            "logit_adjust": float(ckpt.get("config", {}).get("loss", {}).get("logit_adjust", 0.0))}


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, path, device: str = "cpu", threads: int | None = None, mirror: bool = False) -> None:
        """mirror: average the logits of each image and its mirror (as an export with --mirror-average)."""
        from eemkit.train.checkpoint import load_checkpoint

        self._ckpt = load_checkpoint(path)
        super().__init__(path, checkpoint_meta(self._ckpt))
        self.device, self.threads, self.mirror = torch.device(device), threads, mirror
        self.meta["mirror_average"] = mirror
        self.model = None

    def _activate(self) -> None:
        from eemkit.models import ModelSpec, create_model

        if self.threads:
            torch.set_num_threads(self.threads)
        m = create_model(ModelSpec.from_dict(self._ckpt["model_spec"]))
        m.load_state_dict(self._ckpt["model"])
        self.model = m.eval().to(self.device)

    def _deactivate(self) -> None:
        self.model = None

    @torch.no_grad()
    def infer(self, x: np.ndarray) -> dict[str, np.ndarray]:
        from eemkit.models.eem import logits_of, mirror_average

        x_t = torch.from_numpy(np.ascontiguousarray(x)).to(self.device)
        fine, coarse = mirror_average(self.model, x_t) if self.mirror else logits_of(self.model(x_t))
        return {"fine_logits": fine.float().cpu().numpy(), "coarse_logits": coarse.float().cpu().numpy()}

    def parameter_count(self) -> int:
        return sum(int(v.numel()) for k, v in self._ckpt["model"].items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
