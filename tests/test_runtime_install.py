"""The runtime-only install (`pip install eemkit`: no torch, no onnx, no matplotlib) runs predict, demo,
bench, check --reference and eval of the shipped INT8 model.

Under an interpreter that has torch, a session fixture builds the wheel and installs it into a fresh venv
with its base dependencies only; under a runtime-only interpreter (CI's Python 3.10 job) the tests run in
it directly. Every command runs as a subprocess of that interpreter, from a folder outside the checkout.
Nothing here imports torch.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, need_ferplus

pytestmark = pytest.mark.runtime
SHIPPED = ROOT / "eemkit" / "assets" / "default-student.int8.onnx"
# what pip prints when no index can be reached; any other pip failure fails the test
NETWORK_ERRORS = ("NewConnectionError", "Temporary failure in name resolution", "Name or service not known",
                  "Network is unreachable", "Connection refused", "ConnectTimeoutError", "ReadTimeoutError",
                  "ProxyError", "SSLError", "Max retries exceeded")
# the final errors an unreachable index leads to (pip found no candidates because it could not ask)
NOT_FOUND = ("No matching distribution found", "Could not find a version that satisfies")
SUBSET = {"happiness": "happy", "sadness": "sad", "anger": "angry"}  # folder names as users spell them


def _pip(python: Path, *args: str, cwd: Path | None = None) -> None:
    r = subprocess.run([str(python), "-m", "pip", *args], capture_output=True, text=True, timeout=400, cwd=cwd)
    if r.returncode != 0:
        offline, last = _unreachable((r.stderr or "") + (r.stdout or ""))
        if offline:
            pytest.skip(f"pip could not reach a package index here: {last}")
        pytest.fail(f"pip {args[0]} failed (a packaging defect, not the network): {last}")


def _unreachable(text: str) -> tuple[bool, str]:
    """(whether pip failed because no index could be reached, its last error line)."""
    errors = [ln for ln in text.splitlines() if ln.startswith("ERROR:")]
    last = errors[-1] if errors else "no ERROR line"
    offline = any(s in last for s in NETWORK_ERRORS) or (
        any(s in last for s in NOT_FOUND) and any(s in text for s in NETWORK_ERRORS))
    return offline, last


def test_only_an_unreachable_index_skips_the_install_tests():
    retry = "WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError(...)': /simple/numpy/\n"
    assert _unreachable(retry + "ERROR: Could not find a version that satisfies the requirement numpy (from versions: none)\n"
                        "ERROR: No matching distribution found for numpy")[0]
    assert _unreachable("ERROR: Could not install packages due to an OSError: "
                        "HTTPSConnectionPool: Max retries exceeded with url: /simple/ (Caused by ProxyError)")[0]
    # a real defect is not excused by a retry warning earlier in the output, nor is a missing pin on a live index
    assert not _unreachable(retry + "ERROR: ResolutionImpossible: numpy>=9 conflicts with onnxruntime")[0]
    assert not _unreachable("ERROR: No matching distribution found for onnxruntime==0.0.1")[0]
    assert not _unreachable("ERROR: Directory '/x' is not installable. Neither 'setup.py' nor 'pyproject.toml' found.")[0]


@pytest.fixture(scope="session")
def runtime_python(tmp_path_factory) -> Path:
    """A Python whose environment holds eemkit and its base dependencies only."""
    if importlib.util.find_spec("torch") is None:
        return Path(sys.executable)
    d = tmp_path_factory.mktemp("runtime-install")
    src = d / "src"
    src.mkdir()
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "eemkit", src / "eemkit", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "eval-*"))
    _pip(Path(sys.executable), "wheel", "-q", "--no-deps", "-w", str(d / "wheels"), str(src))
    subprocess.run([sys.executable, "-m", "venv", str(d / "venv")], check=True, timeout=120)
    python = d / "venv" / "bin" / "python"
    wheel = next((d / "wheels").glob("eemkit-*.whl"))
    _pip(python, "install", "-q", "--prefer-binary", "--timeout", "30", "--retries", "1", str(wheel))
    return python


def eemkit(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `python -m eemkit ARGS` from `cwd` (outside the checkout, so the installed package is used)."""
    return subprocess.run([str(python), "-m", "eemkit", *map(str, args)], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(cwd)})


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> dict:
    """Real FER+ test faces: a happy/ sad/ angry/ folder (8 each), a scene with one upscaled face, a clip."""
    import cv2

    from eemkit.data.datasets import ferplus_label
    from eemkit.demo.synthetic import make_face_video

    src = need_ferplus() / "FER2013Test"
    d = tmp_path_factory.mktemp("faces")
    taken = {c: 0 for c in SUBSET}
    names = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]
    with open(src / "label.csv", newline="") as fh:
        for row in csv.reader(fh):
            fine, _, _ = ferplus_label(np.array([int(x) for x in row[2:]]), "majority")
            c = names[fine] if fine is not None else None
            if c in taken and taken[c] < 8:
                (d / "subset" / SUBSET[c]).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / row[0], d / "subset" / SUBSET[c] / row[0])
                taken[c] += 1
    face = cv2.imread(str(src / "fer0032223.png"), cv2.IMREAD_GRAYSCALE)
    big = cv2.cvtColor(cv2.resize(face, (240, 240), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2RGB)
    scene = np.full((360, 480, 3), 90, np.uint8)
    scene[60:300, 120:360] = big
    cv2.imwrite(str(d / "scene.png"), scene)
    clip = make_face_video(d / "clip.mp4", [big], n_frames=12, face_px=240)
    return {"dir": d, "subset": d / "subset", "scene": d / "scene.png", "clip": clip, "n_subset": sum(taken.values())}


def test_the_runtime_install_has_neither_torch_nor_onnx(runtime_python):
    code = "import importlib.util as u; print([m for m in ('torch', 'torchvision', 'onnx', 'matplotlib') if u.find_spec(m)])"
    out = subprocess.run([str(runtime_python), "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_info_without_torch(runtime_python, tmp_path):
    r = eemkit(runtime_python, "info", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["torch"] is None and "CPUExecutionProvider" in d["ort_providers"]


def test_predict_finds_the_face_without_torch(runtime_python, faces, tmp_path):
    r = eemkit(runtime_python, "predict", faces["scene"], "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["records"]) == 1


def test_predict_crops_classifies_every_crop_without_torch(runtime_python, faces, tmp_path):
    r = eemkit(runtime_python, "predict", faces["subset"], "--crops", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["records"]) == faces["n_subset"]


def test_demo_headless_on_a_file_url_without_torch(runtime_python, faces, tmp_path):
    r = eemkit(runtime_python, "demo", "--source", f"file://{faces['clip']}", "--headless", "--output", tmp_path / "out.mp4",
               "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["frames"] == 12


def test_bench_of_the_shipped_model_without_torch(runtime_python, tmp_path):
    r = eemkit(runtime_python, "bench", SHIPPED, "--batch", "1,4", "--min-time", "0.05", "--threads", "1", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows"][0]["status"] == "ok"


def test_eval_on_a_subset_class_folder_scores_restricted_and_unrestricted(runtime_python, faces, tmp_path):
    r = eemkit(runtime_python, "eval", SHIPPED, "--data", faces["subset"], "--format", "folder", "--out", tmp_path / "ev",
               "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["classes_present"] == ["happiness", "sadness", "anger"]
    # the argmax over the present classes can only turn wrong answers right
    assert res["restricted"]["train"]["accuracy"] >= res["priors"]["train"]["accuracy"]


def test_a_torch_command_says_what_to_install(runtime_python, tmp_path):
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(b"not really")
    r = eemkit(runtime_python, "export", ckpt, "--out", tmp_path / "a", cwd=tmp_path)
    assert r.returncode == 1 and "eemkit[train]" in r.stderr and "Traceback" not in r.stderr, r.stderr


@pytest.fixture(scope="module")
def reference(faces, tmp_path_factory) -> dict:
    """reference.npz files for the shipped model made with ONNX Runtime here: its own outputs (must pass)
    and outputs of a 'reference' that is always right (the INT8 model then drops far more than 1 point)."""
    from eemkit.data.datasets import load_split
    from eemkit.export.reference import save_reference
    from eemkit.runtime import open_runner

    d = tmp_path_factory.mktemp("reference")
    with open_runner(SHIPPED) as runner:
        data = load_split(faces["subset"], "folder", "test", runner.spec)
        present = np.array([runner.labels.fine.index(c) for c in data.labels.fine])
        y = present[data.fine]
        out = runner.infer_prepared(data.images, raw=True)
        same = save_reference(d / "same.npz", data.images, out["fine_logits"], out["coarse_logits"], y, runner.meta, "test")
        oracle = np.eye(runner.labels.n_fine, dtype=np.float32)[y] * 20
        perfect = save_reference(d / "perfect.npz", data.images, oracle, out["coarse_logits"], y, runner.meta, "test")
    return {"same": same, "perfect": perfect}


def test_check_against_reference_npz_passes_without_torch(runtime_python, reference, tmp_path):
    r = eemkit(runtime_python, "check", SHIPPED, "--reference", reference["same"], "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_against_a_better_reference_fails_with_exit_3(runtime_python, reference, tmp_path):
    r = eemkit(runtime_python, "check", SHIPPED, "--reference", reference["perfect"], "--json", cwd=tmp_path)
    assert r.returncode == 3, r.stdout + r.stderr


def test_check_against_another_runtime_model_without_data(runtime_python, tmp_path):
    r = eemkit(runtime_python, "check", SHIPPED, "--reference", SHIPPED, "--min-agreement", "99.9", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
