"""The class prior as an operating point, applied the same way to every runtime's logits.

A model trained with softmax cross-entropy learns logits z with softmax(z) ~ p_train(y | x), which
carries the training set's class prior pi (FER+: 35 % neutral, 0.5 % disgust). Trained with logit
adjustment of strength tau (loss.logit_adjust), the logits carry pi^(1 - tau). For a deployment whose
classes occur with prior q, Bayes' rule gives

    z_q = z + (tau - 1) * log(pi) + log(q)

`train` keeps the training prior (q = pi), `uniform` removes it (q = 1/K: the balanced operating point,
what a posed-expression benchmark with no neutral faces rewards), `uniform:S` removes the share S in [0, 1]
of it in log space (q ~ pi^(1 - S): `uniform:0` is `train`, `uniform:1` is `uniform`; the points between
trade accuracy on a set that shares the training prior for accuracy on its rare classes), a FILE gives the
deployment's own (JSON {"class name": weight, ...}; weights are normalised). Coarse logits shift the same way with the
priors summed per coarse group; `uniform` makes the coarse groups uniform too (balanced coarse accuracy), and
`uniform:S` moves them the same share of the way (coarse prior (pi summed per group)^(1 - S)). A file whose name
starts with "uniform:" is given with a folder, e.g. ./uniform:x.json. The artifact's metadata carries pi ("class_prior") and tau
("logit_adjust").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eemkit.artifact import ArtifactMeta
from eemkit.errors import UsageError

CHOICES = ("train", "uniform")
_PARTIAL = re.compile(r"uniform:(.*)")


def partial_strength(choice: str | Path) -> float | None:
    """S of a `uniform:S` choice (UsageError unless 0 <= S <= 1), None for any other choice."""
    m = _PARTIAL.fullmatch(str(choice))
    if m is None:
        return None
    try:
        strength = float(m.group(1))
    except ValueError:
        strength = float("nan")
    if not 0.0 <= strength <= 1.0:  # NaN fails too
        raise UsageError(f"--class-prior {str(choice)[:40]!r}: uniform:S needs a number S in [0, 1] (the share of "
                         "the training prior to remove), e.g. uniform:0.5; a file of that name: ./" + str(choice)[:40])
    return strength + 0.0  # -0.0 -> 0.0


def is_builtin(choice: str | Path) -> bool:
    """Whether `choice` names an operating point (train, uniform, uniform:...) rather than a file."""
    return str(choice) in CHOICES or _PARTIAL.fullmatch(str(choice)) is not None


def choice_name(choice: str | Path) -> str:
    """A class-prior choice as a report names it: train, uniform, uniform:S (S as a plain number), or a file's name."""
    strength = partial_strength(choice)
    if strength is not None:
        return f"uniform:{strength:.15g}"  # every digit a float keeps: two names, two points
    return str(choice) if str(choice) in CHOICES else Path(choice).name


def prior_file(choice: str | Path) -> Path | None:
    """The JSON file a class-prior choice reads (an input no output may overwrite), None for an operating point."""
    return None if is_builtin(choice) else Path(choice)


@dataclass(frozen=True)
class PriorShift:
    """Additive logit shifts for one operating point: fine (K,) and coarse (n_coarse,)."""

    name: str
    fine: np.ndarray
    coarse: np.ndarray

    def apply(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        res = dict(out)
        res["fine_logits"] = (out["fine_logits"] + self.fine).astype(np.float32)
        if "coarse_logits" in out and out["coarse_logits"].shape[-1] == self.coarse.shape[0]:
            res["coarse_logits"] = (out["coarse_logits"] + self.coarse).astype(np.float32)
        return res

    @property
    def is_identity(self) -> bool:
        return not self.fine.any() and not self.coarse.any()


def _read_prior_file(path: Path, classes: list[str]) -> np.ndarray:
    from eemkit.io_utils import ascii_path
    from eemkit.labels import canonical_name

    where = f"--class-prior {ascii_path(path)}"

    def no_duplicates(pairs: list[tuple[str, object]]) -> dict:
        keys = [k for k, _ in pairs]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise UsageError(f"{where}: key {dup[0]!r} appears twice")
        return dict(pairs)

    try:
        raw = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)
    except (OSError, ValueError) as err:
        raise UsageError(f"{where}: not a readable JSON file ({type(err).__name__})") from None
    if not isinstance(raw, dict) or not raw:
        raise UsageError(f"{where}: expected a JSON object of class name -> weight")
    weights: dict[str, float] = {}
    for k, v in raw.items():
        w = _weight(v)
        if w is None:
            raise UsageError(f"{where}: weight of {k!r} must be a finite number >= 0, got {str(v)[:40]!r}")
        try:
            name = canonical_name(str(k))
        except UsageError:
            name = str(k)  # reported below with the model's classes
        if name in weights:
            raise UsageError(f"{where}: class {name!r} is given twice (as {k!r} and an alias)")
        weights[name] = w
    unknown = sorted(set(weights) - set(classes))
    missing = [c for c in classes if c not in weights]
    if unknown or missing:
        raise UsageError(f"{where}: " + "; ".join(
            ([f"unknown classes {unknown}"] if unknown else []) + ([f"missing classes {missing}"] if missing else []))
            + f" (the model's classes: {', '.join(classes)})")
    q = np.asarray([weights[c] for c in classes], dtype=np.float64)
    q = q / q.max() if q.max() > 0 else q  # scale first: weights near 1e308 would sum to inf
    if q.sum() <= 0:
        raise UsageError(f"{where}: the weights sum to 0")
    return q / q.sum()


