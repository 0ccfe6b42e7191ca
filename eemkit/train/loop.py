"""The training loop for the teacher (KTN) and the student (STSN), top to bottom.

Reproducible and exactly resumable on the CPU: the epoch order and every batch's augmentation and
dropout are drawn from generators seeded by (seed, epoch, step, rank), so the checkpoint needs no
RNG state and a run resumed at any step matches an uninterrupted one. Under torchrun the model is
wrapped in DistributedDataParallel (NCCL on GPUs, gloo on CPU), each rank takes every world-th
sample, and only rank 0 writes.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch

from eemkit import __version__
from eemkit.artifact import ArtifactMeta
from eemkit.config import RESUME_MUTABLE, TrainConfig, config_diff, save_config
from eemkit.config_checks import describe_diff
from eemkit.data.augment import mix_batch, train_input
from eemkit.data.datasets import ImageSet, available_splits, balanced_weights, load_split
from eemkit.data.holdout import HOLDOUT_FRACTION, holdout_split, require_two_classes
from eemkit.data.preprocess import PreprocessSpec
from eemkit.errors import EemkitError, TrainingDiverged, UsageError
from eemkit.hostinfo import cpu_summary
from eemkit.io_utils import atomic_open, atomic_write_text, check_output_dir, ensure_dir
from eemkit.labels import LabelSpace, check_same_classes
from eemkit.losses.objectives import EEMObjective
from eemkit.models import ModelSpec, create_model
from eemkit.priors import prior_shift
from eemkit.train.checkpoint import load_checkpoint, save_checkpoint
from eemkit.train.distributed import DistContext, setup_distributed
from eemkit.train.ema import WeightEMA
from eemkit.train.precision import autocast, resolve_precision
from eemkit.train.stop import StopFlag
from eemkit.train.teachers import (load_teacher, runtime_teacher, runtime_teacher_forward, teacher_forward,
                                   teacher_targets)
from eemkit.train.validate import evaluate_imageset

log = logging.getLogger("eemkit.train")


class Reporter(Protocol):
    """Progress callbacks; the CLI renders them with rich."""

    def start_epoch(self, epoch: int, epochs: int, steps: int, done: int) -> None: ...
    def step(self, images: int, loss: float) -> None: ...
    def end_epoch(self, row: dict) -> None: ...
    def message(self, text: str) -> None: ...


class _NullReporter:
    def start_epoch(self, epoch: int, epochs: int, steps: int, done: int) -> None: ...
    def step(self, images: int, loss: float) -> None: ...
    def end_epoch(self, row: dict) -> None: ...
    def message(self, text: str) -> None:
        log.info(text)


@dataclass
class TrainResult:
    out_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    history: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=dict)


def _mix(*ints: int) -> int:
    h = 1469598103934665603
    for v in ints:
        h = ((h ^ (v + 0x9E3779B9)) * 1099511628211) % (1 << 61)
    return h


def load_data(cfg: TrainConfig, reporter: Reporter) -> tuple[ImageSet, ImageSet | None, PreprocessSpec]:
    d = cfg.data
    spec = PreprocessSpec.for_input(d.input_size, d.crop_pct, d.color)
    reporter.message(f"loading {d.format} from {d.path} at {spec.resize_size}px")
    train = load_split(d.path, d.format, "train", spec, d.label_mode, d.skip_bad, d.limit, log=reporter.message)
    require_two_classes(train)
    if "valid" in available_splits(d.path, d.format):
        valid = load_split(d.path, d.format, "valid", spec, "majority", d.skip_bad, d.valid_limit, log=reporter.message)
        return train, valid, spec
    # never select on the test split: hold out part of train instead, and say so
    train, valid = holdout_split(train, HOLDOUT_FRACTION, cfg.optim.seed)
    if valid is None:
        reporter.message(f"{d.path} has no valid split and too few images to hold some out: the best epoch is "
                         "chosen by training accuracy")
        return train, None, spec
    if d.valid_limit:
        valid = valid.subset(np.arange(min(d.valid_limit, len(valid))))
    reporter.message(f"{d.path} has no valid split: held out {len(valid)} training images ({HOLDOUT_FRACTION:.0%} "
                     f"per class, seed {cfg.optim.seed}) to choose the best epoch; the test split is not used")
    return train, valid, spec


def _init_weights(cfg: TrainConfig, model: torch.nn.Module, mspec: ModelSpec, labels: LabelSpace,
                  objective: EEMObjective) -> str:
    """Load cfg.init's model weights (and its regulariser state when the losses match) into a new run."""
    path = Path(cfg.init)
    if not path.is_file():
        raise UsageError(f"--init checkpoint not found: {path}")
    ckpt = load_checkpoint(path)
    check_same_classes(LabelSpace.from_dict(ckpt["labels"]), labels, f"--init {path}")
    diff = config_diff(ckpt.get("model_spec", {}), mspec.to_dict())
    if diff:
        raise UsageError(f"--init {path} has a different architecture ({', '.join(diff)}); "
                         "use a checkpoint of the same stage, backbone and head")
    model.load_state_dict(ckpt["model"])
    note = f"initialised weights from {path} (epoch {ckpt.get('epoch')})"
    same_loss = ckpt.get("config", {}).get("loss") == cfg.to_dict()["loss"]
    if same_loss and "objective" in ckpt:
        try:
            objective.load_state_dict(ckpt["objective"])
            if objective.reg is not None:
                note += " with its class centres"
        except RuntimeError:
            pass
    return note


