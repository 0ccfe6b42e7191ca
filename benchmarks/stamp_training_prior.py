"""Record the training class prior in an ONNX exported before eemkit recorded it (metadata only; the
graph is untouched), so that `--class-prior uniform` works on it.

Usage: .venv/bin/python benchmarks/stamp_training_prior.py MODEL.onnx [DATA] [--label-mode majority]
The prior is the class frequency of the FER+ training split under the label rule the model was
trained with (the shipped default model: majority, 25,045 images).
"""

from __future__ import annotations

import argparse

import numpy as np
import onnx

from eemkit.data.datasets import index_split
from eemkit.export.metadata import embed, read_onnx_metadata


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data", nargs="?", default="../shared/data/ferplus")
    ap.add_argument("--label-mode", default="majority")
    a = ap.parse_args()
    meta = read_onnx_metadata(a.model)
    idx = index_split(a.data, "ferplus", "train", a.label_mode, check_files=False)
    counts = np.bincount([r.fine for r in idx.records], minlength=len(meta["classes"])).astype(np.float64)
    meta["class_prior"] = (counts / counts.sum()).tolist()
    meta.setdefault("logit_adjust", 0.0)
    proto = onnx.load(a.model)
    embed(proto, meta)
    onnx.save(proto, a.model)
    print({c: round(p, 4) for c, p in zip(meta["classes"], meta["class_prior"])})


if __name__ == "__main__":
    main()
