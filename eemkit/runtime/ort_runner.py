"""ONNX Runtime runner: any available execution provider (CPU, CUDA, TensorRT)."""

from __future__ import annotations

import numpy as np

from eemkit.errors import EemkitError, UsageError
from eemkit.runtime.base import Runner

PROVIDER_ALIASES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}


class OrtRunner(Runner):
    name = "onnxruntime"

    def __init__(self, path, meta: dict, providers: list[str] | None = None, threads: int | None = None) -> None:
        super().__init__(path, meta)
        self.providers = [PROVIDER_ALIASES.get(p, p) for p in (providers or ["cpu"])]
        self.threads = threads
        self.session = None

    def _provider_options(self) -> list:
        """Providers with options: TensorRT's EP caches its engines (and timing) beside eemkit's cache, keyed by
        ONNX Runtime on the model, so only the first session on a device pays the build."""
        import os
        from pathlib import Path

        out: list = []
        for p in self.providers:
            if p == "TensorrtExecutionProvider":
                cache = Path(os.environ.get("EEMKIT_CACHE", Path.home() / ".cache" / "eemkit")) / "ort-trt"
                cache.mkdir(parents=True, exist_ok=True)
                out.append((p, {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache),
                                "trt_timing_cache_enable": True, "trt_fp16_enable": self.precision == "fp16",
                                "trt_int8_enable": self.precision == "int8"}))
            else:
                out.append(p)
        return out

    def _activate(self) -> None:
        import onnxruntime as ort

        avail = ort.get_available_providers()
        missing = [p for p in self.providers if p not in avail]
        if missing:
            raise EemkitError(f"ONNX Runtime here lacks {', '.join(missing)} (available: {', '.join(avail)}): for --device "
                              "cuda/tensorrt install onnxruntime-gpu instead of onnxruntime (pip install 'eemkit[gpu]', see README)")
        so = ort.SessionOptions()
        so.log_severity_level = 3
        if self.threads:
            so.intra_op_num_threads = self.threads
            so.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.path), so, providers=self._provider_options())
        except Exception as err:
            raise UsageError(f"ONNX Runtime cannot load {self.path}: {str(err).splitlines()[0]}") from None
        got = self.session.get_providers()
        if got[0] != self.providers[0]:  # onnxruntime-gpu without a usable GPU silently falls back to the CPU
            raise EemkitError(f"asked for {self.providers[0]} but ONNX Runtime runs {self.path.name} on {got[0]} "
                              "(no usable GPU, or CUDA/cuDNN/TensorRT libraries missing?)")
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def _deactivate(self) -> None:
        self.session = None

    def infer(self, x: np.ndarray) -> dict[str, np.ndarray]:
        outs = self.session.run(None, {self.input_name: x})
        d = dict(zip(self.output_names, outs))
        if "fine_logits" not in d:  # a foreign ONNX: first two outputs by position
            d = {"fine_logits": outs[0], "coarse_logits": outs[1] if len(outs) > 1 else outs[0]}
        return {"fine_logits": np.asarray(d["fine_logits"], np.float32), "coarse_logits": np.asarray(d["coarse_logits"], np.float32)}