def _class_prior(train_set: ImageSet, cfg: TrainConfig) -> list[float]:
    """The label marginal the model is trained on: the mean soft target (label_mode probability) or
    the class frequencies; recorded in checkpoints and artifacts for --class-prior."""
    if cfg.data.balanced:  # the class-balanced sampler trains on a uniform label mix
        return [1.0 / train_set.labels.n_fine] * train_set.labels.n_fine
    if cfg.data.label_mode == "probability" and train_set.soft is not None:
        p = train_set.soft.astype(np.float64).mean(0)
    else:
        p = train_set.class_counts().astype(np.float64)
    p = np.maximum(p, 1e-3 * p.sum() / len(p))  # an absent class keeps a small, finite prior
    return (p / p.sum()).tolist()


def _optimizer(model: torch.nn.Module, o) -> torch.optim.Optimizer:
    # foreach: one multi-tensor update instead of one per parameter (torch uses it by default only on CUDA;
    # measured as 20 % of a 2 x ResNet-18 CPU step without it)
    if o.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    if o.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay, foreach=True)
    if o.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=o.lr, momentum=0.9, nesterov=True, weight_decay=o.weight_decay,
                               foreach=True)
    raise UsageError(f"unknown optim.optimizer {o.optimizer!r}; choose adam, adamw or sgd")


def _steps_per_epoch(n: int, cfg: TrainConfig, ctx: DistContext) -> int:
    steps = (n // ctx.world) // cfg.optim.batch_size  # the same on every rank (DDP steps in lockstep)
    return min(steps, cfg.optim.max_steps_per_epoch) if cfg.optim.max_steps_per_epoch else steps


def _lr_schedule(opt: torch.optim.Optimizer, o, steps_per_epoch: int = 1) -> torch.optim.lr_scheduler.LRScheduler:
    if o.schedule == "warmup_cosine":
        # stepped after every optimiser step; reads o.epochs at every step, like "cosine"
        def factor(step: int) -> float:
            warm = o.warmup_epochs * steps_per_epoch
            if step < warm:
                return (step + 1) / warm
            total = max(o.epochs * steps_per_epoch - warm, 1)
            return 0.5 * (1.0 + math.cos(math.pi * min(step - warm, total) / total))
        return torch.optim.lr_scheduler.LambdaLR(opt, factor)
    if o.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=o.step_size, gamma=o.gamma)
    if o.schedule == "cosine":
        # per epoch: epoch e trains at lr * (1 + cos(pi * e / epochs)) / 2; reads o.epochs at every step, so a
        # --resume that changes optim.epochs stretches the rest of the curve
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 * (1.0 + math.cos(math.pi * min(e, o.epochs) / o.epochs)))
    raise UsageError(f"unknown optim.schedule {o.schedule!r}; choose step, cosine or warmup_cosine")


