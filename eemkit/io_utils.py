"""Files in and out, safely: atomic writes, output paths checked before the work starts, and image
decoding that turns every OpenCV failure into the package's own error.

Every file eemkit writes goes through `atomic_write_*` / `atomic_open`: the content goes to a temp
file in the same folder, is flushed and fsynced, then renamed over the target with os.replace, so a
crash, a full disk or Ctrl-C never leaves a truncated file where a good one was. Imports neither
torch nor onnx (the runtime path uses it too).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from eemkit.errors import EemkitError, UsageError


def _oserror(err: OSError, path: Path, what: str) -> EemkitError:
    reason = err.strerror or type(err).__name__
    return EemkitError(f"cannot write {what} {path}: {reason}")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", newline: str | None = None, what: str = "file") -> Iterator[IO]:
    """Open a temp file beside `path` for writing; on a clean exit it replaces `path` atomically.

    Raises EemkitError naming the file when the folder is missing or the write fails (disk full,
    read-only); the temp file is removed and an existing `path` is left untouched.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    except OSError as err:
        raise _oserror(err, path, what) from None
    try:
        kwargs = {} if "b" in mode else {"newline": newline, "encoding": "utf-8"}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            with contextlib.suppress(OSError):  # FAT/exFAT and some CIFS mounts refuse fchmod: keep the write
                os.chmod(fh.fileno(), _target_mode(path))
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        _unlink(tmp)
        raise _oserror(err, path, what) from None
    except BaseException:
        _unlink(tmp)
        raise


def _target_mode(path: Path) -> int:
    """The mode a file written in place would get: an existing file's own, else 0666 less the umask
    (mkstemp creates 0600, which would make every replaced file private)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask: from /proc (Linux) without touching it, else by setting and restoring it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unlink(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def atomic_write_bytes(path: str | Path, data: bytes, what: str = "file") -> Path:
    with atomic_open(path, "wb", what=what) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, what: str = "file") -> Path:
    with atomic_open(path, "w", what=what) as fh:
        fh.write(text)
    return Path(path)


def atomic_copy(src: str | Path, dst: str | Path, what: str = "file") -> Path:
    with open(src, "rb") as s, atomic_open(dst, "wb", what=what) as d:
        for chunk in iter(lambda: s.read(1 << 20), b""):
            d.write(chunk)
    return Path(dst)


def save_onnx(proto, path: str | Path) -> Path:
    """onnx.save, atomically (the model is serialised in memory first)."""
    return atomic_write_bytes(path, proto.SerializeToString(), what="ONNX model")


# ---------------------------------------------------------------- checks before the work starts
def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def check_output_dir(path: str | Path, what: str = "output folder") -> Path:
    """Raise UsageError unless `path` is a folder eemkit can write into, or can be created.

    Names the reason: `path` is a file, a parent is a file, or the folder (or the nearest existing
    parent, for a folder still to be created) is not writable / on a read-only file system.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path} is a file, not a folder; choose another path")
    base = _nearest_existing(path)
    if not base.is_dir():
        raise UsageError(f"cannot create {what} {path}: {base} is a file, not a folder")
    if not _writable(base):
        raise UsageError(f"{what} {path} is not writable ({base} is read-only or not yours); choose another path")
    return path


def check_output_file(path: str | Path, what: str = "output file") -> Path:
    """Raise UsageError unless `path` can be written: its folder exists and is writable, and `path`
    is not a folder. Call it before long work whose result goes to `path`."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"{what} {path} is a folder; give a file name")
    if not parent.is_dir():
        raise UsageError(f"the folder of {what} {path} does not exist; create {parent} first")
    if not _writable(parent):
        raise UsageError(f"{what} {path} cannot be written: {parent} is read-only or not yours")
    return path


def ensure_dir(path: str | Path, what: str = "output folder") -> Path:
    """check_output_dir, then create the folder (and its parents)."""
    path = check_output_dir(path, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create {what} {path}: {err.strerror or type(err).__name__}") from None
    return path


# ---------------------------------------------------------------- reading images
# the image files eemkit reads, in a dataset folder and as predict's inputs alike (OpenCV decodes them all)
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
# a file this large is not a photo of a face; read whole, it would exhaust the memory of an edge device
MAX_IMAGE_BYTES = 1 << 30


def cv2_path(path: str | Path, what: str = "file") -> str:
    """`path` as the str OpenCV's file functions take. OpenCV encodes it as UTF-8 and crashes the
    process (SIGSEGV) on a name that is not valid UTF-8 (bytes kept as surrogates by Python): raise
    EemkitError for those instead."""
    s = str(path)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise EemkitError(f"cannot open {what} {ascii(s)}: its name is not valid UTF-8 (OpenCV cannot open it); "
                          "rename it") from None
    return s


def read_image(path: str | Path, flags: int | None = None):
    """Decode an image file (cv2.imdecode of its bytes: any file name works, whatever its encoding).

    Raises EemkitError for a missing, empty, corrupt or oversized image (OpenCV refuses headers above
    CV_IO_MAX_IMAGE_PIXELS with an exception, not None) and for anything that is not a regular file (a
    folder, a FIFO that would block forever, a device)."""
    import cv2
    import numpy as np

    path = Path(path)
    if not path.is_file():
        what = "missing" if not path.exists() else "not a regular file"
        raise EemkitError(f"cannot read image {ascii_path(path)} ({what})")
    try:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise EemkitError(f"cannot read image {ascii_path(path)} (larger than {MAX_IMAGE_BYTES >> 20} MB)")
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise EemkitError(f"cannot read image {ascii_path(path)} ({err.strerror or type(err).__name__})") from None
    if buf.size == 0:
        raise EemkitError(f"cannot read image {ascii_path(path)} (empty file)")
    try:
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR if flags is None else flags)
    except cv2.error as err:
        lines = [ln for ln in str(err).splitlines() if ln.strip()]
        reason = "larger than OpenCV's pixel limit" if "CV_IO_MAX_IMAGE_PIXELS" in str(err) else (lines[-1] if lines else "decode error")
        raise EemkitError(f"cannot read image {ascii_path(path)} ({reason})") from None
    if img is None:
        raise EemkitError(f"cannot read image {ascii_path(path)} (not an image, or corrupt)")
    return img


def check_image_size(img, path: str | Path) -> None:
    """EemkitError (an unreadable image: skipped where inputs may be skipped) for an image under 2x2 px."""
    if min(img.shape[:2]) < 2:
        raise EemkitError(f"image {ascii_path(path)} is {img.shape[1]}x{img.shape[0]} px: too small to classify "
                          "(at least 2x2)")


def ascii_path(path: str | Path) -> str:
    """A path for messages: as is when it is valid UTF-8, else with the undecodable bytes escaped."""
    s = str(path)
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_not_input(out: str | Path | None, inputs: list[str | Path], what: str) -> None:
    """Raise UsageError when output `out` is one of `inputs` (the same file by any spelling): writing it
    would destroy the input before or while it is read."""
    if out is None:
        return
    o = Path(out)
    for i in inputs:
        p = Path(i)
        try:
            same = o.exists() and p.exists() and os.path.samefile(o, p)
        except OSError:
            same = False
        if same or o.absolute() == p.absolute():
            raise UsageError(f"{what} {ascii_path(o)} is also an input: writing it would destroy the input; "
                             "choose another path")


def save_figure(fig, path: str | Path) -> Path:
    """matplotlib's fig.savefig, atomically (the format follows the suffix)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip(".") or "png")
    return atomic_write_bytes(path, buf.getvalue(), what="figure")
