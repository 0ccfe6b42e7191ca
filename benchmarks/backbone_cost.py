"""Parameters and multiply-adds of the student backbones at one input size (torch's FLOP counter, batch 1),
as the presets build them: the figures the ShuffleNet v2 x2.0 preset's comment quotes.

Usage: .venv/bin/python benchmarks/backbone_cost.py [SIZE] [--small-stem]
Writes benchmarks/results/backbones/cost-<SIZE>px[-small-stem].json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from eemkit.io_utils import atomic_write_text
from eemkit.models import STUDENT_BACKBONES, create_backbone
from eemkit.runtime.env import machine_info


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("size", type=int, nargs="?", default=64)
    ap.add_argument("--small-stem", action="store_true")
    a = ap.parse_args()
    rows = []
    for name in STUDENT_BACKBONES:
        m, dim = create_backbone(name, small_stem=a.small_stem)
        m.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            m(torch.zeros(1, 3, a.size, a.size))
        rows.append({"backbone": name, "params_m": sum(p.numel() for p in m.parameters()) / 1e6,
                     "mmac": fc.get_total_flops() / 2e6, "feature_dim": dim})
        print(f"{name:22s} {rows[-1]['params_m']:6.2f} M params {rows[-1]['mmac']:8.1f} M MACs")
    out = Path("benchmarks/results/backbones") / f"cost-{a.size}px{'-small-stem' if a.small_stem else ''}.json"
    atomic_write_text(out, json.dumps({"command": f"python benchmarks/backbone_cost.py {a.size}"
                                       + (" --small-stem" if a.small_stem else ""), "input_size": a.size,
                                       "small_stem": a.small_stem, "machine": machine_info(1, "cpu"), "rows": rows},
                                      indent=2), what="results")


if __name__ == "__main__":
    main()