def _not_a_file(path: Path) -> str:
    try:
        if path.is_dir():
            return "a folder, not a JSON file"
        if path.is_symlink():
            return "a broken or looping symlink"
        return "not a regular file (a FIFO or a device?)" if path.exists() else "no such file"
    except OSError as err:
        return err.strerror or type(err).__name__


def _weight(v: object) -> float | None:
    """A JSON weight as a finite float >= 0, else None (bools, strings, NaN, inf, negatives, integers too
    large for a float)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        w = float(v)
    except OverflowError:
        return None
    return w if np.isfinite(w) and w >= 0 else None


def prior_shift(meta: ArtifactMeta, choice: str | Path = "train") -> PriorShift:
    """The logit shifts for `choice` (train | uniform | uniform:S | a JSON file) from an artifact's metadata.

    Raises UsageError for an unknown choice, a bad file or S, or `uniform`/`uniform:S`/FILE on a model whose metadata
    carries no training prior (exported before eemkit recorded it: re-export it)."""
    classes = list(meta.classes)
    k = len(classes)
    coarse_index = _coarse_index(meta)
    n_coarse = len(meta.coarse_classes) or (int(coarse_index.max()) + 1 if coarse_index is not None else 0)
    choice_s = str(choice)
    strength = partial_strength(choice_s)
    pi = meta.class_prior
    tau = float(meta.logit_adjust)
    if (choice_s == "train" or strength == 0.0) and (pi is None or tau == 0.0):  # uniform:0 is train
        return PriorShift(choice_name(choice_s), np.zeros(k, np.float32), np.zeros(n_coarse, np.float32))
    if pi is None:
        raise UsageError(f"--class-prior {choice_s}: this model's metadata carries no training prior; "
                         "re-export it with this eemkit (or use --class-prior train)")
    pi = np.asarray(pi, dtype=np.float64)
    if pi.shape != (k,) or not np.isfinite(pi).all() or (pi <= 0).any():
        raise UsageError(f"the model's class_prior metadata is malformed (expected {k} positive numbers)")
    pi = pi / pi.sum()
    if choice_s == "train":
        q = pi
    elif choice_s == "uniform":
        q = np.full(k, 1.0 / k)
    elif strength is not None:
        q = pi ** (1.0 - strength)
        q = q / q.sum()
    else:
        path = Path(choice_s)
        if not path.is_file():
            raise UsageError(f"--class-prior {choice_s!r}: {_not_a_file(path)}; give train, uniform, uniform:S or a "
                             "JSON file")
        q = np.clip(_read_prior_file(path, classes), 1e-6, None)
    fine = (tau - 1.0) * np.log(pi) + np.log(q)
    if coarse_index is None:  # no fine -> coarse map known: the coarse logits are left as they are
        return PriorShift(choice_name(choice_s), (fine - fine.mean()).astype(np.float32), np.zeros(n_coarse, np.float32))
    group = np.zeros((k, n_coarse))
    group[np.arange(k), coarse_index] = 1.0
    if choice_s == "uniform":
        qc = np.full(n_coarse, 1.0 / n_coarse)
    elif strength is not None:  # the coarse groups move the same share of the way to uniform
        qc = (pi @ group) ** (1.0 - strength)
        qc = qc / qc.sum()
    else:
        qc = q @ group
    coarse = (tau - 1.0) * np.log(pi @ group) + np.log(qc)
    # a constant offset changes no softmax: centre both for readable logits
    return PriorShift(choice_name(choice_s), (fine - fine.mean()).astype(np.float32), (coarse - coarse.mean()).astype(np.float32))


def _coarse_index(meta: ArtifactMeta) -> np.ndarray | None:
    """Fine -> coarse ids from the metadata, else from the class names (the C-F map), else None."""
    if meta.coarse_index is not None:
        return np.asarray(meta.coarse_index, dtype=np.int64)
    try:
        return np.asarray(meta.labels.coarse_index, dtype=np.int64)
    except (KeyError, ValueError, UsageError):
        return None