def _epoch_order(n: int, cfg: TrainConfig, epoch: int, weights: np.ndarray | None, ctx: DistContext) -> torch.Tensor:
    g = torch.Generator().manual_seed(_mix(cfg.optim.seed, epoch, 7))
    if weights is not None:
        order = torch.multinomial(torch.from_numpy(weights), n, replacement=True, generator=g)
    else:
        order = torch.randperm(n, generator=g)
    return order[ctx.rank::ctx.world]


def _payload(cfg, spec, mspec, labels, model, opt, sched, objective, epoch, step, history, best, accum,
             ema: WeightEMA | None, class_counts: list[int], class_prior: list[float]) -> dict:
    return {"ema": ema.state_dict() if ema is not None else None, "class_counts": class_counts, "class_prior": class_prior,
        "eemkit_version": __version__, "stage": cfg.stage, "config": cfg.to_dict(),
        "model_spec": mspec.to_dict(), "labels": labels.to_dict(), "preprocess": spec.to_dict(),
        "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
        "objective": objective.state_dict(), "epoch": epoch, "step": step, "history": history,
        "best": best, "accum": accum,
    }


def train(cfg: TrainConfig, resume: bool = False, reporter: Reporter | None = None,
          open_artifact: Callable[..., Any] | None = None) -> TrainResult:
    """Train the stage `cfg.stage` and write checkpoints/metrics under cfg.out.

    Raises UsageError for bad settings or data, TrainingDiverged on a non-finite loss (the last good
    checkpoint is kept), EemkitError(code 130 / 143) on Ctrl-C / SIGTERM after saving a resumable checkpoint
    at a step boundary, EemkitError when a checkpoint cannot be written (disk full).
    open_artifact: how to open an exported teacher (ONNX, engine): `eemkit.runtime.open_runner`, passed in
    because training sits below the runtime layer; needed only for such a teacher.
    """
    reporter = reporter or _NullReporter()
    ctx = setup_distributed(cfg.optim.device)
    o = cfg.optim
    if o.threads > 0:
        torch.set_num_threads(o.threads)
    out = check_output_dir(cfg.out, "--out")
    last_path, best_path = out / "last.pt", out / "best.pt"
    if not resume and last_path.exists():
        raise UsageError(f"{last_path} exists; pass --resume to continue it or choose another --out")
    prev = None
    if resume:
        if not last_path.exists():
            raise UsageError(f"nothing to resume: {last_path} does not exist")
        prev = load_checkpoint(last_path)
        try:  # a checkpoint from an older eemkit lacks newer keys: they take their defaults
            saved = TrainConfig.from_dict(prev["config"]).to_dict()
        except UsageError:
            saved = prev["config"]
        diff = [k for k in config_diff(saved, cfg.to_dict()) if k not in RESUME_MUTABLE]
        if diff:
            raise UsageError(f"--resume with a changed config; these keys differ from the checkpoint: "
                             f"{describe_diff(saved, cfg.to_dict(), diff)}")

    aug = cfg.data.augment_spec()  # validated before the data is loaded
    if cfg.loss.loss in ("focal", "ldam") and (cfg.data.mixup > 0 or cfg.data.cutmix > 0):
        raise UsageError(f"loss {cfg.loss.loss!r} needs hard labels; it cannot train on mixup/CutMix targets "
                         "(set data.mixup=0 and data.cutmix=0, or use --loss ce)")
    train_set, valid_set, spec = load_data(cfg, reporter)
    labels = train_set.labels
    n = len(train_set)
    if o.batch_size < 1:
        raise UsageError(f"batch size must be at least 1, got {o.batch_size}")
    if o.batch_size * ctx.world > n:
        raise UsageError(f"batch size {o.batch_size} (x{ctx.world} ranks) is larger than the {n} training images")
    if cfg.data.label_mode == "probability" and train_set.soft is None:
        raise UsageError("--label-mode probability needs vote counts (FER+)")

    mspec = ModelSpec.for_labels(labels, kind=cfg.stage, backbone=cfg.model.backbone, small_stem=cfg.model.small_stem,
                                 hidden=cfg.model.hidden, head_act=cfg.model.head_act, dropout=cfg.model.dropout,
                                 use_coarse=cfg.model.use_coarse)
    precision, why = resolve_precision(o.precision, ctx.device)
    machine = (f"{torch.cuda.get_device_name(ctx.device)} x{ctx.world}" if ctx.device.type == "cuda"
               else f"{cpu_summary()}, {torch.get_num_threads()} threads" + (f" x{ctx.world} ranks" if ctx.world > 1 else ""))
    reporter.message(f"precision {precision} ({why})")
    torch.manual_seed(o.seed)
    model = create_model(mspec, pretrained=cfg.model.pretrained and prev is None and not cfg.init).to(ctx.device)
    online = cfg.loss.teacher_outputs == "online" and cfg.stage == "student" and cfg.loss.distill
    rt_teacher = runtime_teacher(cfg, spec, labels, open_artifact, reporter) if online else None
    try:  # the exported teacher's runner is closed on every way out
        loaded = load_teacher(cfg, labels, spec, reporter) if online and rt_teacher is None else None
        teacher = loaded[0].to(ctx.device) if loaded is not None else None
        targets = teacher_targets(cfg, train_set, labels, ctx, open_artifact, reporter, out)
        counts = train_set.class_counts().tolist()
        prior = _class_prior(train_set, cfg)
        objective = EEMObjective(cfg.loss, cfg.stage, labels, counts, cfg.model.hidden, cfg.model.use_coarse, o.seed,
                                 class_prior=prior).to(ctx.device)
        opt = _optimizer(model, o)
        per_step = o.schedule == "warmup_cosine"
        sched = _lr_schedule(opt, o, _steps_per_epoch(n, cfg, ctx))
        start_epoch, start_step, history, best, accum = 0, 0, [], {}, {}
        if prev is not None:
            model.load_state_dict(prev["model"])
            opt.load_state_dict(prev["optimizer"])
            sched.load_state_dict(prev["scheduler"])
            objective.load_state_dict(prev["objective"])
            start_epoch, start_step = prev["epoch"], prev["step"]
            history, best, accum = prev["history"], prev["best"], prev["accum"]
            reporter.message(f"resumed {last_path} at epoch {start_epoch + 1}, step {start_step}")
        elif cfg.init:
            reporter.message(_init_weights(cfg, model, mspec, labels, objective))
        if o.channels_last:
            model = model.to(memory_format=torch.channels_last)
        ema = WeightEMA(model, o.ema) if o.ema > 0 else None
        if ema is not None and prev is not None and prev.get("ema"):
            ema.load_state_dict(prev["ema"])
        net = ctx.wrap(model)
        if ctx.is_main:
            ensure_dir(out, "--out")
            save_config(cfg, out / "config.yaml")

        weights = balanced_weights(train_set.fine, labels.n_fine) if cfg.data.balanced else None
        mixing = cfg.data.mixup > 0 or cfg.data.cutmix > 0
        images = torch.from_numpy(train_set.images)
        fine_t = torch.from_numpy(train_set.fine)
        soft_t = torch.from_numpy(train_set.soft) if cfg.data.label_mode == "probability" else None
        gen = torch.Generator()

        def save(epoch: int, step: int, acc: dict, path: Path = last_path) -> None:
            if ctx.is_main:
                payload = _payload(cfg, spec, mspec, labels, model, opt, sched, objective, epoch, step, history, best, acc,
                                   ema, counts, prior)
                if path == best_path and ema is not None:  # the weights that were evaluated are the run's model
                    payload["model"] = ema.model.state_dict()
                save_checkpoint(payload, path)

        # validation scores the train operating point, as the runtimes do (not the raw logits, which differ
        # from it for a model trained with logit adjustment)
        train_point = prior_shift(ArtifactMeta(classes=labels.fine, coarse_classes=labels.coarse, preprocess=spec.to_dict(),
                                               coarse_index=tuple(labels.coarse_index), class_prior=tuple(prior),
                                               logit_adjust=cfg.loss.logit_adjust), "train")
        stop = StopFlag(reporter.message)
        for epoch in range(start_epoch, o.epochs):
            order = _epoch_order(n, cfg, epoch, weights, ctx)
            steps = _steps_per_epoch(n, cfg, ctx)
            first = start_step if epoch == start_epoch else 0
            fresh = {"n": 0, "loss": 0.0, "correct": 0, "time": 0.0, "probe": [], "reg": 0.0}
            acc = dict(accum) if epoch == start_epoch and accum else fresh
            net.train()
            reporter.start_epoch(epoch, o.epochs, steps, first)
            done = first
            try:
                for step in range(first, steps):
                    if stop.requested:
                        raise KeyboardInterrupt
                    seed = _mix(o.seed, epoch, step, ctx.rank)
                    gen.manual_seed(seed)
                    torch.manual_seed(seed)
                    idx = order[step * o.batch_size:(step + 1) * o.batch_size]
                    t0 = time.perf_counter()
                    x, flipped = train_input(images[idx], spec, aug, gen)
                    target = soft_t[idx] if soft_t is not None else fine_t[idx]
                    t_out = targets.batch(idx, flipped, ctx.device) if targets is not None else None
                    if mixing:
                        x, target, t_out = _mix_batch(x, target, t_out, labels.n_fine, cfg, np.random.default_rng(seed))
                    x, target = x.to(ctx.device), target.to(ctx.device)
                    if o.channels_last:
                        x = x.contiguous(memory_format=torch.channels_last)
                    with autocast(precision, ctx.device):
                        res = net(x)
                        if teacher is not None:
                            t_out = teacher_forward(teacher, x, cfg.loss.teacher_mirror)
                        elif rt_teacher is not None:
                            t_out = runtime_teacher_forward(rt_teacher, x, cfg.loss.teacher_mirror)
                    res = {k: v.float() for k, v in res.items()}
                    if t_out is not None:
                        t_out = {k: v.float() for k, v in t_out.items()}
                    parts = objective(res, target, t_out)
                    loss = parts["loss"]
                    if not torch.isfinite(loss):
                        raise TrainingDiverged(
                            f"non-finite loss ({float(loss.detach())}) at epoch {epoch + 1}, step {step + 1}; "
                            f"the last good checkpoint is {last_path if last_path.exists() else 'none (first epoch)'}; "
                            "lower optim.lr or check the data")
                    if o.probe_every and objective.reg is not None and step % o.probe_every == 0:
                        acc["probe"].append(_grad_share(objective, res, target, loss, cfg.loss.lambda_a, model.head.fc1_1[0].weight))
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    if per_step:
                        sched.step()
                    if ema is not None:
                        ema.update(model)
                    objective.after_step(res, target)
                    acc["time"] += time.perf_counter() - t0
                    bs = int(idx.numel())
                    acc["n"] += bs
                    acc["loss"] += float(loss.detach()) * bs
                    acc["reg"] += float(parts["reg"]) * bs
                    acc["correct"] += int((res["fine_logits"].argmax(1).cpu() == fine_t[idx]).sum())
                    done = step + 1
                    reporter.step(bs, float(loss.detach()))
                if stop.requested and done == steps:
                    raise KeyboardInterrupt
            except KeyboardInterrupt:
                stop.restore()
                save(epoch, done, acc)
                ctx.close()
                raise EemkitError(f"interrupted ({stop.signal_name}) at epoch {epoch + 1}, step {done}; checkpoint saved to "
                                  f"{last_path}: continue with --resume", code=stop.exit_code) from None
            except BaseException:
                stop.restore()
                ctx.close()
                raise
            row = _epoch_row(epoch, acc, opt, ctx)  # the lr this epoch trained at (per-step schedules: the next step's)
            row["precision"] = precision
            row["machine"] = machine  # a run resumed over sessions may change machines: every epoch says where it ran
            if not per_step:
                sched.step()
            if valid_set is not None and ctx.is_main:
                m = evaluate_imageset(ema.model if ema is not None else model, valid_set, labels, o.eval_batch, shift=train_point)
                row.update({"val_accuracy": m["accuracy"], "val_average": m["average"], "val_coarse_accuracy": m["coarse_accuracy"]})
            ctx.check_buffers_equal(objective)
            history.append(row)
            key = "val_accuracy" if "val_accuracy" in row else "train_accuracy"
            is_best = not best or row[key] > best.get(key, -math.inf)
            if is_best:
                best = dict(row)
                save(epoch + 1, 0, {}, best_path)  # before last.pt names it as the best (a full disk stops here)
            save(epoch + 1, 0, {})
            if ctx.is_main:
                _write_metrics(out, history)
            reporter.end_epoch(row)
        stop.restore()
        ctx.close()
        return TrainResult(out, best_path, last_path, history, best)
    finally:
        if rt_teacher is not None:
            rt_teacher.deactivate()


