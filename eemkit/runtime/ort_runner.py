"""ONNX Runtime runner: any available execution provider (CPU, CUDA, TensorRT)."""

from __future__ import annotations

import numpy as np

from eemkit.artifact import ArtifactMeta
from eemkit.errors import EemkitError, UsageError
from eemkit.runtime.base import Runner

PROVIDER_ALIASES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}


class OrtRunner(Runner):
    name = "onnxruntime"

    def __init__(self, path, meta: ArtifactMeta, providers: list[str] | None = None, threads: int | None = None) -> None:
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
        self._check_input_shape(self.session.get_inputs()[0].shape)

    def _check_input_shape(self, shape: list) -> None:
        """The model's fixed input dimensions must be what its description (metadata, or --input-size and
        --color for a foreign model) produces; else every inference call would fail."""
        s = self.spec
        want = (3, s.input_size, s.input_size) if self.input_kind == "float_nchw" else (s.input_size, s.input_size, s.channels)
        fixed = [(i, d) for i, d in enumerate(shape[1:]) if isinstance(d, int) and d > 0]
        if len(shape) != 4 or any(d != want[i] for i, d in fixed):
            raise UsageError(f"{self.path.name} takes input of shape {shape} but its description gives "
                             f"{['N', *want]} ({self.input_kind}, {s.input_size} px); for a foreign model pass the "
                             "right --input-size (and --color)")

    def _deactivate(self) -> None:
        self.session = None

    def infer(self, x: np.ndarray) -> dict[str, np.ndarray]:
        try:
            outs = self.session.run(None, {self.input_name: x})
        except Exception as err:  # onnxruntime raises its own exception types (InvalidArgument, Fail, ...)
            raise EemkitError(f"ONNX Runtime failed on {self.path.name} with input {x.shape} {x.dtype}: "
                              f"{str(err).splitlines()[0][:300]}") from None
        d = dict(zip(self.output_names, outs))
        if "fine_logits" not in d:  # a foreign ONNX: first two outputs by position
            d = {"fine_logits": outs[0], "coarse_logits": outs[1] if len(outs) > 1 else outs[0]}
        return {"fine_logits": np.asarray(d["fine_logits"], np.float32), "coarse_logits": np.asarray(d["coarse_logits"], np.float32)}
