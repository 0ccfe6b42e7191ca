import subprocess
import sys

import pytest

from eemkit.train.checkpoint import load_checkpoint


@pytest.mark.slow
def test_two_process_gloo_training(ferplus_slice, tmp_path):
    """torchrun with two CPU processes (gloo): DDP trains, AdaReg centres stay identical across ranks
    (the loop checks it every epoch and fails otherwise), and only rank 0 writes."""
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           "-m", "eemkit", "train", "teacher", "--data", str(ferplus_slice), "--out", str(out), "--input-size", "32",
           "--epochs", "2", "--batch-size", "4", "--max-steps", "3", "--backbone", "mobilenet_v3_small", "--json"]
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    ck = load_checkpoint(out / "last.pt")
    assert ck["epoch"] == 2 and ck["objective"]["reg.centers"].shape == (8, 256)
    assert (out / "metrics.csv").read_text().count("\n") == 3
