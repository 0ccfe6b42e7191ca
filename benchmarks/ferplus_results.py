"""Score every finished FER+ run on the test split and write the results table.

For each run folder under runs/ (teacher, students) with a best.pt: test accuracy, average (mean per-class),
coarse accuracy, per-class accuracy, confusion matrix PNG, epochs, training wall time and images/s (from
metrics.csv), the command that reproduces it, and the machine. The distillation gain is reported per seed
and as mean +- spread over the seeds that finished.

Usage: .venv/bin/python benchmarks/ferplus_results.py [DATA] [--fresh]
A run's test score is reused from RUN/eval-test/metrics.json when that is newer than RUN/best.pt (--fresh: rescore all).
Writes benchmarks/results/ferplus/{results.json, results.md, confusion-*.png}.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from pathlib import Path

import yaml

from eemkit.runtime.env import machine_info
from eemkit.eval.evaluate import evaluate_checkpoint
from eemkit.train.checkpoint import init_chain

RUNS = [
    ("KTN teacher, 2 x ResNet-18", "runs/ferplus-teacher", "eemkit train teacher --preset ferplus-teacher"),
    ("STSN ResNet-18, distilled (seed 0)", "runs/ferplus-student-r18-s0", "eemkit train student --preset ferplus-student-r18 --seed 0 --out runs/ferplus-student-r18-s0"),
    ("STSN ResNet-18, no distillation (seed 0)", "runs/ferplus-student-r18-nodistill-s0", "eemkit train student --preset ferplus-student-r18-nodistill --seed 0 --out runs/ferplus-student-r18-nodistill-s0"),
    ("STSN ResNet-18, distilled (seed 1)", "runs/ferplus-student-r18-s1", "eemkit train student --preset ferplus-student-r18 --seed 1 --out runs/ferplus-student-r18-s1"),
    ("STSN ResNet-18, no distillation (seed 1)", "runs/ferplus-student-r18-nodistill-s1", "eemkit train student --preset ferplus-student-r18-nodistill --seed 1 --out runs/ferplus-student-r18-nodistill-s1"),
    ("STSN ShuffleNet v2 x1.0, distilled (seed 0)", "runs/ferplus-student-shufflenet-s0", "eemkit train student --preset ferplus-student-shufflenet --seed 0 --out runs/ferplus-student-shufflenet-s0"),
    ("STSN ShuffleNet v2 x1.0, no distillation (seed 0)", "runs/ferplus-student-shufflenet-nodistill-s0", "eemkit train student --preset ferplus-student-shufflenet-nodistill --seed 0 --out runs/ferplus-student-shufflenet-nodistill-s0"),
    ("STSN ShuffleNet v2 x1.0, distilled (seed 1)", "runs/ferplus-student-shufflenet-s1", "eemkit train student --preset ferplus-student-shufflenet --seed 1 --out runs/ferplus-student-shufflenet-s1"),
    ("STSN ShuffleNet v2 x1.0, no distillation (seed 1)", "runs/ferplus-student-shufflenet-nodistill-s1", "eemkit train student --preset ferplus-student-shufflenet-nodistill --seed 1 --out runs/ferplus-student-shufflenet-nodistill-s1"),
    ("STSN MobileNet v3 small, distilled (seed 0)", "runs/ferplus-student-mnv3-s0", "eemkit train student --preset ferplus-student-mnv3 --seed 0 --out runs/ferplus-student-mnv3-s0"),
    ("STSN MobileNet v3 small, no distillation (seed 0)", "runs/ferplus-student-mnv3-nodistill-s0", "eemkit train student --preset ferplus-student-mnv3-nodistill --seed 0 --out runs/ferplus-student-mnv3-nodistill-s0"),
    ("STSN ResNet-18, distilled, 4 + 16 epochs (seed 0)", "runs/ferplus-student-r18-long-s0", "eemkit train student --preset ferplus-student-r18-long"),
    ("STSN ResNet-18, no distillation, 4 + 16 epochs (seed 0)", "runs/ferplus-student-r18-long-nodistill-s0", "eemkit train student --preset ferplus-student-r18-long-nodistill"),
    ("KTN teacher, 2 x ResNet-18, 6 + 12 epochs", "runs/ferplus-teacher-long", "eemkit train teacher --preset ferplus-teacher-long"),
    ("STSN ResNet-18, distilled, 4 + 16 + 6 epochs, last 6 from the 18-epoch teacher (seed 0)", "runs/ferplus-student-r18-refresh-s0", "eemkit train student --preset ferplus-student-r18-refresh"),
    ("STSN ResNet-18, no distillation, 4 + 16 + 6 epochs (seed 0)", "runs/ferplus-student-r18-refresh-nodistill-s0", "eemkit train student --preset ferplus-student-r18-refresh-nodistill"),
] + [(f"KTN ablation: {'C-F labels' if cf == 'cf' else 'no C-F labels'}, {loss} (1 epoch x 400 steps)", f"runs/ablation/{cf}-{loss}",
      f"eemkit train teacher --preset ferplus-teacher --loss {loss} --epochs 1 --max-steps 400" + (" --no-coarse" if cf == "nocf" else "")
      + f" --out runs/ablation/{cf}-{loss}") for cf in ("cf", "nocf") for loss in ("ce", "reg", "adareg")]


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    data = args[0] if args else "../shared/data/ferplus"
    out = Path("benchmarks/results/ferplus")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, run, cmd in RUNS:
        run = Path(run)
        if not (run / "best.pt").is_file():
            continue
        hist = list(csv.DictReader(open(run / "metrics.csv")))
        cfg = yaml.safe_load(open(run / "config.yaml"))
        cached = run / "eval-test" / "metrics.json"
        if cached.is_file() and cached.stat().st_mtime > (run / "best.pt").stat().st_mtime and "--fresh" not in sys.argv:
            m = json.loads(cached.read_text())  # scored after the last change of best.pt
        else:
            m = evaluate_checkpoint(run / "best.pt", data, "ferplus", "test", out_dir=run / "eval-test")
        png = out / f"confusion-{run.name}.png"
        png.write_bytes((run / "eval-test" / "confusion.png").read_bytes())
        best_epoch = max(hist, key=lambda r: float(r["val_accuracy"]))["epoch"]
        # a run started with --init continues others: count their epochs and time too
        earlier = [list(csv.DictReader(open(folder / "metrics.csv"))) for folder, _ in init_chain(cfg)]
        before, legs = [r for h in earlier for r in h], [str(len(h)) for h in earlier]
        wall = sum(float(r["train_time_s"]) for r in before + hist) / 60
        rows.append({
            "name": name, "run": str(run), "command": cmd, "backbone": cfg["model"]["backbone"], "stage": cfg["stage"],
            "distill": cfg["loss"]["distill"] if cfg["stage"] == "student" else None, "seed": cfg["optim"]["seed"],
            "input_px": cfg["data"]["input_size"], "init": cfg.get("init"), "epochs_before_init": len(before),
            "schedule": "+".join(legs + [str(cfg["optim"]["epochs"])]),
            "epochs_done": len(before) + len(hist), "epochs_planned": len(before) + cfg["optim"]["epochs"],
            "best_epoch": len(before) + int(best_epoch), "train_wall_min": wall,
            "epoch_min_mean": statistics.mean(float(r["train_time_s"]) for r in hist) / 60,
            "epoch_min": [round(float(r["train_time_s"]) / 60, 2) for r in hist],
            "images_per_s_mean": statistics.mean(float(r["images_per_s"]) for r in hist),
            "test_accuracy": m["accuracy"], "test_average": m["average"], "test_coarse_accuracy": m["coarse_accuracy"],
            "val_accuracy_best": max(float(r["val_accuracy"]) for r in hist), "per_class": m["per_class"],
            "reg_grad_share": [float(r["reg_grad_share"]) for r in hist if r.get("reg_grad_share")],
            "confusion_png": str(png),
        })
    gains = {}
    for bb, sch in sorted({(r["backbone"], r["schedule"]) for r in rows if r["stage"] == "student"}):
        per_seed = []
        for seed in (0, 1):
            pick = [r for r in rows if r["backbone"] == bb and r["schedule"] == sch and r["seed"] == seed]
            d = [r for r in pick if r["distill"] is True]
            n = [r for r in pick if r["distill"] is False]
            if d and n:
                per_seed.append({"seed": seed, "gain_accuracy": d[0]["test_accuracy"] - n[0]["test_accuracy"],
                                 "gain_average": d[0]["test_average"] - n[0]["test_average"]})
        if per_seed:
            g = [p["gain_accuracy"] for p in per_seed]
            gains[f"{bb}, {sch} epochs"] = {"backbone": bb, "epochs": sch, "per_seed": per_seed, "mean_gain_accuracy": statistics.mean(g),
                         "spread": (max(g) - min(g)) if len(g) > 1 else None, "seeds": len(g)}
    res = {"machine": machine_info(None, "cpu"), "data": data, "protocol": "FER+ majority, model selected on valid, scored on test",
           "rows": rows, "distillation_gain": gains}
    (out / "results.json").write_text(json.dumps(res, indent=2))
    lines = ["| run | px | epochs | best epoch | train wall (min) | img/s | test acc | test avg | coarse acc | command |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['input_px']} | {r['epochs_done']}/{r['epochs_planned']} | {r['best_epoch']} | "
                     f"{r['train_wall_min']:.1f} | {r['images_per_s_mean']:.0f} | {r['test_accuracy']:.2f} | {r['test_average']:.2f} | "
                     f"{r['test_coarse_accuracy']:.2f} | `{r['command']}` |")
    lines.append("")
    for bb, g in gains.items():
        per = ", ".join(f"seed {p['seed']}: {p['gain_accuracy']:+.2f} acc / {p['gain_average']:+.2f} avg" for p in g["per_seed"])
        spread = f", spread {g['spread']:.2f}" if g["spread"] is not None else " (one seed only)"
        lines.append(f"- distillation gain, {bb}: {per}; mean {g['mean_gain_accuracy']:+.2f}{spread}")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