def _mix_batch(x: torch.Tensor, target: torch.Tensor, t_out: dict | None, n_fine: int, cfg: TrainConfig,
         rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, dict | None]:
    """Mixup / CutMix of a batch, its targets (made probabilities) and the cached teacher outputs
    (probabilities mixed, returned as log-probabilities; V^a mixed linearly)."""
    probs = target if target.dtype.is_floating_point else torch.nn.functional.one_hot(target, n_fine).float()
    x, lam, perm = mix_batch(x, cfg.data.mixup, cfg.data.cutmix, rng)
    probs = lam * probs + (1 - lam) * probs[perm]
    if t_out is not None:
        mixed = {}
        for k, v in t_out.items():
            if k == "features":
                mixed[k] = lam * v + (1 - lam) * v[perm]
            else:  # mix the softened distributions the KL terms compare; T * log keeps softmax(. / T) exact
                t = cfg.loss.temperature
                p = torch.softmax(v / t, 1)
                mixed[k] = t * (lam * p + (1 - lam) * p[perm]).clamp_min(1e-8).log()
        t_out = mixed
    return x, probs, t_out


def _grad_share(objective: EEMObjective, res: dict, target: torch.Tensor, loss: torch.Tensor, lam: float,
                param: torch.Tensor) -> float:
    """|grad of lambda_A * REG| / |grad of the other terms| on the FC1-1 weight (which both reach):
    how much the regulariser steers the representation in this batch."""
    hard = target.argmax(1) if target.dtype.is_floating_point else target
    reg = lam * objective.reg(res["features"], hard)
    g_reg = torch.autograd.grad(reg, param, retain_graph=True)[0]
    g_rest = torch.autograd.grad(loss - reg, param, retain_graph=True)[0]
    return float(g_reg.norm() / g_rest.norm().clamp(min=1e-30))


