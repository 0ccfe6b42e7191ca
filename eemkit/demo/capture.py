"""Frame sources: camera index, /dev/videoN, csi://N (Jetson, GStreamer nvarguscamerasrc), rtsp://...,
or a video file. Live sources are read on a separate thread that keeps only the latest frame, so
latency never builds up; files are read in order. A lost live source is reported and reopened."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from eemkit.errors import EemkitError, UsageError


def csi_pipeline(sensor: int = 0, width: int = 1280, height: int = 720, fps: int = 30) -> str:
    """GStreamer string for a Jetson CSI camera, ending in BGR frames for OpenCV's appsink."""
    return (f"nvarguscamerasrc sensor-id={sensor} ! video/x-raw(memory:NVMM), width={width}, height={height}, "
            f"framerate={fps}/1, format=NV12 ! nvvidconv ! video/x-raw, format=BGRx ! videoconvert ! "
            "video/x-raw, format=BGR ! appsink drop=true max-buffers=1")


def describe_source(src: str) -> tuple[object, int | None, bool]:
    """(what to pass to cv2.VideoCapture, API preference, is_live). `file://PATH` is the file PATH."""
    import cv2

    from eemkit.io_utils import cv2_path

    cv2_path(src, "video source")  # OpenCV crashes (SIGSEGV) on a name or URL that is not valid UTF-8
    if src.startswith("file://"):
        src = src[len("file://"):]
    if src.isdigit():
        return int(src), None, True
    if src.startswith("/dev/video"):
        return src, cv2.CAP_V4L2, True
    if src.startswith("csi://"):
        sensor = src[6:] or "0"
        if not sensor.isdigit():
            raise UsageError(f"video source {src!r}: csi:// takes a sensor number, e.g. csi://0")
        return csi_pipeline(int(sensor)), cv2.CAP_GSTREAMER, True
    if src.startswith(("rtsp://", "http://", "https://")):
        return src, None, True
    if not Path(src).is_file():
        raise UsageError(f"video source {src!r} is neither a file, a camera index, /dev/videoN, csi://N nor rtsp://")
    return src, None, False


class Source:
    def __init__(self, src: str, live: bool | None = None, retries: int = 3, log: Callable[[str], None] = lambda s: None) -> None:
        import cv2

        self.cv2, self.src, self.log, self.retries = cv2, src, log, retries
        self.target, self.api, is_live = describe_source(src)
        self.live = is_live if live is None else live
        self.cap = self._open()
        self._latest: np.ndarray | None = None
        self.lost = False  # a live source that stayed lost after every reopen attempt
        self._seq = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = None
        if self.live:
            self._thread = threading.Thread(target=self._reader, daemon=True)
            self._thread.start()

    def _open(self):
        cap = self.cv2.VideoCapture(self.target, self.api) if self.api is not None else self.cv2.VideoCapture(self.target)
        if not cap.isOpened():
            hint = ("check the index with `v4l2-ctl --list-devices`, that no other program holds it, and that you may "
                    "read /dev/video*" if self.src.isdigit() or self.src.startswith("/dev/video") else
                    "check the URL and network" if "://" in self.src and not self.src.startswith("csi") else
                    "on a Jetson check `nvgstcapture-1.0` works and OpenCV has GStreamer" if self.src.startswith("csi")
                    else "is it a video file OpenCV can decode?")
            raise EemkitError(f"cannot open video source {self.src!r}: {hint}")
        return cap

    def _reader(self) -> None:
        failures = 0
        while not self._stop.is_set():
            ok, frame = self.cap.read()
            if not ok:
                failures += 1
                if failures > self.retries:
                    self.lost = True
                    self._stop.set()
                    break
                self.log(f"lost video source {self.src!r}; reopening (try {failures}/{self.retries})")
                time.sleep(min(2.0, 0.25 * failures))
                self.cap.release()
                try:
                    self.cap = self._open()
                except EemkitError:
                    continue
                continue
            failures = 0
            with self._lock:
                self._latest, self._seq = frame, self._seq + 1

    def frames(self) -> Iterator[np.ndarray]:
        """RGB uint8 frames until the source ends (files). A live source that stays lost after `retries`
        reopen attempts raises EemkitError, so the process exits non-zero and a service manager
        (systemd Restart=on-failure) starts it again."""
        cv2 = self.cv2
        if not self.live:
            first = True
            while True:
                ok, frame = self.cap.read()
                if not ok:
                    if first:
                        raise UsageError(f"{self.src} holds no readable video frames")
                    return
                first = False
                yield self._to_rgb(frame)
        seen = 0
        while not self._stop.is_set() or self._seq > seen:
            with self._lock:
                frame, seq = self._latest, self._seq
            if frame is None or seq == seen:
                time.sleep(0.002)
                continue
            seen = seq
            yield self._to_rgb(frame)
        if self.lost:
            raise EemkitError(f"lost video source {self.src!r} and could not reopen it ({self.retries} tries)")

    def _to_rgb(self, frame: np.ndarray) -> np.ndarray:
        cv2 = self.cv2
        if frame.ndim == 2:
            return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        if frame.shape[2] == 4:
            return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    @property
    def fps(self) -> float:
        v = self.cap.get(self.cv2.CAP_PROP_FPS)
        return v if v and v > 1 else 30.0

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.cap.release()


def open_source(src: str, live: bool | None = None, log: Callable[[str], None] = lambda s: None) -> Source:
    return Source(src, live, log=log)
