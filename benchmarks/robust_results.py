"""Score the robust-recipe runs (issue 12) on FER+ test and write their results table.

For each run folder below that has a best.pt: test accuracy, average and coarse accuracy at the training
prior, accuracy and average with the prior removed (`--class-prior uniform`), the robustness conditions of
`eemkit eval --robustness` (accuracy at the training prior), epochs done / planned, best epoch, training
wall time, images/s, the precision and the machine of every epoch (a run resumed over sessions may have
changed machines; epochs from before eemkit recorded the machine say so). Then the distillation gain per
backbone and seed, the teachers' lead (the KTN's, and the recorded test scores of the ensemble and 96 px
teachers in TEACHER_TESTS) over each same-schedule 64 px student without a teacher, and the small students' gap to the distilled ResNet-18.

Then the short-schedule runs (runs/table3-student/*, runs/ablation-student/*, runs/recipe-items/*,
runs/distill-mode/*): test scores at both priors and the regulariser's share of the gradient, and the paper's
Table III from the finished table3-student runs at the paper's lambda_A (mean over the seeds done).
The 8-epoch runs are also scored under the robustness conditions, and each recipe item and way of teaching is
set beside the baseline of its seed and precision (ablation-student/cf-ce, or cf-ce-fp32) in a table of differences.

Usage: .venv/bin/python benchmarks/robust_results.py [DATA] [--fresh] [--threads N]
A run's scores are reused from RUN/eval-robust/metrics.json when that is newer than RUN/best.pt.
Writes benchmarks/results/ferplus-robust/{results.json, results.md}.

Run folders do not always survive from one machine to the next (checkpoints are not committed), so a row whose
folder is gone here is carried from the results.json already written, marked `"recorded": true`, and a live run
replaces its recorded row only once it has done as many epochs. A short-schedule run's metrics.csv is copied to
metrics/<lane>-<run>.csv, where the epoch table and the precision / machine columns find it later.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

import yaml

from eemkit.eval.evaluate import evaluate_model
from eemkit.io_utils import atomic_write_text
from eemkit.losses.objectives import LossConfig
from eemkit.runtime.env import machine_info

S = "eemkit train student --preset"
MILD_AUG = " ".join(f"--set data.{k}" for k in ("scale_min=1", "scale_max=1", "aspect=1", "translate=0", "erase_p=0",
                                                 "rotate_deg=10"))
RUNS = [
    ("KTN teacher, 2 x ResNet-18", "runs/ferplus-teacher-robust", "eemkit train teacher --preset ferplus-teacher-robust"),
    *[(f"STSN ResNet-18, distilled (seed {s})", f"runs/ferplus-student-r18-robust-s{s}",
       f"{S} ferplus-student-r18-robust --seed {s} --out runs/ferplus-student-r18-robust-s{s}") for s in (0, 1)],
    *[(f"STSN ResNet-18, no distillation (seed {s})", f"runs/ferplus-student-r18-robust-nodistill-s{s}",
       f"{S} ferplus-student-r18-robust-nodistill --seed {s} --out runs/ferplus-student-r18-robust-nodistill-s{s}")
      for s in (0, 1)],
    *[(f"STSN ResNet-18, distilled from the ensemble (seed {s})", f"runs/ferplus-student-r18-robust-ens-s{s}",
       f"bash benchmarks/reproduce_ferplus.sh DATA targets-ensemble; {S} ferplus-student-r18-robust --seed {s} "
       f"--teacher runs/targets/ensemble.npz --out runs/ferplus-student-r18-robust-ens-s{s}") for s in (0, 1)],
    ("STSN ShuffleNet v2 x1.0, no distillation (seed 0)", "runs/ferplus-student-shufflenet-robust-nodistill-s0",
     f"{S} ferplus-student-shufflenet-robust-nodistill"),
    ("STSN MobileNet v3 small, no distillation (seed 0)", "runs/ferplus-student-mnv3-robust-nodistill-s0",
     f"{S} ferplus-student-mnv3-robust-nodistill"),
    ("STSN MobileNet v3 small, distilled from the ensemble (seed 0)", "runs/ferplus-student-mnv3-robust-s0",
     f"{S} ferplus-student-mnv3-robust --teacher runs/targets/ensemble.npz"),
    ("STSN ShuffleNet v2 x1.0, distilled from the ensemble (seed 0)", "runs/ferplus-student-shufflenet-robust-s0",
     f"{S} ferplus-student-shufflenet-robust --teacher runs/targets/ensemble.npz"),
    ("STSN ShuffleNet v2 x2.0, distilled from the ensemble (seed 0)", "runs/ferplus-student-shufflenet-x2-robust-s0",
     f"{S} ferplus-student-shufflenet-x2-robust --teacher runs/targets/ensemble.npz"),
    ("STSN ShuffleNet v2 x2.0, no distillation (seed 0)", "runs/ferplus-student-shufflenet-x2-robust-nodistill-s0",
     f"{S} ferplus-student-shufflenet-x2-robust-nodistill"),
    # the 8-epoch recipe item mild-aug (plain geometry: no crop scale, aspect, shift or erasing; rotation 10 degrees)
    # at the full 40-epoch schedule, against the robust recipe's run of the same seed
    ("STSN ResNet-18, mild augmentation, no distillation (seed 0)", "runs/ferplus-student-r18-mild-nodistill-s0",
     f"{S} ferplus-student-r18-robust-nodistill --seed 0 {MILD_AUG} --out runs/ferplus-student-r18-mild-nodistill-s0"),
    # the 8-epoch recipe item input-96 at the full schedule, against the 64 px run of the same seed
    *[(f"STSN ResNet-18 at 96 px, no distillation (seed {s})", f"runs/ferplus-student-r18-96-nodistill-s{s}",
       f"{S} ferplus-student-r18-robust-nodistill --seed {s} --input-size 96 --out runs/ferplus-student-r18-96-nodistill-s{s}")
      for s in (0, 1)],
    # the 64 px students distilled from the teacher built on the 96 px ResNet-18 (lane targets-96)
    *[(f"STSN ResNet-18, distilled from the 96 px teacher (seed {s})", f"runs/ferplus-student-r18-robust-t96-s{s}",
       f"bash benchmarks/reproduce_ferplus.sh DATA targets-96; {S} ferplus-student-r18-robust --seed {s} "
       f"--teacher runs/targets/teacher96.npz --out runs/ferplus-student-r18-robust-t96-s{s}") for s in (0, 1)],
    # self-distillation at 96 px (lane r18-96-t96-s0): a default-model candidate, against the 96 px run of its seed
    ("STSN ResNet-18 at 96 px, distilled from the 96 px network (seed 0)", "runs/ferplus-student-r18-96-t96-s0",
     f"{S} ferplus-student-r18-robust --seed 0 --input-size 96 --teacher runs/ferplus-student-r18-96-nodistill-s0/best.pt "
     "--out runs/ferplus-student-r18-96-t96-s0"),
    # the same taught by the shipped default INT8 model (the 96 px network's checkpoint was lost), at 28 epochs: what
    # one 3-hour session on 2 cores can finish (lane r18-96-tdefault-e28-s0)
    ("STSN ResNet-18 at 96 px, 28 epochs, distilled from the shipped default (seed 0)",
     "runs/ferplus-student-r18-96-tdefault-e28-s0",
     f"{S} ferplus-student-r18-robust --seed 0 --input-size 96 --epochs 28 "
     "--teacher eemkit/assets/default-student.int8.onnx --out runs/ferplus-student-r18-96-tdefault-e28-s0"),
    # the same at the full 40 epochs (lane r18-96-tdefault-s0): fits one session on the Xeon with AMX (~2.4 min/epoch)
    ("STSN ResNet-18 at 96 px, distilled from the shipped default (seed 0)", "runs/ferplus-student-r18-96-tdefault-s0",
     f"{S} ferplus-student-r18-robust --seed 0 --input-size 96 "
     "--teacher eemkit/assets/default-student.int8.onnx --out runs/ferplus-student-r18-96-tdefault-s0"),
    # the 64 px students distilled from the ensemble of the two 96 px default models (lane targets-96ens)
    *[(f"STSN ResNet-18, distilled from the 2 x 96 px ensemble (seed {s})", f"runs/ferplus-student-r18-robust-t96ens-s{s}",
       f"bash benchmarks/reproduce_ferplus.sh DATA targets-96ens; {S} ferplus-student-r18-robust --seed {s} "
       f"--teacher runs/targets/teacher96ens.npz --out runs/ferplus-student-r18-robust-t96ens-s{s}") for s in (0, 1)],
    # the next default-model candidate: 96 px, taught by the same ensemble (lane r18-96-t96ens-s0), against the 96 px
    # run without a teacher and the shipped default's own network (r18-96-tdefault-s0)
    ("STSN ResNet-18 at 96 px, distilled from the 2 x 96 px ensemble (seed 0)", "runs/ferplus-student-r18-96-t96ens-s0",
     f"bash benchmarks/reproduce_ferplus.sh DATA targets-96ens; {S} ferplus-student-r18-robust --seed 0 --input-size 96 "
     "--teacher runs/targets/teacher96ens.npz --out runs/ferplus-student-r18-96-t96ens-s0"),
]
OUT = Path("benchmarks/results/ferplus-robust")
# teachers that are not run folders, scored on test by benchmarks/tta_views.py --split test --scales 0.9: the file
# and the name in the tables; its row "ensemble" (the mean of its models; one model's own row for one), mirror-averaged
TEACHER_TESTS = [
    (OUT / "ensemble-teacher-test.json", "ensemble teacher (KTN + ResNet-18 s0, mirror-averaged)"),
    (OUT / "teacher96-test.json", "96 px teacher (ResNet-18 at 96 px, seed 0, mirror-averaged)"),
    (OUT / "teacher96ens-test.json", "2 x 96 px ensemble teacher (defaults of 1fedd68 and 681a6d5, mirror-averaged)"),
]
SNAPSHOTS = OUT / "metrics"
# metrics snapshots of the long runs (copied by hand before the short-run snapshots were automatic)
EPOCH_SNAPSHOTS = {"runs/ferplus-teacher-robust": "teacher-robust.csv",
                   **{f"runs/ferplus-student-r18-robust-nodistill-s{s}": f"nodistill-s{s}.csv" for s in (0, 1)}}
CONDITIONS = ("shift", "zoom-out", "rotate", "low-res", "low-light", "jpeg", "demo")
# The demo condition's crop margin in these tables: the 0.15 every row was scored with before the detectors carried
# their own (Haar 0.05 since 2026-12-01, benchmarks/README.md 7.16), so that new rows compare with the recorded ones.
DEMO_MARGIN = 0.15


def score(run: Path, data: str, threads: int | None, fresh: bool, conditions: tuple[str, ...] | None = CONDITIONS) -> dict:
    cached = run / "eval-robust" / "metrics.json"
    if cached.is_file() and cached.stat().st_mtime > (run / "best.pt").stat().st_mtime and not fresh:
        try:
            m = json.loads(cached.read_text())
        except ValueError:  # a damaged cache is scored again
            m = {}
        # scored on the same data, with the same conditions, after best.pt last changed
        if Path(m.get("data", "")).resolve() == Path(data).resolve() and \
                set(conditions or ()) <= {r.get("condition") for r in m.get("robustness") or []}:
            return m
    m = evaluate_model(run / "best.pt", data, "ferplus", "test", robustness=conditions, threads=threads,
                       out_dir=run / "eval-robust", margin=DEMO_MARGIN if conditions and "demo" in conditions else None)
    m["data"] = str(data)
    atomic_write_text(cached, json.dumps(m, indent=2), what="metrics")
    return m


def recipe(run: str | Path) -> str:
    """The recipe a long run trained with: `mild` (the mild augmentation), else `robust` (the presets' own)."""
    return "mild" if "-mild-" in Path(run).name else "robust"


def row(name: str, run: Path, cmd: str, m: dict) -> dict:
    hist = list(csv.DictReader(open(run / "metrics.csv")))
    cfg = yaml.safe_load(open(run / "config.yaml"))
    best = max(hist, key=lambda r: float(r["val_accuracy"]))
    machines: dict[str, int] = {}
    for r in hist:
        k = r.get("machine") or "not recorded"
        machines[k] = machines.get(k, 0) + 1
    train, uni = m["priors"]["train"], m["priors"].get("uniform", {})
    rob = {r["condition"]: r for r in m.get("robustness", [])}
    return {
        "name": name, "run": str(run), "command": cmd, "recipe": recipe(run), "stage": cfg["stage"], "backbone": cfg["model"]["backbone"],
        "distill": cfg["loss"]["distill"] if cfg["stage"] == "student" else None, "seed": cfg["optim"]["seed"],
        "input_px": cfg["data"]["input_size"], "epochs_done": len(hist), "epochs_planned": cfg["optim"]["epochs"],
        "best_epoch": int(best["epoch"]), "val_accuracy_best": float(best["val_accuracy"]),
        "train_min": sum(float(r["train_time_s"]) for r in hist) / 60,  # training steps only, not validation
        "images_per_s_mean": statistics.mean(float(r["images_per_s"]) for r in hist),
        "precision": sorted({r.get("precision") or "not recorded" for r in hist}), "machines": machines,
        "test_accuracy": train["accuracy"], "test_average": train["average"], "test_coarse_accuracy": train["coarse_accuracy"],
        "uniform_accuracy": uni.get("accuracy"), "uniform_average": uni.get("average"),
        "per_class": train["per_class"], "per_class_uniform": uni.get("per_class"),
        "robustness": {c: {"accuracy": rob[c]["accuracy_train"], "average": rob[c]["average_train"],
                           "detector_recall": rob[c]["detector_recall"]} for c in rob},
    }


def epoch_table() -> list[str]:
    """Valid accuracy / average after each epoch: the teacher beside the students without a teacher (the lead
    issue 12 asks for, epoch by epoch; valid scores the EMA weights at the train operating point)."""
    runs = [("teacher", "runs/ferplus-teacher-robust")] + [(f"no teacher s{s}", f"runs/ferplus-student-r18-robust-nodistill-s{s}")
                                                          for s in (0, 1)]
    def metrics(d: str) -> Path:  # the run's own metrics.csv, else its committed snapshot
        live = Path(d) / "metrics.csv"
        return live if live.is_file() or d not in EPOCH_SNAPSHOTS else SNAPSHOTS / EPOCH_SNAPSHOTS[d]
    hist = {n: {int(r["epoch"]): r for r in csv.DictReader(open(metrics(d)))} for n, d in runs if metrics(d).is_file()}
    if "teacher" not in hist or len(hist) < 2:
        return []
    names = list(hist)
    out = ["| epoch | " + " | ".join(f"{n} valid acc / avg" for n in names) + " | teacher lead (acc) |",
           "| --- " * (len(names) + 2) + "|"]
    for e in sorted(set().union(*[h.keys() for h in hist.values()])):
        cells = [f"{float(hist[n][e]['val_accuracy']):.2f} / {float(hist[n][e]['val_average']):.2f}" if e in hist[n] else "-"
                 for n in names]
        base = [float(hist[n][e]["val_accuracy"]) for n in names[1:] if e in hist[n]]
        lead = (f"{float(hist['teacher'][e]['val_accuracy']) - sum(base) / len(base):+.2f}"
                if e in hist["teacher"] and base else "-")
        out.append(f"| {e} | " + " | ".join(cells) + f" | {lead} |")
    return out


def snapshot_name(name: str) -> str:
    """metrics/ file of a short run: table3-student/cf-ce-s0 -> table3-cf-ce-s0.csv."""
    lane, run = name.split("/")
    return f"{lane.removesuffix('-student')}-{run}.csv"


def carry(live: list[dict], recorded: list[dict]) -> list[dict]:
    """Live rows, and the recorded rows whose run is not here or has done fewer epochs here (a restart on a new
    machine), in the recorded order first."""
    by_name = {r["name"]: r for r in live}
    out = []
    for old in recorded:
        new = by_name.pop(old["name"], None)
        if new is not None and new["epochs_done"] >= old["epochs_done"]:
            out.append(new)
        else:
            out.append({**old, "recorded": True, **({"live_epochs_done": new["epochs_done"]} if new else {})})
    return out + list(by_name.values())


def short_rows(data: str, threads: int | None, fresh: bool) -> list[dict]:
    """The table3-student, ablation-student, recipe-items and distill-mode runs (benchmarks/reproduce_ferplus.sh):
    test scores at both priors, precision, machine and training time. Each run's metrics.csv is snapshotted."""
    rows = []
    found = [f for d in ("table3-student", "ablation-student", "recipe-items", "distill-mode")
             for f in sorted(Path("runs", d).glob("*/best.pt"))]
    for run in found:
        run = run.parent
        hist = list(csv.DictReader(open(run / "metrics.csv")))
        cfg = yaml.safe_load(open(run / "config.yaml"))
        # the finished 8-epoch runs compare recipe items with their baseline, robustness included (3-4 min a run at
        # 1 thread); Table III and runs still training are scored on test only
        full = run.parent.name != "table3-student" and len(hist) >= cfg["optim"]["epochs"]
        m = score(run, data, threads, fresh, conditions=CONDITIONS if full else None)
        shares = [float(r["reg_grad_share"]) for r in hist if r.get("reg_grad_share")]
        train, uni = m["priors"]["train"], m["priors"].get("uniform", {})
        name = f"{run.parent.name}/{run.name}"
        snap = SNAPSHOTS / snapshot_name(name)
        if not snap.is_file() or len(list(csv.DictReader(open(snap)))) <= len(hist):
            atomic_write_text(snap, (run / "metrics.csv").read_text(), what="metrics snapshot")
        rows.append({"name": name, "seed": cfg["optim"]["seed"], "loss": cfg["loss"]["loss"]
                     + (f" + distill ({cfg['loss'].get('teacher_outputs', 'cached')})" if cfg["loss"]["distill"] else ""),
                     "cf": cfg["model"].get("use_coarse", True), "lambda_a": cfg["loss"]["lambda_a"],
                     "reg_grad_share": statistics.mean(shares) if shares else None, "epochs_done": len(hist),
                     "epochs_planned": cfg["optim"]["epochs"], "test_accuracy": train["accuracy"],
                     "test_average": train["average"], "test_coarse_accuracy": train["coarse_accuracy"],
                     "uniform_accuracy": uni.get("accuracy", float("nan")), "uniform_average": uni.get("average", float("nan")),
                     "robustness": {r["condition"]: {"accuracy": r["accuracy_train"], "average": r["average_train"],
                                                     "detector_recall": r["detector_recall"]}
                                    for r in m.get("robustness") or []},
                     **history_facts(hist)})
    return rows


def history_facts(hist: list[dict]) -> dict:
    """Precision, machines and training minutes of a run from its metrics rows."""
    return {"precision": sorted({r.get("precision") or "not recorded" for r in hist}),
            "machines": sorted({r.get("machine") or "not recorded" for r in hist}),
            "train_min": sum(float(r["train_time_s"]) for r in hist) / 60}


def fill_history(row: dict) -> dict:
    """A recorded short row from before these columns: its facts from its metrics snapshot, where there is one."""
    snap = SNAPSHOTS / snapshot_name(row["name"])
    if "precision" in row or not snap.is_file():
        return row
    return {**row, **history_facts(list(csv.DictReader(open(snap))))}


PAPER_LAMBDA_A = LossConfig().lambda_a  # the loss defaults are the paper's (METHOD.md)


def table3(short: list[dict]) -> list[dict]:
    """The paper's Table III from the finished table3-student runs at the paper's lambda_A: per loss and C-F
    labels or not, the mean test accuracy and average over the seeds done."""
    cells = []
    for loss in ("ce", "reg", "adareg"):
        for cf in (False, True):
            runs = [r for r in short if r["name"].startswith("table3-student/") and r["loss"] == loss and r["cf"] == cf
                    and r["lambda_a"] == PAPER_LAMBDA_A]
            done = [r for r in runs if r["epochs_done"] == r["epochs_planned"]]
            partial = [r for r in runs if r["epochs_done"] < r["epochs_planned"]]
            cells.append({"loss": loss, "cf": cf, "seeds": sorted(r["seed"] for r in done),
                          "interim": [{"seed": r["seed"], "epochs_done": r["epochs_done"],
                                       "epochs_planned": r["epochs_planned"], "test_accuracy": r["test_accuracy"],
                                       "test_average": r["test_average"]} for r in partial],
                          "precision": sorted({p for r in done for p in r.get("precision", ["not recorded"])}),
                          "test_accuracy": statistics.mean(r["test_accuracy"] for r in done) if done else None,
                          "test_average": statistics.mean(r["test_average"] for r in done) if done else None})
    return cells


def table3_lines(cells: list[dict]) -> list[str]:
    def cell(loss: str, cf: bool) -> str:
        c = next(c for c in cells if c["loss"] == loss and c["cf"] == cf)
        if not c["seeds"]:
            return "; ".join(f"interim, seed {i['seed']} at {i['epochs_done']} of {i['epochs_planned']} epochs: "
                             f"{i['test_accuracy']:.2f} / {i['test_average']:.2f}" for i in c["interim"]) or "not run yet"
        seeds = ("seeds " if len(c["seeds"]) > 1 else "seed ") + ", ".join(map(str, c["seeds"]))
        return f"{c['test_accuracy']:.2f} / {c['test_average']:.2f} ({seeds}; {', '.join(c['precision'])})"
    lines = ["", "Table III on the student (table3-student, 12 epochs, lambda_A 0.01; FER+ test accuracy / average at "
             "the training prior, mean over the finished seeds):", "",
             "| loss | without C-F labels | with C-F labels |", "| --- | --- | --- |"]
    for loss, name in (("ce", "CE"), ("reg", "Reg"), ("adareg", "AdaReg")):
        lines.append(f"| {name} | {cell(loss, False)} | {cell(loss, True)} |")
    return lines


def adareg_weight(short: list[dict]) -> list[dict]:
    """AdaReg with C-F labels at each lambda_A run (table3-student), per seed, beside CE with C-F labels of the same
    seed: where the regulariser starts to move the student."""
    out = []
    runs = [r for r in short if r["name"].startswith("table3-student/") and r["cf"]]
    for w in sorted({r["lambda_a"] for r in runs if r["loss"] == "adareg"}):
        for r in sorted((r for r in runs if r["loss"] == "adareg" and r["lambda_a"] == w), key=lambda r: r["seed"]):
            ce = next((c for c in runs if c["loss"] == "ce" and c["seed"] == r["seed"]
                       and c["epochs_done"] == c["epochs_planned"]), None)
            out.append({"lambda_a": w, "seed": r["seed"], "run": r["name"], "epochs_done": r["epochs_done"],
                        "epochs_planned": r["epochs_planned"], "reg_grad_share": r["reg_grad_share"],
                        "test_accuracy": r["test_accuracy"], "test_average": r["test_average"],
                        "ce_accuracy": ce["test_accuracy"] if ce else None,
                        "ce_average": ce["test_average"] if ce else None})
    return out


def adareg_weight_lines(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    lines = ["", "AdaReg's weight (table3-student, C-F labels, 12 epochs; FER+ test at the training prior) against CE "
             "with C-F labels of the same seed:", "",
             "| lambda_A | seed | epochs | reg grad share | acc / avg | CE acc / avg | AdaReg - CE |", "| --- " * 7 + "|"]
    for r in rows:
        share = "-" if r["reg_grad_share"] is None else f"{r['reg_grad_share']:.1e}"
        ce = "not run yet" if r["ce_accuracy"] is None else f"{r['ce_accuracy']:.2f} / {r['ce_average']:.2f}"
        diff = ("-" if r["ce_accuracy"] is None or r["epochs_done"] < r["epochs_planned"] else
                f"{r['test_accuracy'] - r['ce_accuracy']:+.2f} / {r['test_average'] - r['ce_average']:+.2f}")
        lines.append(f"| {r['lambda_a']:g} | {r['seed']} | {r['epochs_done']}/{r['epochs_planned']} | {share} | "
                     f"{r['test_accuracy']:.2f} / {r['test_average']:.2f} | {ce} | {diff} |")
    return lines


def baseline_of(item: dict, short: list[dict]) -> dict | None:
    """The finished 8-epoch CE baseline of an item's seed and precision: ablation-student/cf-ce-s<seed> (trained with
    --precision auto: bf16 on the machines with AMX that ran it) or cf-ce-fp32-s<seed> (--precision fp32); an item
    of another precision than both is compared with the first that exists."""
    names = (f"ablation-student/cf-ce-s{item['seed']}", f"ablation-student/cf-ce-fp32-s{item['seed']}")
    bases = [b for b in short if b["name"] in names and b["epochs_done"] == b["epochs_planned"]]
    same = [b for b in bases if b.get("precision") == item.get("precision")]
    return (same or sorted(bases, key=lambda b: names.index(b["name"])) or [None])[0]


def recipe_items(short: list[dict]) -> list[dict]:
    """Each recipe item (recipe-items/<item>-s<seed>) and way of teaching (distill-mode/<mode>-s<seed>) beside the
    finished 8-epoch CE baseline of its seed and precision (baseline_of): test at both priors, the robustness
    conditions, and the training minutes (what the item costs)."""
    out = []
    for r in sorted((r for r in short if r["name"].split("/")[0] in ("recipe-items", "distill-mode")),
                    key=lambda r: (r["name"].split("/")[0], r["name"].rsplit("-s", 1)[0], r["seed"])):
        base = baseline_of(r, short)
        keys = ("test_accuracy", "test_average", "uniform_accuracy", "uniform_average", "train_min")
        out.append({"item": r["name"].rsplit("-s", 1)[0], "seed": r["seed"], "run": r["name"],
                    "epochs_done": r["epochs_done"], "epochs_planned": r["epochs_planned"],
                    **{k: r.get(k) for k in keys}, "robustness": r.get("robustness", {}),
                    "baseline": None if base is None else {"run": base["name"], **{k: base.get(k) for k in keys},
                                                           "robustness": base.get("robustness", {})}})
    return out


def recipe_items_lines(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    lines = ["", "Each recipe item on its own and the two ways of teaching (8 epochs, ResNet-18, CE with C-F labels), "
             "minus the baseline of the same seed and precision (ablation-student/cf-ce; cf-ce-fp32 for the -fp32 "
             "items): FER+ test accuracy / average at the training prior and with it removed, the robustness "
             "conditions (accuracy at the training prior), and training minutes:", "",
             "| item | seed | epochs | acc / avg | delta | uniform delta | " + " | ".join(CONDITIONS) + " | min (base) |",
             "| --- " * (7 + len(CONDITIONS)) + "|"]
    for r in rows:
        b = r["baseline"]
        done = r["epochs_done"] == r["epochs_planned"]
        if b is None or not done:
            delta = uni = "-"
            rob = ["-"] * len(CONDITIONS)
        else:
            delta = f"{r['test_accuracy'] - b['test_accuracy']:+.2f} / {r['test_average'] - b['test_average']:+.2f}"
            uni = f"{r['uniform_accuracy'] - b['uniform_accuracy']:+.2f} / {r['uniform_average'] - b['uniform_average']:+.2f}"
            rob = [f"{r['robustness'][c]['accuracy'] - b['robustness'][c]['accuracy']:+.1f}"
                   if c in r["robustness"] and c in b["robustness"] else "-" for c in CONDITIONS]
        mins = f"{r['train_min']:.0f}" + ("" if b is None or b.get("train_min") is None else f" ({b['train_min']:.0f})")
        lines.append(f"| {r['item']} | {r['seed']} | {r['epochs_done']}/{r['epochs_planned']} | "
                     f"{r['test_accuracy']:.2f} / {r['test_average']:.2f} | {delta} | {uni} | {' | '.join(rob)} | {mins} |")
    bases = {r["baseline"]["run"]: r["baseline"] for r in rows if r["baseline"]}
    for name, b in sorted(bases.items()):
        rob = ", ".join(f"{c} {b['robustness'][c]['accuracy']:.1f}" for c in CONDITIONS if c in b["robustness"])
        lines += ["", f"Baseline {name}: {b['test_accuracy']:.2f} / {b['test_average']:.2f}, uniform "
                     f"{b['uniform_accuracy']:.2f} / {b['uniform_average']:.2f}; {rob or 'robustness not scored'}."]
    return lines


RECORDED_NOTE = ("(r): carried from the results.json written before; the run folder is not on the machine that "
                 "wrote this table (a restart there shows in results.json as live_epochs_done).")


def mark(r: dict) -> str:
    return " (r)" if r.get("recorded") else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default="../shared/data/ferplus")
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    out = OUT
    out.mkdir(parents=True, exist_ok=True)
    try:
        recorded = json.loads((out / "results.json").read_text())
    except (OSError, ValueError):
        recorded = {}
    rows = []
    for name, run, cmd in RUNS:
        run = Path(run)
        if (run / "best.pt").is_file():
            # a run still training is scored on test only (the conditions cost 3-4 min, again after each new best)
            epochs = yaml.safe_load(open(run / "config.yaml"))["optim"]["epochs"]
            done = len(list(csv.DictReader(open(run / "metrics.csv")))) >= epochs
            m = score(run, a.data, a.threads, a.fresh, conditions=CONDITIONS if done else None)
            rows.append(row(name, run, cmd, m))
    rows = carry(rows, recorded.get("rows", []))
    teacher = next((r for r in rows if r["stage"] == "teacher"), None)
    # the teachers recorded as test-score files (lanes targets-ensemble and targets-96; TEACHER_TESTS)
    recorded_teachers = []
    for path, tname in TEACHER_TESTS:
        if path.is_file():
            e = json.loads(path.read_text())
            r = next(r for r in e["rows"] if r["model"] == "ensemble" and r["mirror"] and r["crops"] == [0.9])
            recorded_teachers.append({"name": tname, "test_accuracy": r["accuracy"], "test_average": r["average"],
                                      "source": str(path)})
    gains, leads = [], []
    for base in (r for r in rows if r["distill"] is False):
        # a gain compares the same recipe, backbone, input side, schedule and seed, with and without a teacher
        for d in (r for r in rows if r["distill"] is True and r["backbone"] == base["backbone"] and r["seed"] == base["seed"]
                  and r["input_px"] == base["input_px"] and recipe(r["run"]) == recipe(base["run"])
                  and r["epochs_planned"] == base["epochs_planned"]):
            gains.append({"run": d["name"], "seed": base["seed"], "backbone": base["backbone"],
                          "gain_accuracy": d["test_accuracy"] - base["test_accuracy"],
                          "gain_average": d["test_average"] - base["test_average"],
                          "complete": d["epochs_done"] == d["epochs_planned"] and base["epochs_done"] == base["epochs_planned"]})
        # every teacher here teaches 64 px students of the robust recipe: its lead is over those baselines
        for t in (x for x in (teacher, *recorded_teachers) if x and base["input_px"] == 64 and base.get("recipe", "robust") == "robust"):
            leads.append({"teacher": t["name"], "over": base["name"], "seed": base["seed"], "backbone": base["backbone"],
                          "lead_accuracy": t["test_accuracy"] - base["test_accuracy"],
                          "lead_average": t["test_average"] - base["test_average"],
                          "teacher_epochs": f"{t['epochs_done']}/{t['epochs_planned']}" if "epochs_done" in t else "-",
                          "student_epochs": f"{base['epochs_done']}/{base['epochs_planned']}",
                          "student_finished": base["epochs_done"] == base["epochs_planned"]})
    # issue 12: a small student within 2 points of the ResNet-18 student: the best finished 64 px distilled ResNet-18
    # (whichever teacher; the small students are 64 px too); until one has finished, the best finished 64 px
    # ResNet-18 without a teacher
    def finished(r: dict) -> bool:
        return r["epochs_done"] == r["epochs_planned"]

    r18 = [r for r in rows if r["backbone"] == "resnet18" and r["input_px"] == 64 and finished(r)]
    r18 = [r for r in r18 if r["distill"] is True] or [r for r in r18 if r["distill"] is False]
    small_gaps = []
    if r18:
        ref = max(r18, key=lambda r: r["test_accuracy"])
        for r in rows:
            if r["stage"] != "teacher" and r["backbone"] != "resnet18":
                small_gaps.append({"run": r["name"], "reference": ref["name"],
                                   "gap_accuracy": ref["test_accuracy"] - r["test_accuracy"],
                                   "gap_average": ref["test_average"] - r["test_average"],
                                   "complete": finished(r)})
    res = {"machine_of_scoring": machine_info(a.threads, "cpu"), "data": a.data,
           "protocol": "FER+ majority, model selected on valid, scored on test", "rows": rows,
           "distillation_gain": gains, "teacher_lead_over_nodistill": leads, "small_student_gap": small_gaps}
    atomic_write_text(out / "results.json", json.dumps(res, indent=2), what="results")
    cols = " | ".join(CONDITIONS)
    lines = [f"| run | epochs | best | train min | img/s | acc | avg | coarse | acc / avg uniform | {cols} | precision | machine |",
             "| --- " * (10 + len(CONDITIONS)) + "|"]
    for r in rows:
        rob = " | ".join(f"{r['robustness'][c]['accuracy']:.1f}" if c in r["robustness"] else "-" for c in CONDITIONS)
        uni = "-" if r["uniform_accuracy"] is None else f"{r['uniform_accuracy']:.2f} / {r['uniform_average']:.2f}"
        mach = "; ".join(f"{k} ({v} ep)" for k, v in r["machines"].items())
        lines.append(f"| {r['name']}{mark(r)} | {r['epochs_done']}/{r['epochs_planned']} | {r['best_epoch']} | {r['train_min']:.0f} | "
                     f"{r['images_per_s_mean']:.0f} | {r['test_accuracy']:.2f} | {r['test_average']:.2f} | "
                     f"{r['test_coarse_accuracy']:.2f} | {uni} | {rob} | {', '.join(r['precision'])} | {mach} |")
    lines += ["", RECORDED_NOTE, ""]
    for g in gains:
        lines.append(f"- distillation gain, {g['run']}: {g['gain_accuracy']:+.2f} acc / {g['gain_average']:+.2f} avg"
                     + ("" if g["complete"] else " (runs not finished)"))
    for t in leads:
        te = "" if t["teacher_epochs"] == "-" else f" ({t['teacher_epochs']} epochs)"
        lines.append(f"- {t['teacher']}{te} over {t['over']} ({t['student_epochs']}"
                     + ("" if t["student_finished"] else ", not finished: no verdict yet")
                     + f"): {t['lead_accuracy']:+.2f} acc / {t['lead_average']:+.2f} avg (goal: >= +1.5)")
    for g in small_gaps:
        lines.append(f"- {g['run']}: {g['gap_accuracy']:.2f} points (average {g['gap_average']:.2f}) below {g['reference']} "
                     "(goal: within 2)"
                     + ("" if g["complete"] else " (run not finished)"))
    lines += ["", *epoch_table()]
    short = [fill_history(r) for r in carry(short_rows(a.data, a.threads, a.fresh), recorded.get("short_schedule", []))]
    res["short_schedule"] = short
    res["table3"] = table3(short)
    res["adareg_weight"] = adareg_weight(short)
    res["recipe_items"] = recipe_items(short)
    atomic_write_text(out / "results.json", json.dumps(res, indent=2), what="results")
    if short:
        lines += ["", "Short schedules (ResNet-18, no teacher unless the loss says so): table3-student (12 epochs) is the "
                  "paper's Table III on the student and the AdaReg weight; ablation-student (8 epochs) is the baseline "
                  "of each recipe item on its own (recipe-items) and of the two ways of teaching (distill-mode).", "",
                  "| run | seed | epochs | loss | C-F | lambda_A | reg grad share | acc | avg | coarse | acc / avg uniform "
                  "| train min | precision |", "| --- " * 13 + "|"]
        for r in short:
            share = "-" if r["reg_grad_share"] is None else f"{r['reg_grad_share']:.1e}"
            mins = f"{r['train_min']:.0f}" if "train_min" in r else "-"
            lines.append(f"| {r['name']}{mark(r)} | {r['seed']} | {r['epochs_done']}/{r['epochs_planned']} | {r['loss']} | "
                         f"{'yes' if r['cf'] else 'no'} | {r['lambda_a']} | {share} | {r['test_accuracy']:.2f} | "
                         f"{r['test_average']:.2f} | {r['test_coarse_accuracy']:.2f} | {r['uniform_accuracy']:.2f} / "
                         f"{r['uniform_average']:.2f} | {mins} | {', '.join(r.get('precision', ['-']))} |")
        lines += ["", RECORDED_NOTE + " Machines per run: results.json."]
        lines += table3_lines(res["table3"])
        lines += adareg_weight_lines(res["adareg_weight"])
        lines += recipe_items_lines(res["recipe_items"])
    atomic_write_text(out / "results.md", "\n".join(lines) + "\n", what="results")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
