"""The one timing routine: warm-up, then timed runs until both a minimum count and a minimum time
are reached; median / p90 / p99 / std in milliseconds."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np


def time_fn(fn: Callable[[], object], warmup: int = 5, min_runs: int = 20, min_time_s: float = 1.0,
            max_runs: int = 10000) -> dict:
    """Time `fn()`; returns {"median_ms", "p90_ms", "p99_ms", "mean_ms", "std_ms", "runs"}."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_runs and (len(times) < min_runs or time.perf_counter() - start < min_time_s):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    a = np.asarray(times)
    return {"median_ms": float(np.median(a)), "p90_ms": float(np.percentile(a, 90)), "p99_ms": float(np.percentile(a, 99)),
            "mean_ms": float(a.mean()), "std_ms": float(a.std()), "runs": int(a.size)}


def count_gflops(model, input_size: int) -> float:
    """GFLOPs of one image through `model` (multiply-add = 2 FLOPs), from torch's FLOP counter."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(torch.zeros(1, 3, input_size, input_size))
    return fc.get_total_flops() / 1e9
