"""Training throughput (images/s, forward + backward + Adam, batch 32) of the default student and teacher
at the default input size, NCHW vs channels_last, on this machine's CPU threads.

Usage: .venv/bin/python benchmarks/train_throughput.py [--threads 2] [--steps 12] [--size 64] [--precision fp32|bf16]
Writes benchmarks/results/train_throughput.json (or --out) and prints a Markdown table. --precision bf16 runs the
forward pass under eemkit's bf16 autocast (eemkit.train.precision), as `eemkit train --precision bf16`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from eemkit.runtime.env import machine_info
from eemkit.labels import LabelSpace
from eemkit.losses import EEMObjective, LossConfig
from eemkit.models import ModelSpec, create_model
from eemkit.train.precision import autocast


def measure(kind: str, backbone: str, size: int, channels_last: bool, steps: int, teacher=None, precision: str = "fp32") -> float:
    labels = LabelSpace.for_dataset("ferplus")
    torch.manual_seed(0)
    model = create_model(ModelSpec.for_labels(labels, kind=kind, backbone=backbone))
    obj = EEMObjective(LossConfig(loss="adareg" if kind == "teacher" else "ce", distill=teacher is not None),
                       kind, labels, [1] * 8)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randn(32, 3, size, size)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 8, (32,))
    model.train()
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        with autocast(precision, x.device):
            out = model(x)
            t_out = None
            if teacher is not None:
                with torch.no_grad():
                    t_out = teacher(x)
        out = {k: v.float() for k, v in out.items()}
        t_out = None if t_out is None else {k: v.float() for k, v in t_out.items()}
        loss = obj(out, y, t_out)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        obj.after_step(out, y)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return 32 * len(times) / sum(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--out", default="benchmarks/results/train_throughput.json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    labels = LabelSpace.for_dataset("ferplus")
    teacher = create_model(ModelSpec.for_labels(labels, kind="teacher", backbone="resnet18")).eval()
    rows = []
    for name, kind, bb, t in (("teacher KTN 2 x ResNet-18", "teacher", "resnet18", None),
                              ("student STSN ResNet-18, no teacher", "student", "resnet18", None),
                              ("student STSN ResNet-18 + frozen teacher forward", "student", "resnet18", teacher),
                              ("student STSN ShuffleNet v2 x1.0", "student", "shufflenet_v2_x1_0", None),
                              ("student STSN MobileNet v3 small", "student", "mobilenet_v3_small", None)):
        for cl in (False, True):
            ips = measure(kind, bb, a.size, cl, a.steps, t, a.precision)
            rows.append({"model": name, "input_px": a.size, "channels_last": cl, "precision": a.precision, "images_per_s": ips,
                         "ferplus_epoch_min": 25045 / ips / 60})
            print(f"{name:50s} {'channels_last' if cl else 'NCHW':14s} {ips:7.1f} img/s", flush=True)
    res = {"machine": machine_info(a.threads, "cpu"), "batch": 32, "command": "python benchmarks/train_throughput.py "
           f"--threads {a.threads} --steps {a.steps} --size {a.size} --precision {a.precision}", "rows": rows}
    Path(a.out).write_text(json.dumps(res, indent=2))
    print("\n| model | px | layout | images/s | FER+ epoch (min) |\n| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['model']} | {r['input_px']} | {'channels_last' if r['channels_last'] else 'NCHW'} | "
              f"{r['images_per_s']:.1f} | {r['ferplus_epoch_min']:.1f} |")


if __name__ == "__main__":
    main()
