"""Build the default model shipped inside the package (eemkit/assets/default-student.int8.onnx) and its
model card, from a trained student checkpoint.

Usage: .venv/bin/python benchmarks/make_default_model.py CKPT [DATA] [--why TEXT] [--train "eemkit train ..."]... [--threads N]
Exports INT8 (CPU Q/DQ, min-max, the published calibration manifest), checks it against the checkpoint on
the full FER+ test split, copies it into eemkit/assets/ and writes eemkit/assets/MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from eemkit.runtime.env import machine_info
from eemkit.eval.evaluate import evaluate_checkpoint
from eemkit.eval.parity import check_artifact
from eemkit.export.api import ExportOptions, export_checkpoint
from eemkit.train.checkpoint import init_chain, load_checkpoint

ASSETS = Path("eemkit/assets")
MANIFEST = "calibration/ferplus-train-512-seed0-64px.json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("data", nargs="?", default="../shared/data/ferplus")
    ap.add_argument("--why", default="")
    ap.add_argument("--train", action="append", default=[], help="the training commands that produced CKPT, in order")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads for torch and ONNX Runtime (default: all)")
    a = ap.parse_args()
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    ck = load_checkpoint(a.ckpt)
    art = Path(a.ckpt).parent / "default-model"
    exp = export_checkpoint(a.ckpt, art, ExportOptions(int8=True, calib_manifest=MANIFEST, calib_data=a.data), log=print)
    onnx = exp["artifacts"]["onnx-int8"]["path"]
    chk = check_artifact(onnx, a.ckpt, a.data, "ferplus", "test", threads=a.threads)
    ev = evaluate_checkpoint(a.ckpt, a.data, "ferplus", "test")
    ASSETS.mkdir(exist_ok=True)
    dst = ASSETS / "default-student.int8.onnx"
    shutil.copyfile(onnx, dst)
    cfg = ck["config"]
    m = chk["artifact_metrics"]

    def leg(c: dict) -> str:
        o = c["optim"]
        t = f", distilled from {c['teacher']}" if c["stage"] == "student" and c["loss"]["distill"] else ""
        return f"{o['epochs']} epochs (Adam lr {o['lr']}, {o.get('schedule', 'step')} schedule{t})"

    # a run started with --init continues others: name every leg, first one first, each with where it started
    configs = [c for _, c in init_chain(cfg)] + [cfg]
    schedule = ", then ".join(leg(c) + (f" started from `{c['init']}`" if c.get("init") else "") for c in configs)
    train_cmds = a.train or [
        "eemkit train teacher --preset ferplus-teacher",
        f"eemkit train student --preset {'ferplus-student-shufflenet' if 'shufflenet' in cfg['model']['backbone'] else 'ferplus-student-r18'}"
        f" --seed {cfg['optim']['seed']} --out {Path(a.ckpt).parent}"]
    train_lines = "\n".join(train_cmds)
    per = "\n".join(f"| {c} | {ev['support'][c]} | {ev['per_class'][c]:.1f} | {(chk['per_class_diff'][c] or 0) + ev['per_class'][c]:.1f} |"
                    for c in ev["classes"])
    card = f"""# Model card: eemkit default student (INT8 ONNX)

**For research use only.** The weights were trained on FER2013 images (FER+ labels). The FER2013 pixels
come from the ICML 2013 "Challenges in Representation Learning" Kaggle challenge and are licensed for
research only; models derived from them inherit that restriction. The FER+ labels are MIT (Microsoft).

| | |
| --- | --- |
| file | `eemkit/assets/default-student.int8.onnx` ({dst.stat().st_size / 1e6:.2f} MB) |
| network | STSN student, {cfg['model']['backbone']} shared backbone, two-stream head (fine 8 classes + coarse 4) |
| training | {cfg['stage']} stage, distillation {'on' if cfg['loss']['distill'] else 'off'}; {schedule}; batch {cfg['optim']['batch_size']}, seed {cfg['optim']['seed']}; from scratch (no ImageNet weights) |
| data and protocol | FER+ train (majority labels, 25,045 images), model selected on FER+ valid, scored on FER+ test (3,136 images, majority protocol) |
| input | {cfg['data']['input_size']} px greyscale face crop (replicated to 3 channels), float NCHW normalised with ImageNet mean/std; the preprocessing is embedded in the ONNX metadata |
| outputs | `fine_logits` (neutral, happiness, surprise, sadness, anger, disgust, fear, contempt), `coarse_logits` (positive, negative, neutral, surprise) |
| quantization | ONNX Runtime static Q/DQ, uint8 activations / int8 per-channel weights (CPU target), min-max calibration on `{MANIFEST}` |
| why this backbone | {a.why or 'see benchmarks/README.md'} |

## Accuracy on FER+ test
| | PyTorch checkpoint | this INT8 model |
| --- | --- | --- |
| accuracy | {chk['reference']['accuracy']:.2f} | {m['accuracy']:.2f} |
| average (mean per-class) | {chk['reference']['average']:.2f} | {m['average']:.2f} |
| coarse accuracy | {chk['reference']['coarse_accuracy']:.2f} | {m['coarse_accuracy']:.2f} |
| top-1 agreement with PyTorch | | {chk['fine']['agreement']:.2f} % |

| class | test images | PyTorch acc % | INT8 acc % |
| --- | --- | --- | --- |
{per}

The rare classes (disgust 16, contempt 15 test images; 116 and 120 training images) are poorly recognised:
read the average, not only the accuracy.

## Regenerate
```bash
{train_lines}
.venv/bin/python benchmarks/make_default_model.py {a.ckpt}
```
Measured on: {machine_info(None, 'cpu')['cpu']}.
"""
    (ASSETS / "MODEL_CARD.md").write_text(card)
    Path("benchmarks/results/default_model.json").write_text(json.dumps({"checkpoint": a.ckpt, "check": chk}, indent=2))
    print(card)


if __name__ == "__main__":
    main()
