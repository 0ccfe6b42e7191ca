"""What this machine offers: versions, CPU, GPU, ONNX Runtime providers, TensorRT."""

from __future__ import annotations

import os
import platform
from importlib import metadata

from eemkit.hostinfo import cpu_summary


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def tensorrt_status() -> tuple[str | None, str]:
    """(version or None, why not usable)."""
    try:
        import tensorrt as trt  # noqa: F401
    except Exception as err:  # the PyPI stubs raise at import time
        return None, f"tensorrt not importable ({type(err).__name__}); install TensorRT (JetPack, or NVIDIA's index)"
    version = str(getattr(trt, "__version__", "unknown"))
    if version.split(".")[0].isdigit() and int(version.split(".")[0]) < 10:
        return version, "eemkit's engines need TensorRT 10+ (JetPack 6.1/6.2 ship 10.3; JetPack 6.0 ships 8.6)"
    return version, ""


def torch_info() -> dict:
    """PyTorch's version, threads and CUDA device, or Nones when torch is not installed (the runtime install)."""
    try:
        import torch
    except ImportError:
        return {"torch": None, "torch_threads": None, "cuda_available": None, "gpu": None}
    cuda = torch.cuda.is_available()
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(), "cuda_available": cuda,
            "gpu": torch.cuda.get_device_name(0) if cuda else None}


def environment_info() -> dict:
    """Versions, CPU, GPU, ONNX Runtime providers, TensorRT and OpenCV; torch is optional."""
    from eemkit import __version__

    d: dict = {
        "eemkit": __version__, "python": platform.python_version(), "platform": platform.platform(),
        "cpu": cpu_summary(), "cpu_cores": os.cpu_count(), **torch_info(),
    }
    try:
        import onnxruntime as ort

        d["onnxruntime"] = ort.__version__
        d["ort_providers"] = ort.get_available_providers()
        # what --device can ask for here (the EP list of onnxruntime-gpu shows CUDA/TensorRT even without a GPU:
        # a session then fails with one line rather than fall back)
        d["devices"] = ["cpu"] + [dev for dev, ep in (("cuda", "CUDAExecutionProvider"), ("tensorrt", "TensorrtExecutionProvider"))
                                  if ep in d["ort_providers"]]
    except ImportError:
        d["onnxruntime"] = None
        d["ort_providers"] = []
        d["devices"] = []
    d["onnx"] = _version("onnx")
    d["tensorrt"], why = tensorrt_status()
    if why:
        d["tensorrt_note"] = why
    d["cuda_python"] = _version("cuda-python") or _version("cuda-bindings")
    d["opencv"] = _opencv_version()
    d["numpy"] = _version("numpy")
    return d


def _opencv_version() -> str | None:
    """The pip wheel's version, else the imported cv2's (JetPack's apt OpenCV has no pip metadata)."""
    v = _version("opencv-python-headless") or _version("opencv-python") or _version("opencv-contrib-python")
    if v:
        return v
    try:
        import cv2

        return f"{cv2.__version__} (system)"
    except ImportError:
        return None


def machine_info(threads: int | None, device: str) -> dict:
    """What a benchmark ran on: CPU, threads, device, GPU and the runtime versions."""
    env = environment_info()
    return {"cpu": env["cpu"], "cpu_cores": env["cpu_cores"], "threads": threads or env["torch_threads"] or env["cpu_cores"],
            "device": device, "gpu": env["gpu"], "torch": env["torch"], "onnxruntime": env["onnxruntime"],
            "tensorrt": env["tensorrt"], "eemkit": env["eemkit"], "platform": env["platform"]}
