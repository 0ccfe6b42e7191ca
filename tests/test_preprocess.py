import numpy as np
import pytest
import torch

from eemkit.data.preprocess import PreprocessSpec, prepare_image, preprocess, runtime_input, to_model_input
from eemkit.errors import UsageError


def test_eval_preprocess_shapes_and_normalisation():
    spec = PreprocessSpec.for_input(32)
    assert spec.resize_size == 36
    grey = np.full((48, 48), 255, np.uint8)
    rgb = np.zeros((100, 80, 3), np.uint8)
    x = preprocess([grey, rgb], spec)
    assert x.shape == (2, 3, 32, 32) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 0, 0], (1 - np.array(spec.mean)) / np.array(spec.std), rtol=1e-5)
    np.testing.assert_allclose(x[1, :, 0, 0], -np.array(spec.mean) / np.array(spec.std), rtol=1e-5)


def test_centre_crop_is_deterministic_and_train_crop_varies():
    spec = PreprocessSpec.for_input(32)
    imgs = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (4, 36, 36, 1), dtype=np.uint8))
    a, b = to_model_input(imgs, spec), to_model_input(imgs, spec)
    assert torch.equal(a, b)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    t1 = to_model_input(imgs, spec, train=True, generator=g1, rotate_deg=10)
    t2 = to_model_input(imgs, spec, train=True, generator=g2, rotate_deg=10)
    assert torch.equal(t1, t2) and not torch.equal(t1, a)


def test_uint8_runtime_input_is_centre_crop():
    spec = PreprocessSpec.for_input(32)
    prep = np.random.default_rng(0).integers(0, 255, (2, 36, 36, 1), dtype=np.uint8)
    u = runtime_input(prep, spec, "uint8_nhwc")
    assert u.shape == (2, 32, 32, 1) and np.array_equal(u, prep[:, 2:34, 2:34])


def test_bad_images():
    spec = PreprocessSpec.for_input(32)
    with pytest.raises(UsageError):
        prepare_image(np.zeros((8, 8), np.float32), spec)
    with pytest.raises(UsageError):
        prepare_image(np.zeros((8, 8, 2), np.uint8), spec)
    with pytest.raises(UsageError):
        to_model_input(torch.zeros(1, 20, 20, 1, dtype=torch.uint8), spec)


@pytest.mark.parametrize("color,mean,std", [("gray", None, None), ("rgb", None, None), ("gray", (0.5, 0.4, 0.3), (0.25, 0.3, 0.7))])
def test_numpy_eval_input_is_bit_identical_to_the_torch_path(color, mean, std):
    from dataclasses import replace

    from eemkit.data.preprocess import eval_input, normalize

    spec = PreprocessSpec.for_input(64, color=color)
    if mean:
        spec = replace(spec, mean=mean, std=std)
    prep = np.random.default_rng(3).integers(0, 256, (16, spec.resize_size, spec.resize_size, spec.channels), dtype=np.uint8)
    o, s = (spec.resize_size - spec.input_size) // 2, spec.input_size
    torch_path = normalize(torch.from_numpy(prep)[:, o:o + s, o:o + s, :].permute(0, 3, 1, 2).float().div_(255.0), spec)
    assert np.array_equal(eval_input(prep, spec), torch_path.numpy())
