"""Fine classes per dataset and the fine -> coarse map: the single source of truth for labels.

The coarse map is keyed by class NAME, so any dataset whose classes carry these names gets its
coarse labels for free (METHOD.md, "Labels").
"""

from __future__ import annotations

from dataclasses import dataclass

from eemkit.errors import UsageError

COARSE_CLASSES: tuple[str, ...] = ("positive", "negative", "neutral", "surprise")

FINE_TO_COARSE: dict[str, str] = {
    "happiness": "positive",
    "fear": "negative",
    "disgust": "negative",
    "sadness": "negative",
    "anger": "negative",
    "contempt": "negative",
    "neutral": "neutral",
    "surprise": "surprise",
}

# Each dataset's own class order (its label ids index into these tuples).
FERPLUS_CLASSES: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
)
RAFDB_CLASSES: tuple[str, ...] = (
    "surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral",
)
# AffectNet's expression ids 0..7; 7 classes drops contempt.
AFFECTNET8_CLASSES: tuple[str, ...] = (
    "neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt",
)
AFFECTNET7_CLASSES: tuple[str, ...] = AFFECTNET8_CLASSES[:7]
FER2013_CLASSES: tuple[str, ...] = (
    "anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral",
)

DATASET_CLASSES: dict[str, tuple[str, ...]] = {
    "ferplus": FERPLUS_CLASSES,
    "rafdb": RAFDB_CLASSES,
    "affectnet7": AFFECTNET7_CLASSES,
    "affectnet8": AFFECTNET8_CLASSES,
    "fer2013": FER2013_CLASSES,
}

# Common spellings seen in image-folder datasets, mapped to our names.
ALIASES: dict[str, str] = {
    "happy": "happiness", "sad": "sadness", "angry": "anger", "surprised": "surprise",
    "fearful": "fear", "disgusted": "disgust", "contemptuous": "contempt", "neutrality": "neutral",
}


def canonical_name(name: str) -> str:
    """Return the canonical class name for `name` (case-insensitive, common aliases accepted).

    Raises UsageError listing the known names when `name` is not a known expression.
    """
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in FINE_TO_COARSE:
        known = ", ".join(sorted(FINE_TO_COARSE))
        raise UsageError(f"unknown expression class {name!r}; known class names: {known}")
    return key


@dataclass(frozen=True)
class LabelSpace:
    """The fine classes of a model/dataset and their coarse groups.

    `coarse_index[i]` is the coarse id of fine class i; `neutral_last_order` is the permutation of
    fine ids with neutral placed last (the AdaReg pair ordering, METHOD.md).
    """

    fine: tuple[str, ...]
    coarse: tuple[str, ...] = COARSE_CLASSES

    def __post_init__(self) -> None:
        for name in self.fine:
            if name not in FINE_TO_COARSE:
                canonical_name(name)  # raises with the list of known names
        if len(set(self.fine)) != len(self.fine):
            raise UsageError(f"duplicate class names in {list(self.fine)}")

    @property
    def n_fine(self) -> int:
        return len(self.fine)

    @property
    def n_coarse(self) -> int:
        return len(self.coarse)

    @property
    def coarse_index(self) -> tuple[int, ...]:
        return tuple(self.coarse.index(FINE_TO_COARSE[name]) for name in self.fine)

    @property
    def neutral_index(self) -> int | None:
        return self.fine.index("neutral") if "neutral" in self.fine else None

    @property
    def neutral_last_order(self) -> tuple[int, ...]:
        n = self.neutral_index
        order = [i for i in range(self.n_fine) if i != n]
        return tuple(order + ([n] if n is not None else []))

    def fine_to_coarse_map(self) -> dict[str, str]:
        return {name: FINE_TO_COARSE[name] for name in self.fine}

    def to_dict(self) -> dict:
        return {"fine": list(self.fine), "coarse": list(self.coarse)}

    @classmethod
    def from_dict(cls, d: dict) -> "LabelSpace":
        return cls(fine=tuple(d["fine"]), coarse=tuple(d.get("coarse", COARSE_CLASSES)))

    @classmethod
    def for_dataset(cls, fmt: str) -> "LabelSpace":
        if fmt not in DATASET_CLASSES:
            raise UsageError(f"no fixed class set for format {fmt!r}; known: {', '.join(DATASET_CLASSES)}")
        return cls(fine=DATASET_CLASSES[fmt])


def check_same_classes(model_labels: LabelSpace, data_labels: LabelSpace, what: str = "the model") -> None:
    """Raise UsageError when a model and a dataset (or two models) have different fine classes."""
    if tuple(model_labels.fine) != tuple(data_labels.fine):
        raise UsageError(
            f"{what} was trained on classes {list(model_labels.fine)} but the data has {list(data_labels.fine)}"
        )
