import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import CLASSES, face_like, need_ferplus, write_png
from eemkit.cli.app import app
from eemkit.data.datasets import balanced_weights, index_split, load_split
from eemkit.data.preprocess import PreprocessSpec
from eemkit.errors import EemkitError, UsageError

runner = CliRunner()
SPEC = PreprocessSpec.for_input(32)


def test_ferplus_slice_loads_with_coarse_labels(ferplus_slice):
    s = load_split(ferplus_slice, "ferplus", "train", SPEC)
    assert s.images.shape[1:] == (36, 36, 1) and s.images.dtype == np.uint8
    assert set(np.unique(s.fine)) == set(range(8))
    assert s.coarse.max() < 4 and s.excluded.get("unknown/NF", 0) >= 1
    soft = load_split(ferplus_slice, "ferplus", "train", SPEC, label_mode="probability")
    assert soft.soft is not None and np.allclose(soft.soft.sum(1), 1)


def test_ferplus_majority_counts_on_real_data():
    root = need_ferplus()
    r = runner.invoke(app, ["data", "stats", str(root), "--format", "ferplus", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)["splits"]
    assert (d["train"]["n"], d["valid"]["n"], d["test"]["n"]) == (25045, 3191, 3136)
    assert d["test"]["fine"] == {"neutral": 1082, "happiness": 892, "surprise": 394, "sadness": 382,
                                 "anger": 269, "disgust": 16, "fear": 86, "contempt": 15}
    assert d["test"]["coarse"]["negative"] == 382 + 269 + 16 + 86 + 15


def test_label_modes_differ():
    from eemkit.data.datasets import ferplus_label

    votes = np.array([4, 0, 0, 3, 1, 2, 0, 0, 0, 0])
    assert ferplus_label(votes, "majority")[2] == "no majority"  # 4 of 9 after dropping the single vote
    assert ferplus_label(votes, "argmax")[0] == 0
    fine, soft, _ = ferplus_label(votes, "probability")
    assert fine == 0 and soft[4] == 0 and abs(soft.sum() - 1) < 1e-6
    assert ferplus_label(np.array([0, 0, 0, 0, 0, 0, 0, 0, 6, 4]), "argmax")[2] == "unknown/NF"


def test_rafdb_reader(tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(14):
        split = "train" if i < 10 else "test"
        name = f"{split}_{i:05d}.jpg"
        lines.append(f"{name} {i % 7 + 1}")
        write_png(tmp_path / "Image" / "aligned" / f"{split}_{i:05d}_aligned.jpg", face_like(rng, i % 7, 100, rgb=True))
    (tmp_path / "EmoLabel").mkdir()
    (tmp_path / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines))
    tr = load_split(tmp_path, "rafdb", "train", SPEC)
    te = load_split(tmp_path, "rafdb", "test", SPEC)
    assert len(tr) == 10 and len(te) == 4 and tr.labels.fine[0] == "surprise"
    assert tr.fine[0] == 0 and tr.images.shape[-1] == 1


def test_affectnet_reader(tmp_path):
    rng = np.random.default_rng(1)
    for man, n in (("training.csv", 9), ("validation.csv", 4)):
        with open(tmp_path / man, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
                        "expression", "valence", "arousal"])
            for i in range(n):
                rel = f"{i}/{man[:5]}{i}.png"
                write_png(tmp_path / "Manually_Annotated_Images" / rel, face_like(rng, i % 8, 80, rgb=True))
                w.writerow([rel, 10, 10, 60, 60, "", i % 10, 0, 0])
    s8 = load_split(tmp_path, "affectnet", "train", SPEC)
    s7 = load_split(tmp_path, "affectnet7", "train", SPEC)
    assert s8.labels.n_fine == 8 and s7.labels.n_fine == 7
    assert len(s8) == 8 and len(s7) == 7  # ids 8, 9 (none/uncertain) and 7 (contempt, for 7 classes) excluded
    assert s8.excluded


