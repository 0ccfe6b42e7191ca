"""Where the Haar cascades are found (pip wheels, JetPack's and Debian's system paths, $EEMKIT_HAAR_DIR)
and what a user is told when they are nowhere. No torch."""

import shutil
import types

import pytest

from eemkit.runtime.faces import FACE_CASCADE, HaarDetector, find_cascade_dir
from eemkit.errors import EemkitError

pytestmark = pytest.mark.runtime


def _system_cv2():
    """A stand-in for JetPack's apt cv2: CascadeClassifier, but no cv2.data inside the module."""
    import cv2

    return types.SimpleNamespace(__version__="4.8.0", CascadeClassifier=cv2.CascadeClassifier)


def test_the_pip_wheel_cascades_are_found():
    import cv2

    assert (find_cascade_dir(cv2) / FACE_CASCADE).is_file()


def test_a_cv2_without_data_uses_the_folder_in_eemkit_haar_dir(tmp_path, monkeypatch):
    import cv2

    shutil.copy(cv2.data.haarcascades + FACE_CASCADE, tmp_path / FACE_CASCADE)
    monkeypatch.setenv("EEMKIT_HAAR_DIR", str(tmp_path))
    assert find_cascade_dir(_system_cv2()) == tmp_path


def test_a_system_path_is_searched(monkeypatch, tmp_path):
    import eemkit.runtime.faces as det

    (tmp_path / FACE_CASCADE).write_text("<opencv_storage/>")
    monkeypatch.delenv("EEMKIT_HAAR_DIR", raising=False)
    monkeypatch.setattr(det, "SYSTEM_CASCADE_DIRS", ("/nonexistent/opencv4/haarcascades", str(tmp_path)))
    assert find_cascade_dir(_system_cv2()) == tmp_path


def test_no_cascade_anywhere_never_advises_replacing_the_system_opencv(monkeypatch, tmp_path):
    import eemkit.runtime.faces as det

    monkeypatch.delenv("EEMKIT_HAAR_DIR", raising=False)
    monkeypatch.setattr(det, "SYSTEM_CASCADE_DIRS", (str(tmp_path / "none"),))
    with pytest.raises(EemkitError) as err:
        find_cascade_dir(_system_cv2())
    assert "EEMKIT_HAAR_DIR" in str(err.value) and "pip install" not in str(err.value)


def test_the_detector_loads_from_a_system_folder(tmp_path, monkeypatch):
    import sys

    import cv2

    shutil.copy(cv2.data.haarcascades + FACE_CASCADE, tmp_path / FACE_CASCADE)
    monkeypatch.setenv("EEMKIT_HAAR_DIR", str(tmp_path))
    fake = types.ModuleType("cv2")
    fake.__dict__.update({k: getattr(cv2, k) for k in dir(cv2) if k != "data"})
    monkeypatch.setitem(sys.modules, "cv2", fake)
    assert HaarDetector(align=False).face.empty() is False
