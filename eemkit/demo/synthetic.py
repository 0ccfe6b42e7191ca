"""Generated test clips: real face images moved across a background (for tests and the pipeline bench,
where no camera exists)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_face_video(path: str | Path, faces: list[np.ndarray], n_frames: int = 30, size: tuple[int, int] = (640, 480),
                    face_px: int = 180, fps: float = 15.0, seed: int = 0) -> Path:
    """Write an mp4v clip of `n_frames` frames (w, h = size) in which each RGB face image, resized to
    face_px, glides across a textured background. Returns the path."""
    import cv2

    w, h = size
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.integers(60, 200, (h, w, 3), dtype=np.uint8), (0, 0), 8)
    tiles = [cv2.resize(f if f.ndim == 3 else cv2.cvtColor(f, cv2.COLOR_GRAY2RGB), (face_px, face_px)) for f in faces]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    lanes = max(1, len(tiles))
    for k in range(n_frames):
        frame = bg.copy()
        for i, t in enumerate(tiles):
            x = int((w - face_px) * (0.1 + 0.8 * ((k / max(n_frames - 1, 1) + i * 0.37) % 1.0)))
            y = int((h - face_px) * (i + 0.5) / lanes) if lanes > 1 else (h - face_px) // 2
            frame[y:y + face_px, x:x + face_px] = t
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return Path(path)
