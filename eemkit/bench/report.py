"""Bench results as a table, CSV and a latency-vs-accuracy plot."""

from __future__ import annotations

import csv
from pathlib import Path

FLAT_KEYS = ("model", "format", "status", "precision", "size_mb", "params", "gflops", "latency_median_ms", "latency_p90_ms",
             "latency_p99_ms", "latency_std_ms", "speedup_vs_torch", "accuracy", "average", "accuracy_diff", "average_diff", "reason")


def flatten(row: dict) -> dict:
    f = {k: row.get(k) for k in FLAT_KEYS}
    for k in ("median_ms", "p90_ms", "p99_ms", "std_ms"):
        f[f"latency_{k}"] = (row.get("latency") or {}).get(k)
    for b, v in (row.get("throughput") or {}).items():
        f[f"throughput_b{b}"] = v
    return f


def write_csv(result: dict, path: str | Path) -> None:
    rows = [flatten(r) for r in result["rows"]]
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    from eemkit.io_utils import atomic_open

    with atomic_open(path, "w", newline="", what="CSV") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def plot(result: dict, path: str | Path) -> None:
    """Latency (batch 1) vs accuracy; marker area follows file size. Without accuracy, vs size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in result["rows"] if r.get("status") == "ok"]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    has_acc = all("accuracy" in r for r in ok) and ok
    for r in ok:
        y = r["accuracy"] if has_acc else r["size_mb"]
        ax.scatter(r["latency"]["median_ms"], y, s=20 + 8 * r["size_mb"], alpha=0.6)
        ax.annotate(f"{r['model']}\n{r['format']}", (r["latency"]["median_ms"], y), fontsize=6)
    ax.set_xlabel("latency, batch 1, median (ms)")
    ax.set_ylabel("accuracy (%)" if has_acc else "file size (MB)")
    m = result["machine"]
    ax.set_title(f"{m['cpu']} | {m['threads']} threads | {m['device']}", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    from eemkit.io_utils import save_figure

    save_figure(fig, path)
    plt.close(fig)


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cpu_cores']} cores, {m['threads']} threads, device {m['device']}, GPU {m['gpu']}; "
             f"torch {m['torch']}, onnxruntime {m['onnxruntime']}, TensorRT {m['tensorrt']}", "",
             "| model | format | status | MB | params (M) | GFLOPs | median ms (b1) | p90 | p99 | img/s by batch | speed-up vs torch | acc | avg |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["rows"]:
        lat = r.get("latency") or {}
        tp = ", ".join(f"b{b}: {v:.0f}" for b, v in (r.get("throughput") or {}).items())
        def f(v, fmt):
            return "-" if v is None or v != v or v == 0 else format(v, fmt)  # unknown or not measured
        lines.append(f"| {r['model']} | {r['format']} | {r['status'] if r['status'] == 'ok' else 'failed: ' + r.get('reason', '')[:80]} | "
                     f"{f(r.get('weights_mb', r.get('size_mb')), '.2f')} | {f(r['params'] / 1e6 if r.get('params') else None, '.2f')} | {f(r.get('gflops'), '.3f')} | "
                     f"{f(lat.get('median_ms'), '.2f')} | {f(lat.get('p90_ms'), '.2f')} | {f(lat.get('p99_ms'), '.2f')} | {tp} | "
                     f"{f(r.get('speedup_vs_torch'), '.2f')} | {f(r.get('accuracy'), '.2f')} | {f(r.get('average'), '.2f')} |")
    return "\n".join(lines) + "\n"


def write_reports(result: dict, out: str | Path) -> Path:
    """bench.json, bench.csv, bench.md and bench.png in `out` (created if its parent exists); returns `out`."""
    import json

    from eemkit.io_utils import atomic_write_text, ensure_dir

    folder = ensure_dir(out, "--out")
    atomic_write_text(folder / "bench.json", json.dumps(result, indent=2))
    write_csv(result, folder / "bench.csv")
    atomic_write_text(folder / "bench.md", markdown(result))
    plot(result, folder / "bench.png")
    return folder