def _epoch_row(epoch: int, acc: dict, opt: torch.optim.Optimizer, ctx: DistContext) -> dict:
    stats = ctx.sum_tensor(torch.tensor([acc["n"], acc["loss"], acc["correct"], acc["reg"]], dtype=torch.float64))
    n = max(float(stats[0]), 1.0)
    row = {
        "epoch": epoch + 1, "lr": opt.param_groups[0]["lr"], "train_loss": float(stats[1]) / n,
        "train_accuracy": 100.0 * float(stats[2]) / n, "reg_loss": float(stats[3]) / n,
        "images_per_s": acc["n"] * ctx.world / max(acc["time"], 1e-9), "train_time_s": acc["time"],
    }
    if acc["probe"]:
        row["reg_grad_share"] = float(np.mean(acc["probe"]))
    return row


def _write_metrics(out: Path, history: list[dict]) -> None:
    keys: list[str] = []
    for r in history:
        keys += [k for k in r if k not in keys]
    with atomic_open(out / "metrics.csv", "w", newline="", what="metrics") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    atomic_write_text(out / "history.json", json.dumps(history, indent=1), what="history")
    try:
        from torch.utils.tensorboard import SummaryWriter  # only when tensorboard is installed
    except ImportError:
        return
    with SummaryWriter(str(out / "tb")) as sw:
        r = history[-1]
        for k, v in r.items():
            if k != "epoch" and isinstance(v, (int, float)):
                sw.add_scalar(k, v, r["epoch"])


def summarize(result: TrainResult) -> dict[str, Any]:
    return {"out": str(result.out_dir), "best_checkpoint": str(result.best_checkpoint),
            "epochs": len(result.history), "best": result.best}
