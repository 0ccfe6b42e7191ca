"""`demo --serve`: MJPEG stream, live page and records.json from a generated clip, on 127.0.0.1 only, with the
shipped model (no torch). One demo run feeds all the tests: a client thread collects what each endpoint gave."""

import json
import re
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from conftest import need_ferplus
from eemkit.errors import UsageError

pytestmark = pytest.mark.runtime


def _first_jpeg(url: str) -> tuple[str, bytes]:
    """(Content-Type of the response, the first JPEG part's bytes) of an MJPEG stream."""
    with urllib.request.urlopen(url, timeout=10) as r:
        ctype = r.headers["Content-Type"]
        head = b""
        while b"\r\n\r\n" not in head:
            head += r.read(1)
        n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        return ctype, r.read(n)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import cv2

    from eemkit.demo.app import run_demo
    from eemkit.demo.synthetic import make_face_video

    face = cv2.imread(str(need_ferplus() / "FER2013Test" / "fer0032223.png"), cv2.IMREAD_GRAYSCALE)
    big = cv2.cvtColor(cv2.resize(face, (240, 240), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2RGB)
    clip = make_face_video(tmp_path_factory.mktemp("serve") / "clip.mp4", [big], n_frames=45, face_px=240, fps=15)
    logs: list[str] = []
    got: dict = {}
    demo = threading.Thread(target=lambda: got.update(result=run_demo(None, f"file://{clip}", headless=True, serve="127.0.0.1:0",
                                                                      log=logs.append, threads=1)))
    demo.start()
    deadline = time.time() + 30
    while not any("serving" in s for s in logs) and time.time() < deadline:
        time.sleep(0.05)
    base = re.search(r"(http://127\.0\.0\.1:\d+/)", " ".join(logs)).group(1)
    got["page"] = urllib.request.urlopen(base, timeout=10).read().decode()
    while time.time() < deadline:
        rec = json.loads(urllib.request.urlopen(base + "records.json", timeout=10).read())
        if rec["faces"]:
            got["records"] = rec
            break
        time.sleep(0.1)
    got["ctype"], got["jpeg"] = _first_jpeg(base + "stream.mjpg")
    demo.join(timeout=60)
    try:
        urllib.request.urlopen(base + "records.json", timeout=2)
        got["after"] = "still serving"
    except (urllib.error.URLError, ConnectionError):
        got["after"] = "stopped"
    return got


def test_the_page_shows_the_stream_and_polls_the_records(served):
    assert 'src="/stream.mjpg"' in served["page"] and "/records.json" in served["page"]


def test_records_json_has_the_labelled_face(served):
    face = served["records"]["faces"][0]
    assert face["coarse_label"] in ("positive", "negative", "neutral", "surprise") and len(face["box"]) == 4


def test_the_stream_is_mjpeg_of_annotated_frames(served):
    import cv2

    img = cv2.imdecode(np.frombuffer(served["jpeg"], np.uint8), cv2.IMREAD_COLOR)
    assert served["ctype"].startswith("multipart/x-mixed-replace") and img.shape == (480, 640, 3)


def test_the_server_stops_with_the_demo(served):
    assert served["after"] == "stopped" and served["result"]["frames"] == 45


@pytest.mark.parametrize("bad", ["8080", "localhost:", ":80", "host:99999", "host:http"])
def test_a_bad_serve_address_is_a_usage_error(bad):
    from eemkit.demo.serve import parse_host_port

    with pytest.raises(UsageError, match="HOST:PORT"):
        parse_host_port(bad)


def test_an_rtsp_output_points_to_serve_and_gstreamer(tmp_path):
    from eemkit.demo.app import run_demo

    with pytest.raises(UsageError, match="--serve"):
        run_demo(None, "0", headless=True, output="rtsp://@:8554/out")
