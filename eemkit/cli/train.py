"""`eemkit train teacher|student`: the KTN teacher, then the STSN student distilled from it."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import (DATA_FORMAT_HELP, DataFormat, LabelMode, Loss, TrainDevice, TrainPrecision, console, either,
                               err_console, make_progress, print_json, user_errors)
from eemkit.errors import UsageError

app = typer.Typer(help="Train the teacher (KTN) or the student (STSN), or save distillation targets.", no_args_is_help=True,
                  pretty_exceptions_enable=False)

Preset = Annotated[Optional[str], typer.Option("--preset", "--config", help="Shipped preset name or a YAML config file.")]
Sets = Annotated[Optional[list[str]], typer.Option("--set", help="Override any config key: section.key=value (repeatable).")]
Data = Annotated[Optional[Path], typer.Option("--data", help="Dataset root (default: $EEMKIT_DATA or ../shared/data/ferplus).")]
Fmt = Annotated[Optional[DataFormat], typer.Option("--data-format", help=DATA_FORMAT_HELP)]
FmtOld = Annotated[Optional[DataFormat], typer.Option("--format", hidden=True)]
Out = Annotated[Optional[Path], typer.Option("--out", help="Run folder for checkpoints and metrics.")]
Backbone = Annotated[Optional[str], typer.Option("--backbone", help="Backbone name (`eemkit info` lists them); resnet18 by default.")]
LossOpt = Annotated[Optional[Loss], typer.Option("--loss", help="Training loss.")]
Epochs = Annotated[Optional[int], typer.Option("--epochs")]
Batch = Annotated[Optional[int], typer.Option("--batch-size")]
Lr = Annotated[Optional[float], typer.Option("--lr")]
Size = Annotated[Optional[int], typer.Option("--input-size", help="Model input side in pixels.")]
Seed = Annotated[Optional[int], typer.Option("--seed")]
Threads = Annotated[Optional[int], typer.Option("--threads", help="CPU threads (0: torch default).")]
Limit = Annotated[Optional[int], typer.Option("--limit", help="Use only the first N training images.")]
MaxSteps = Annotated[Optional[int], typer.Option("--max-steps", help="Cap the steps per epoch.")]
LabelModeOpt = Annotated[Optional[LabelMode], typer.Option("--label-mode", help="FER+ training targets.")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue the run in --out exactly where it stopped (its config.yaml "
                                       "gives every setting not passed again).")]
NoCoarse = Annotated[bool, typer.Option("--no-coarse", help="Ablation: no C-F labels (fine stream only).")]
Pretrained = Annotated[bool, typer.Option("--pretrained", help="ImageNet weights from torchvision's local cache.")]
SmallStem = Annotated[bool, typer.Option("--small-stem", help="Drop the first stride-2 step (48-112 px faces).")]
Balanced = Annotated[bool, typer.Option("--balanced", help="Class-balanced sampling.")]
SkipBad = Annotated[bool, typer.Option("--skip-bad", help="Skip unreadable images instead of stopping.")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
DeviceOpt = Annotated[Optional[TrainDevice], typer.Option("--device", help="Where to train.")]
PrecisionOpt = Annotated[Optional[TrainPrecision], typer.Option("--precision", help="auto: bf16 on CPUs with AMX "
                                                                "(amx_bf16), AMD CPUs with AVX512-BF16 and GPUs with bf16; FP32 elsewhere.")]
Init = Annotated[Optional[Path], typer.Option("--init", help="Start from this checkpoint's weights (same stage and "
                                              "backbone; new optimiser and schedule): fine-tuning, longer schedules.")]


class RichReporter:
    def __init__(self) -> None:
        self.progress = make_progress(transient=False)
        self.task = None
        self.loss = 0.0
        self.n = 0

    def start_epoch(self, epoch: int, epochs: int, steps: int, done: int) -> None:
        import time

        if self.task is None:
            self.progress.start()
        else:
            self.progress.remove_task(self.task)
        self.t0, self.n, self.loss = time.perf_counter(), 0, 0.0
        self.task = self.progress.add_task(f"epoch {epoch + 1}/{epochs}", total=steps, completed=done, info="")
        self.epoch, self.epochs, self.steps, self.done = epoch, epochs, steps, done

    def step(self, images: int, loss: float) -> None:
        import time

        self.n += images
        self.done += 1
        self.loss = loss if self.loss == 0 else 0.98 * self.loss + 0.02 * loss
        rate = self.n / max(time.perf_counter() - self.t0, 1e-9)
        self.progress.update(self.task, advance=1, info=f"loss {self.loss:.3f}  {rate:.0f} img/s")
        # a log file or a pipe gets no progress bar: a plain line every 5 % of the epoch instead
        if not err_console.is_terminal and self.done % max(1, self.steps // 20) == 0:
            err_console.print(f"epoch {self.epoch + 1}/{self.epochs}: step {self.done}/{self.steps}, loss {self.loss:.3f}, "
                              f"{rate:.0f} img/s", highlight=False)

    def end_epoch(self, row: dict) -> None:
        val = f"  val acc {row['val_accuracy']:.2f}%  avg {row['val_average']:.2f}%" if "val_accuracy" in row else ""
        self.progress.console.print(f"epoch {row['epoch']}: loss {row['train_loss']:.4f}  train acc "
                                    f"{row['train_accuracy']:.2f}%{val}  {row['images_per_s']:.0f} img/s")

    def message(self, text: str) -> None:
        err_console.print(text, highlight=False)

    def close(self) -> None:
        if self.task is not None:
            self.progress.stop()


def _overrides(stage: str, sets: list[str] | None, **opts) -> list[dict]:
    from eemkit.config import parse_override

    mapping = {
        "data": "data.path", "format": "data.format", "out": "out", "backbone": "model.backbone", "loss": "loss.loss",
        "epochs": "optim.epochs", "batch_size": "optim.batch_size", "lr": "optim.lr", "input_size": "data.input_size",
        "seed": "optim.seed", "threads": "optim.threads", "limit": "data.limit", "max_steps": "optim.max_steps_per_epoch",
        "label_mode": "data.label_mode", "teacher": "teacher", "device": "optim.device", "init": "init",
        "precision": "optim.precision",
    }
    flags = {"no_coarse": ("model.use_coarse", False), "pretrained": ("model.pretrained", True),
             "small_stem": ("model.small_stem", True), "balanced": ("data.balanced", True),
             "skip_bad": ("data.skip_bad", True), "no_distill": ("loss.distill", False)}
    ov: list[dict] = [{"stage": stage}]
    ov += [parse_override(s) for s in sets or []]
    for k, v in opts.items():
        v = v.value if isinstance(v, Enum) else v
        if k in mapping and v is not None:
            ov.append(parse_override(f"{mapping[k]}={v}") if not isinstance(v, (str, Path)) else _set(mapping[k], str(v)))
        elif k in flags and v:
            ov.append(_set(flags[k][0], flags[k][1]))
    return ov


def _set(key: str, value) -> dict:
    d: dict = {}
    cur = d
    parts = key.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return d


def _run(stage: str, preset: str | None, sets: list[str] | None, resume: bool, json_out: bool, **opts) -> None:
    from eemkit.config import resolve_stage_config
    from eemkit.train.loop import summarize, train

    cfg = resolve_stage_config(stage, preset, _overrides(stage, sets, **opts))
    reporter = RichReporter()
    try:
        from eemkit.runtime import open_runner

        result = train(cfg, resume=resume, reporter=reporter, open_artifact=open_runner)
    finally:
        reporter.close()
    s = summarize(result)
    if json_out:
        print_json(s)
    else:
        b = s["best"]
        console.print(f"best checkpoint: {s['best_checkpoint']}  (epoch {b.get('epoch')}, "
                      f"val acc {b.get('val_accuracy', float('nan')):.2f}%, avg {b.get('val_average', float('nan')):.2f}%)")


@app.command("teacher")
@user_errors
def teacher(preset: Preset = None, sets: Sets = None, data: Data = None, format: Fmt = None, format_old: FmtOld = None, out: Out = None,
            backbone: Backbone = None, loss: LossOpt = None, epochs: Epochs = None, batch_size: Batch = None, lr: Lr = None,
            input_size: Size = None, seed: Seed = None, threads: Threads = None, limit: Limit = None,
            max_steps: MaxSteps = None, label_mode: LabelModeOpt = None, resume: Resume = False, no_coarse: NoCoarse = False,
            pretrained: Pretrained = False, small_stem: SmallStem = False, balanced: Balanced = False,
            skip_bad: SkipBad = False, json_out: Json = False, device: DeviceOpt = None, init: Init = None,
            precision: PrecisionOpt = None) -> None:
    """Train the KTN teacher: two backbones, fine + coarse streams, lambda_f CE + lambda_A AdaReg + lambda_c CE."""
    from eemkit.config import resume_preset

    preset = resume_preset(preset, resume, out)
    _run("teacher", preset, sets, resume, json_out, data=data, format=either(format, format_old, None, "--data-format and --format"), out=out, backbone=backbone, loss=loss,
         epochs=epochs, batch_size=batch_size, lr=lr, input_size=input_size, seed=seed, threads=threads, limit=limit,
         max_steps=max_steps, label_mode=label_mode, no_coarse=no_coarse, pretrained=pretrained,
         small_stem=small_stem, balanced=balanced, skip_bad=skip_bad, device=device, init=init, precision=precision)


@app.command("student")
@user_errors
def student(teacher: Annotated[Optional[Path], typer.Option("--teacher", help="Teacher: a checkpoint (best.pt), an exported "
                                                              "model (.onnx, .engine) or saved targets (.npz, `eemkit train targets`).")] = None,
            no_distill: Annotated[bool, typer.Option("--no-distill", help="Train without the teacher (CE with C-F labels).")] = False,
            preset: Preset = None, sets: Sets = None, data: Data = None, format: Fmt = None, format_old: FmtOld = None, out: Out = None,
            backbone: Backbone = None, loss: LossOpt = None, epochs: Epochs = None, batch_size: Batch = None, lr: Lr = None,
            input_size: Size = None, seed: Seed = None, threads: Threads = None, limit: Limit = None,
            max_steps: MaxSteps = None, label_mode: LabelModeOpt = None, resume: Resume = False, no_coarse: NoCoarse = False,
            pretrained: Pretrained = False, small_stem: SmallStem = False, balanced: Balanced = False,
            skip_bad: SkipBad = False, json_out: Json = False, device: DeviceOpt = None, init: Init = None,
            precision: PrecisionOpt = None) -> None:
    """Train the STSN student on one shared backbone, distilled from a frozen teacher (eq. 8)."""
    from eemkit.config import resume_preset

    preset = resume_preset(preset, resume, out)
    _run("student", preset, sets, resume, json_out,
         teacher=teacher, no_distill=no_distill, data=data, format=either(format, format_old, None, "--data-format and --format"), out=out, backbone=backbone, loss=loss,
         epochs=epochs, batch_size=batch_size, lr=lr, input_size=input_size, seed=seed, threads=threads, limit=limit,
         max_steps=max_steps, label_mode=label_mode, no_coarse=no_coarse, pretrained=pretrained,
         small_stem=small_stem, balanced=balanced, skip_bad=skip_bad, device=device, init=init, precision=precision)


@app.command("targets")
@user_errors
def targets(teacher: Annotated[list[Path], typer.Option("--teacher", help="A teacher: checkpoint, exported model or saved "
                                                         "outputs (.npz). Repeat it for an ensemble teacher.")],
            out: Annotated[Optional[Path], typer.Option("--out", "-o", help="The targets file to write (.npz).")] = None,
            score_only: Annotated[bool, typer.Option("--score-only", help="Only score the teachers and their "
                                                     "combination on valid; write nothing (no -o).")] = False,
            mirror_average: Annotated[bool, typer.Option("--mirror-average", help="Average each teacher over the face "
                                                         "and its mirror.")] = False,
            preset: Preset = None, sets: Sets = None, data: Data = None, format: Fmt = None, label_mode: LabelModeOpt = None,
            input_size: Size = None, limit: Limit = None, threads: Threads = None, json_out: Json = False) -> None:
    """Save distillation targets: the teachers' outputs on the training images and their mirrors (one
    teacher, or the mean of several), scored on valid teacher by teacher. Train a student on them with
    `eemkit train student --teacher FILE.npz`. The data settings are the student's: pass its --preset."""
    from rich.table import Table

    from eemkit.config import resolve_stage_config
    from eemkit.runtime import open_runner
    from eemkit.train.targets import make_targets

    if score_only and out is not None:
        raise UsageError("--score-only writes nothing: drop -o, or drop --score-only to write the targets")
    if not score_only and out is None:
        raise UsageError("give -o FILE.npz for the targets (or --score-only to score the teachers on valid only)")
    cfg = resolve_stage_config("student", preset, _overrides("student", sets, data=data, format=format, label_mode=label_mode,
                                                             input_size=input_size, limit=limit, threads=threads))
    progress = make_progress()
    tasks: dict[str, int] = {}
    passes: dict[str, list[int]] = {}

    def tick(name: str, done: int, total: int) -> None:  # two passes per teacher and split: the faces, their mirrors
        if name not in tasks:
            tasks[name] = progress.add_task(name, total=2 * total, info="")
            passes[name] = [0, 0]
        n, last = passes[name]
        if done < last or last == total:
            n += 1
        passes[name] = [n, done]
        progress.update(tasks[name], completed=min(n * total + done, 2 * total))

    with progress:
        res = make_targets(cfg, [str(t) for t in teacher], out, mirror=mirror_average, open_artifact=open_runner,
                           reporter=RichReporter(), progress=tick)
    if json_out:
        print_json(res.to_dict())
        return
    if res.path is None:
        console.print(f"{len(res.teachers)} teacher(s) scored on valid{', mirror-averaged' if res.mirror else ''} "
                      f"in {res.seconds:.0f} s (nothing written)")
    else:
        console.print(f"wrote {res.path}: {len(res.teachers)} teacher(s) on {res.images} training images and their "
                      f"mirrors{', mirror-averaged' if res.mirror else ''}{'' if res.has_features else ', logits only'} "
                      f"in {res.seconds:.0f} s")
    if res.valid:
        table = Table(title="valid split (%)")
        for col in ("teacher", "acc", "avg", "coarse"):
            table.add_column(col, justify="left" if col == "teacher" else "right", overflow="fold")
        for r in res.valid:
            table.add_row(r["name"], *(f"{r[k]:.2f}" if k in r else "-" for k in ("accuracy", "average", "coarse_accuracy")))
        console.print(table)
