"""Training precision: bf16 autocast where the hardware computes bf16 natively, FP32 elsewhere.

`--precision auto` picks bf16 on a CUDA GPU that supports it, on CPUs with AMX (amx_bf16; measured
on a Xeon with AMX: ResNet-18 training at 64 px 163 -> 257 img/s) and on AMD CPUs with AVX512-BF16 (Zen 4;
measured on a 2-core EPYC: ResNet-18 training, channels_last, 179 -> 194 img/s at 64 px and 95 -> 132 at 96 px,
benchmarks/README.md 4.1). On a Xeon with AVX512-BF16 but no AMX, bf16 autocast measured no faster than FP32,
and on CPUs without either (AMD Zen 3, AVX2 only) it is emulated: auto keeps FP32 there. `--precision bf16`
forces it.
"""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from eemkit.errors import UsageError
from eemkit.hostinfo import cpu_flags, cpu_vendor

PRECISIONS = ("auto", "fp32", "bf16")
BF16_CPU_FLAGS = ("amx_bf16",)  # on any vendor's CPU
BF16_AMD_FLAGS = ("avx512_bf16",)  # on AMD's (Zen 4 and later); an Intel CPU with it but no AMX measured no faster


def resolve_precision(requested: str, device: torch.device) -> tuple[str, str]:
    """(precision, why) for a requested precision on a device. Raises UsageError for an unknown name."""
    if requested not in PRECISIONS:
        raise UsageError(f"unknown precision {requested!r}; choose one of: {', '.join(PRECISIONS)}")
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        why = "the GPU supports bf16" if ok else "the GPU has no bf16"
    else:
        flags = cpu_flags()
        have = sorted(set(BF16_CPU_FLAGS) & flags)
        if not have and cpu_vendor() == "AuthenticAMD":
            have = [f"{f} (AMD)" for f in sorted(set(BF16_AMD_FLAGS) & flags)]
        ok = bool(have)
        why = (f"the CPU has {', '.join(have)}" if ok else
               "the CPU has neither AMX nor AMD's AVX512-BF16, where bf16 training is no faster")
    if requested == "auto":
        return ("bf16" if ok else "fp32"), why
    return requested, "asked for"


def autocast(precision: str, device: torch.device) -> ContextManager:
    """The autocast context for a resolved precision (a no-op for fp32)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