def test_fer2013_reader(tmp_path):
    rng = np.random.default_rng(2)
    with open(tmp_path / "fer2013.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["emotion", "pixels", "Usage"])
        for i in range(10):
            w.writerow([i % 7, " ".join(map(str, face_like(rng, i % 7).ravel())), ["Training", "PublicTest", "PrivateTest"][i % 3]])
    s = load_split(tmp_path, "fer2013", "train", SPEC)
    assert len(s) == 4 and s.labels.fine[3] == "happiness"


def test_folder_reader_and_balanced_weights(tmp_path):
    rng = np.random.default_rng(3)
    for c, n in (("happy", 5), ("neutral", 2), ("Sad", 1)):
        for i in range(n):
            write_png(tmp_path / c / f"{i}.png", face_like(rng, i, 40))
    s = load_split(tmp_path, "folder", "train", SPEC)
    assert s.labels.fine == ("neutral", "happiness", "sadness") and len(s) == 8
    w = balanced_weights(s.fine, 3)
    assert np.allclose(np.bincount(s.fine, weights=w), 1.0)


# ------------------------------------------------------------------ bad input through the CLI
def _stats(path, fmt="ferplus"):
    return runner.invoke(app, ["data", "stats", str(path), "--format", fmt])


def _one_line_error(r, code=2, text=None):
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    if text:
        assert text in r.output.replace("\n", " ") or text in " ".join(r.output.split())


def test_missing_folder(tmp_path):
    _one_line_error(_stats(tmp_path / "nope"), 2, "does not exist")


def test_unknown_format(tmp_path):  # a closed choice: Click names the valid layouts
    _one_line_error(_stats(tmp_path, "imagenet"), 2, "'imagenet' is not one of")


def test_ferplus_without_label_csv(tmp_path):
    (tmp_path / "FER2013Train").mkdir()
    _one_line_error(_stats(tmp_path), 2, "label.csv")


def _ferplus_with_row(tmp_path, row):
    (tmp_path / "FER2013Train").mkdir()
    write_png(tmp_path / "FER2013Train" / "a.png", np.zeros((48, 48), np.uint8))
    (tmp_path / "FER2013Train" / "label.csv").write_text(row + "\n")
    return tmp_path


def test_wrong_column_count(tmp_path):
    _one_line_error(_stats(_ferplus_with_row(tmp_path, 'a.png,"(0, 0, 48, 48)",10,0,0')), 2, "expected 12 columns")


def test_non_integer_votes(tmp_path):
    _one_line_error(_stats(_ferplus_with_row(tmp_path, 'a.png,"(0, 0, 48, 48)",x,0,0,0,0,0,0,0,0,0')), 2, "must be integers")


def test_missing_listed_image(tmp_path):
    _one_line_error(_stats(_ferplus_with_row(tmp_path, 'b.png,"(0, 0, 48, 48)",10,0,0,0,0,0,0,0,0,0')), 2, "b.png is missing")


def test_unreadable_image_and_skip_bad(tmp_path):
    root = _ferplus_with_row(tmp_path, 'a.png,"(0, 0, 48, 48)",10,0,0,0,0,0,0,0,0,0\nc.png,"(0, 0, 48, 48)",10,0,0,0,0,0,0,0,0,0')
    (root / "FER2013Train" / "c.png").write_bytes(b"not a png")
    with pytest.raises(EemkitError, match="c.png"):
        load_split(root, "ferplus", "train", SPEC)
    s = load_split(root, "ferplus", "train", SPEC, skip_bad=True)
    assert len(s) == 1 and s.excluded["unreadable"] == 1


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty" / "happy").mkdir(parents=True)
    _one_line_error(_stats(tmp_path / "empty", "folder"), 2, "no images")
    write_png(tmp_path / "odd" / "bored" / "x.png", np.zeros((8, 8), np.uint8))
    r = _stats(tmp_path / "odd", "folder")
    _one_line_error(r, 2, "known class names")
    assert "happiness" in r.output


def test_unknown_label_mode_is_usage_error(ferplus_slice):
    with pytest.raises(UsageError, match="label mode"):
        index_split(ferplus_slice, "ferplus", "train", "soft")
