"""Screenshot of `eemkit demo --serve`'s live page in headless Chromium (Debian's `chromium` package), from a
generated clip of scikit-image's astronaut photo: benchmarks/serve-page.png. Not a test dependency.

    .venv/bin/python benchmarks/serve_screenshot.py
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "serve-page.png"


def main() -> int:
    from skimage import data

    from eemkit.demo.app import run_demo
    from eemkit.demo.synthetic import make_face_video

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("no chromium: apt-get install chromium", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp())
    clip = make_face_video(tmp / "clip.mp4", [data.astronaut()[0:240, 105:345]], n_frames=150, face_px=260, fps=15)
    logs: list[str] = []
    demo = threading.Thread(target=run_demo, args=(None, f"file://{clip}"),
                            kwargs=dict(headless=True, serve="127.0.0.1:0", log=logs.append, threads=1))
    demo.start()
    while not any("serving" in s for s in logs):
        time.sleep(0.05)
    url = re.search(r"(http://127\.0\.0\.1:\d+/)", " ".join(logs)).group(1)
    time.sleep(2.0)  # let the page's records poll fill in
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={OUT}",
                    "--window-size=700,720", "--virtual-time-budget=2500", url], check=True, capture_output=True, timeout=60)
    demo.join()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
