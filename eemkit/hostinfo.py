"""What machine this is: the CPU model and its feature flags (read from /proc/cpuinfo, no imports beyond
the standard library), for every figure eemkit writes down (training rows, benchmarks)."""

from __future__ import annotations

import platform


def _cpuinfo_field(name: str) -> str | None:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The CPU's model name ("Intel(R) Xeon(R) Processor", "AMD EPYC 7B13"); the platform's guess elsewhere."""
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_vendor() -> str:
    """The CPU vendor ("GenuineIntel", "AuthenticAMD"); "" where /proc/cpuinfo does not say."""
    return _cpuinfo_field("vendor_id") or ""


def cpu_flags() -> set[str]:
    """The CPU feature flags (empty where /proc/cpuinfo cannot be read)."""
    flags = _cpuinfo_field("flags")
    return set(flags.split()) if flags else set()


def cpu_summary() -> str:
    """The model and the flags that decide training and INT8 speed, e.g. "Intel(R) Xeon(R) Processor
    (AVX512-BF16, AVX512-VNNI)"."""
    flags = cpu_flags()
    named = [label for flag, label in (("amx_bf16", "AMX-BF16"), ("amx_int8", "AMX-INT8"), ("avx512_bf16", "AVX512-BF16"),
                                       ("avx512_vnni", "AVX512-VNNI"), ("avx2", "AVX2")) if flag in flags]
    if "AVX512-VNNI" in named or "AMX-BF16" in named:
        named = [n for n in named if n != "AVX2"]
    return f"{cpu_model()} ({', '.join(named)})" if named else cpu_model()
