"""`demo --serve HOST:PORT`: the annotated video as MJPEG (multipart/x-mixed-replace), a small live page and a
JSON endpoint, for headless devices. Standard library http.server on a daemon thread; bounded (a fixed number
of stream clients, one frame held), and stopped with the demo.

    /               the page: the stream, frames/s, faces, each face's label and a swatch of its coarse colour
    /stream.mjpg    the MJPEG stream (one JPEG part per annotated frame)
    /records.json   the latest frame's records: {"frame", "fps", "faces": [{box, label, coarse, ...}], "time"}
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from eemkit.errors import EemkitError, UsageError

BOUNDARY = "eemkitframe"
MAX_CLIENTS = 4
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>eemkit demo</title>
<style>body{font-family:sans-serif;background:#111;color:#eee;margin:1em}img{max-width:100%;border:1px solid #444}
td,th{padding:2px 8px;text-align:left}.sw{display:inline-block;width:1em;height:1em;vertical-align:middle}</style>
</head><body><h3>eemkit live</h3><img src="/stream.mjpg" alt="annotated video">
<p id="stat">waiting for frames...</p><table><thead><tr><th></th><th>track</th><th>expression</th><th>coarse</th>
</tr></thead><tbody id="faces"></tbody></table>
<script>
const COLORS = __COLORS__;
async function poll() {
  try {
    const r = await (await fetch('/records.json', {cache: 'no-store'})).json();
    document.getElementById('stat').textContent = `frame ${r.frame} | ${r.fps.toFixed(1)} frames/s | ${r.faces.length} face(s)`;
    document.getElementById('faces').innerHTML = r.faces.map(f => {
      const c = COLORS[f.coarse_label] || [255, 255, 255];
      return `<tr><td><span class="sw" style="background:rgb(${c})"></span></td><td>${f.track}</td>` +
             `<td>${f.fine_label} ${(100 * f.fine_conf).toFixed(0)}%</td><td>${f.coarse_label}</td></tr>`;
    }).join('');
  } catch (e) { document.getElementById('stat').textContent = 'stream ended'; }
  setTimeout(poll, 500);
}
poll();
</script></body></html>"""


def parse_host_port(text: str) -> tuple[str, int]:
    """'HOST:PORT' (IPv4 or name; port 0 picks a free one) -> (host, port); UsageError otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--serve takes HOST:PORT (e.g. 0.0.0.0:8080, 127.0.0.1:8080), not {text!r}")
    return host, int(port)


class FrameHub:
    """The latest JPEG and records, handed from the demo loop to the HTTP threads."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.seq = 0
        self.jpeg: bytes | None = None
        self.info: dict = {"frame": -1, "fps": 0.0, "faces": [], "time": None}
        self.closed = False

    def publish(self, jpeg: bytes, info: dict) -> None:
        with self.cond:
            self.jpeg, self.info, self.seq = jpeg, info, self.seq + 1
            self.cond.notify_all()

    def next_frame(self, seen: int, timeout: float = 1.0) -> tuple[int, bytes | None]:
        """(seq, jpeg) of a frame newer than `seen`, waiting up to `timeout`; (seen, None) when none came or closed."""
        with self.cond:
            self.cond.wait_for(lambda: self.closed or self.seq > seen, timeout)
            if self.closed or self.seq <= seen:
                return seen, None
            return self.seq, self.jpeg

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


def _handler(hub: FrameHub, slots: threading.BoundedSemaphore, page: bytes):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no access log on stderr
            pass

        def _send(self, code: int, ctype: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", page)
            elif path == "/records.json":
                with hub.cond:
                    info = hub.info
                self._send(200, "application/json", json.dumps(info).encode())
            elif path == "/stream.mjpg":
                if not slots.acquire(blocking=False):
                    self._send(503, "text/plain", f"at most {MAX_CLIENTS} stream clients\n".encode())
                    return
                try:
                    self._stream()
                finally:
                    slots.release()
            else:
                self._send(404, "text/plain", b"not found\n")

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = 0
            while not hub.closed:
                seen, jpeg = hub.next_frame(seen)
                if jpeg is None:
                    continue
                try:
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode())
                    self.wfile.write(jpeg + b"\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return

    return Handler


class StreamServer:
    """Serves the demo's annotated frames; `publish` after each frame, `stop` when the demo ends."""

    def __init__(self, host: str, port: int, quality: int = 80) -> None:
        from eemkit.demo.pipeline import COARSE_COLORS

        self.hub = FrameHub()
        self.quality = quality
        page = PAGE.replace("__COLORS__", json.dumps({k: list(v) for k, v in COARSE_COLORS.items()})).encode()
        try:
            self.httpd = ThreadingHTTPServer((host, port), _handler(self.hub, threading.BoundedSemaphore(MAX_CLIENTS), page))
        except OSError as err:
            raise EemkitError(f"cannot serve on {host}:{port}: {err.strerror or err}") from None
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "StreamServer":
        self._thread.start()
        return self

    def publish(self, rgb: np.ndarray, frame: int, fps: float, faces: list[dict]) -> None:
        """JPEG-encode the annotated RGB frame and make it and its records the latest."""
        import cv2

        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if ok:
            self.hub.publish(buf.tobytes(), {"frame": frame, "fps": float(fps), "faces": faces, "time": time.time()})

    def stop(self) -> None:
        self.hub.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=2)
