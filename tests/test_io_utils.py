"""The shared file helpers: atomic writes, output-path checks, safe image decoding (issue 14)."""

import errno
import os

import pytest

from eemkit.errors import EemkitError, UsageError
from eemkit.io_utils import atomic_write_text, check_output_dir, check_output_file, read_image


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "export.json"
    p.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(EemkitError):
        atomic_write_text(p, "new")
    assert p.read_text() == "old"


def test_a_failed_atomic_write_leaves_no_temp_file(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(EemkitError):
        atomic_write_text(tmp_path / "a.txt", "new")
    assert list(tmp_path.iterdir()) == []


def test_output_file_in_a_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        check_output_file(tmp_path / "nodir" / "x.csv")


def test_output_file_that_is_a_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="is a folder"):
        check_output_file(tmp_path)


def test_output_folder_to_be_created_under_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        check_output_dir(tmp_path / "f" / "a" / "b")


def test_output_folder_to_be_created_is_fine(tmp_path):
    assert check_output_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"


def test_an_image_over_the_pixel_limit_is_an_eemkit_error(tmp_path):
    from conftest import huge_png

    with pytest.raises(EemkitError, match="pixel limit"):
        read_image(huge_png(tmp_path / "huge.png"))
