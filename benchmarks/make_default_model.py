"""Build the default model shipped inside the package (eemkit/assets/default-student.int8.onnx) and its
model card, from a trained student checkpoint.

Usage: .venv/bin/python benchmarks/make_default_model.py CKPT [DATA] [--why TEXT] [--train "eemkit train ..."]...
       [--threads N] [--mirror-average]
Exports INT8 (CPU Q/DQ, min-max, the published calibration manifest of its input side, sampled and published
when there is none yet; with --mirror-average a graph that averages the face and its mirror), checks it against
the checkpoint on the full FER+ test split, copies it into eemkit/assets/, measures the shipped file as a user
gets it (`eemkit predict --crops`, both class priors), at the operating points between them (uniform:S, FER+
valid and test) and under the robustness conditions of `eemkit eval --robustness`, and writes
eemkit/assets/MODEL_CARD.md and benchmarks/results/default_model.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from eemkit.data.stats import dataset_stats
from eemkit.errors import UsageError
from eemkit.io_utils import atomic_write_text
from eemkit.runtime.env import machine_info
from eemkit.eval.evaluate import evaluate_checkpoint, evaluate_model
from eemkit.eval.parity import check_artifact
from eemkit.export.api import ExportOptions, export_checkpoint
from eemkit.train.checkpoint import init_chain, load_checkpoint

ASSETS = Path("eemkit/assets")
# the published calibration set for the model's input side: calibration/ferplus-train-512-seed0-<px>px.json
MANIFEST = "calibration/ferplus-train-512-seed0-{px}px.json"


def demo_label(row: dict) -> str:
    """' (haar, margin 0.05)' for the demo condition's row, '' for the others."""
    return f" ({row['detector']}, margin {row['margin']:g})" if row.get("margin") is not None else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("data", nargs="?", default="../shared/data/ferplus")
    ap.add_argument("--why", default="")
    ap.add_argument("--train", action="append", default=[], help="the training commands that produced CKPT, in order")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads for torch and ONNX Runtime (default: all)")
    ap.add_argument("--mirror-average", action="store_true", help="ship a graph that averages the face and its mirror")
    a = ap.parse_args()
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    ck = load_checkpoint(a.ckpt)
    art = Path(a.ckpt).parent / "default-model"
    manifest = Path(MANIFEST.format(px=ck["config"]["data"]["input_size"]))
    published = manifest.is_file()  # else sampled by the export (512 class-balanced train images, seed 0)
    exp = export_checkpoint(a.ckpt, art, ExportOptions(int8=True, calib_manifest=str(manifest) if published else None,
                                                       calib_data=a.data, mirror_average=a.mirror_average), log=print)
    onnx = exp["artifacts"]["onnx-int8"]["path"]
    chk = check_artifact(onnx, a.ckpt, a.data, "ferplus", "test", threads=a.threads)
    if not chk["passed"]:  # never ship (nor publish a card or a manifest for) an artifact that fails its parity check
        raise SystemExit(f"{onnx} fails the parity check against {a.ckpt}: {'; '.join(chk['failures'])}; not shipped")
    if not published:  # publish the set it sampled, so that the next build of this input side reuses it
        tmp = manifest.with_suffix(".json.tmp")
        shutil.copyfile(art / "calibration.json", tmp)
        tmp.replace(manifest)
        print(f"wrote {manifest}: add it to git with the model")
    ev = evaluate_checkpoint(a.ckpt, a.data, "ferplus", "test")
    ASSETS.mkdir(exist_ok=True)
    dst = ASSETS / "default-student.int8.onnx"
    tmp = dst.with_suffix(".onnx.tmp")  # atomic: a stopped copy never leaves a truncated default model
    shutil.copyfile(onnx, tmp)
    tmp.replace(dst)
    cfg = ck["config"]
    m = chk["artifact_metrics"]
    # the shipped file as a user gets it (the CLI, both operating points), and under shifted input
    sys.path.insert(0, str(Path(__file__).parent))
    from predict_crops_ferplus import predict_crops

    user = {p: predict_crops(str(dst), a.data, p, a.threads or 1) for p in ("train", "uniform")}
    counts = dataset_stats(a.data, "ferplus")  # majority labels, the protocol the test scores use
    tr, te = counts["splits"]["train"]["fine"], counts["splits"]["test"]["fine"]
    rare_names = sorted(te, key=lambda c: tr[c])[:2]  # the two classes with the fewest training images
    rare = "; ".join(f"{c}: {te[c]} test, {tr[c]} training images" for c in rare_names)
    rob = evaluate_model(dst, a.data, "ferplus", "test", robustness=(), threads=a.threads)
    # the demo condition again with the detector that finds more faces, where its model file is installed
    try:  # UsageError, before any scoring, where CenterFace's model file is not installed
        rob["robustness"] += evaluate_model(dst, a.data, "ferplus", "test", robustness=("demo",), threads=a.threads,
                                            detector="centerface")["robustness"]
        centerface = "and with `--detector centerface` at its margin"
    except UsageError as e:
        centerface = f"not with CenterFace: {e}"
        print(f"no CenterFace demo row: {e}")
    # the operating points between the two ends (uniform:S removes the share S of the training prior), on valid
    # (where a user would choose S) and test
    points = ("train", "uniform:0.25", "uniform:0.5", "uniform:0.75", "uniform")
    ops = {sp: evaluate_model(dst, a.data, "ferplus", sp, priors=points, threads=a.threads)["priors"] for sp in ("valid", "test")}
    op_rows = "\n".join(f"| `{p}` | " + " | ".join(f"{ops[sp][p]['accuracy']:.2f} / {ops[sp][p]['average']:.2f}" for sp in ("valid", "test"))
                        + " | " + " / ".join(f"{ops['test'][p]['per_class'][c]:.1f}" for c in rare_names) + " |" for p in points)

    def leg(c: dict) -> str:
        o = c["optim"]
        t = f", distilled from {c['teacher']}" if c["stage"] == "student" and c["loss"]["distill"] else ""
        ema = f", EMA {o['ema']}" if o.get("ema") else ""
        return f"{o['epochs']} epochs ({o.get('optimizer', 'adam')} lr {o['lr']}, {o.get('schedule', 'step')} schedule{ema}{t})"

    # a run started with --init continues others: name every leg, first one first, each with where it started
    configs = [c for _, c in init_chain(cfg)] + [cfg]
    schedule = ", then ".join(leg(c) + (f" started from `{c['init']}`" if c.get("init") else "") for c in configs)
    train_cmds = a.train or [
        "eemkit train teacher --preset ferplus-teacher",
        f"eemkit train student --preset {'ferplus-student-shufflenet' if 'shufflenet' in cfg['model']['backbone'] else 'ferplus-student-r18'}"
        f" --seed {cfg['optim']['seed']} --out {Path(a.ckpt).parent}"]
    train_lines = "\n".join(train_cmds)
    per = "\n".join(f"| {c} | {ev['support'][c]} | {ev['per_class'][c]:.1f} | {user['train']['per_class'][c]:.1f} | "
                    f"{user['uniform']['per_class'][c]:.1f} |" for c in ev["classes"])
    pri = [p for p in ("train", "uniform") if f"accuracy_{p}" in rob["robustness"][0]]
    rob_rows = "\n".join(f"| {r['condition']}{demo_label(r)} | " + " | ".join(f"{r['accuracy_' + p]:.2f} / {r['average_' + p]:.2f}" for p in pri)
                         + f" | {'-' if r['detector_recall'] is None else format(r['detector_recall'], '.1f')} |"
                         for r in rob["robustness"])
    rob_head = "| condition | " + " | ".join(f"acc / avg, {p} prior" for p in pri) + " | detector recall % |\n| --- |" + " --- |" * (len(pri) + 1)
    import shlex

    regen = " ".join([".venv/bin/python benchmarks/make_default_model.py", shlex.quote(a.ckpt), shlex.quote(a.data)]
                     + (["--mirror-average"] if a.mirror_average else []) + (["--threads", str(a.threads)] if a.threads else [])
                     + (["--why", shlex.quote(a.why)] if a.why else []) + [x for t in a.train for x in ("--train", shlex.quote(t))])
    mirror = ("the graph runs the face and its mirror and averages their logits (measured: benchmarks/README.md, 7.4)"
              if a.mirror_average else "no (`eemkit export --mirror-average` adds it; benchmarks/README.md, 7.4)")
    ref_head = ("PyTorch, mirror-averaged (the parity reference)" if a.mirror_average
                else "PyTorch (the parity reference)")
    card = f"""# Model card: eemkit default student (INT8 ONNX)

**For research use only.** The weights were trained on FER2013 images (FER+ labels). The FER2013 pixels
come from the ICML 2013 "Challenges in Representation Learning" Kaggle challenge and are licensed for
research only; models derived from them inherit that restriction. The FER+ labels are MIT (Microsoft).

| | |
| --- | --- |
| file | `eemkit/assets/default-student.int8.onnx` ({dst.stat().st_size / 1e6:.2f} MB) |
| network | STSN student, {cfg['model']['backbone']} shared backbone, two-stream head (fine 8 classes + coarse 4) |
| training | {cfg['stage']} stage, distillation {'on' if cfg['loss']['distill'] else 'off'}; {schedule}; batch {cfg['optim']['batch_size']}, seed {cfg['optim']['seed']}; from scratch (no ImageNet weights) |
| data and protocol | FER+ train ({'vote-distribution (soft)' if cfg['data'].get('label_mode') == 'probability' else 'majority'} labels), model selected on FER+ valid, scored on FER+ test (3,136 images, majority protocol) |
| input | {cfg['data']['input_size']} px {'greyscale face crop (replicated to 3 channels)' if cfg['data'].get('color', 'gray') == 'gray' else 'RGB face crop'}, float NCHW normalised with ImageNet mean/std; the preprocessing is embedded in the ONNX metadata |
| outputs | `fine_logits` (neutral, happiness, surprise, sadness, anger, disgust, fear, contempt), `coarse_logits` (positive, negative, neutral, surprise) |
| quantization | ONNX Runtime static Q/DQ, uint8 activations / int8 per-channel weights (CPU target), min-max calibration on `{manifest}` |
| mirror averaging | {mirror} |
| class prior | recorded in the metadata; `--class-prior train` (default) keeps the FER+ training prior, `uniform` removes it, `uniform:S` removes the share S of it (below), a JSON file sets the deployment's own |
| why this model | {a.why or 'see benchmarks/README.md'} |

## Accuracy on FER+ test
| | PyTorch checkpoint (face only) | {ref_head} | this INT8 model | `eemkit predict --crops` | `predict --crops --class-prior uniform` |
| --- | --- | --- | --- | --- | --- |
| accuracy | {ev['accuracy']:.2f} | {chk['reference']['accuracy']:.2f} | {m['accuracy']:.2f} | {user['train']['accuracy']:.2f} | {user['uniform']['accuracy']:.2f} |
| average (mean per-class) | {ev['average']:.2f} | {chk['reference']['average']:.2f} | {m['average']:.2f} | {user['train']['average']:.2f} | {user['uniform']['average']:.2f} |
| coarse accuracy | {ev['coarse_accuracy']:.2f} | {chk['reference']['coarse_accuracy']:.2f} | {m['coarse_accuracy']:.2f} | {user['train']['coarse_accuracy']:.2f} | {user['uniform']['coarse_accuracy']:.2f} |
| top-1 agreement with the parity reference | | | {chk['fine']['agreement']:.2f} % | | |

Per class (% correct), the PyTorch checkpoint (face only) at the training prior and the shipped INT8 model through `predict --crops`
at both operating points:

| class | test images | PyTorch | INT8, train prior | INT8, uniform prior |
| --- | --- | --- | --- | --- |
{per}

The rare classes ({rare}) decide the average.
FER+ test shares the training prior, so the train operating point scores higher here; on faces whose
expressions are not mostly neutral (posed sets, other datasets) `--class-prior uniform` is the one to use.

## Operating points between the two ends (`--class-prior uniform:S`, this INT8 model)
`uniform:S` multiplies the model's probabilities by the training prior to the power -S: `uniform:0` is `train`,
`uniform:1` is `uniform`. Choose S on data like your deployment's (here: FER+ valid), not on the test split.

| class prior | FER+ valid, acc / avg | FER+ test, acc / avg | test, {" / ".join(rare_names)} % |
| --- | --- | --- | --- |
{op_rows}

## Robustness on FER+ test (`eemkit eval --robustness`, this INT8 model)
Each condition changes the test faces the way a deployment does; "demo" is what the demo sees: the face
placed in a larger frame, found by the Haar detector, cropped with the margin it carries (faces it misses count
as errors), {centerface}; other margins: benchmarks/crop_framing.py, benchmarks/README.md 7.16.

{rob_head}
{rob_rows}

## Regenerate
```bash
{train_lines}
{regen}
```
Measured on: {machine_info(a.threads, 'cpu')['cpu']}, {a.threads or 'all'} thread(s).
"""
    atomic_write_text(ASSETS / "MODEL_CARD.md", card, what="model card")
    atomic_write_text(Path("benchmarks/results/default_model.json"), json.dumps(
        {"checkpoint": a.ckpt, "mirror_average": a.mirror_average, "machine": machine_info(a.threads, "cpu"),
         "class_counts": {sp: counts["splits"][sp]["fine"] for sp in ("train", "test")},
         "checkpoint_metrics": {k: ev[k] for k in ("accuracy", "average", "coarse_accuracy", "per_class")},
         "check": chk, "predict_crops": user, "robustness": rob["robustness"],
         "operating_points": {sp: {p: {k: v[k] for k in ("accuracy", "average", "coarse_accuracy", "per_class")}
                                   for p, v in ops[sp].items()} for sp in ops}}, indent=2), what="results")
    print(card)


if __name__ == "__main__":
    main()
