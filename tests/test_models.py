import pytest
import torch

from eemkit.errors import UsageError
from eemkit.labels import LabelSpace
from eemkit.models import BACKBONES, STUDENT_BACKBONES, ModelSpec, create_backbone, create_model

LABELS = LabelSpace.for_dataset("ferplus")


@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_student_forward_shapes(backbone):
    net = create_model(ModelSpec.for_labels(LABELS, backbone=backbone)).eval()
    out = net(torch.randn(2, 3, 48, 48))
    assert out["fine_logits"].shape == (2, 8)
    assert out["coarse_logits"].shape == (2, 4)
    assert out["features"].shape == (2, 256)
    assert net.backbone2 is None


@pytest.mark.parametrize("backbone", ["resnet18", "mobilenet_v3_small"])
def test_teacher_has_two_backbones_and_small_stem(backbone):
    net = create_model(ModelSpec.for_labels(LABELS, kind="teacher", backbone=backbone, small_stem=True)).eval()
    assert net.backbone2 is not None and net.backbone2 is not net.backbone
    out = net(torch.randn(2, 3, 32, 32))
    assert out["fine_logits"].shape == (2, 8)


def test_fine_logits_are_mean_of_streams_and_no_coarse_variant():
    net = create_model(ModelSpec.for_labels(LABELS)).eval()
    out = net(torch.randn(2, 3, 32, 32))
    assert torch.allclose(out["fine_logits"], (out["z_f"] + out["z_c"]) / 2)
    flat = create_model(ModelSpec.for_labels(LABELS, use_coarse=False)).eval()
    o = flat(torch.randn(2, 3, 32, 32))
    # coarse logits are the log of the summed fine probabilities of each group
    want = torch.zeros(2, 4).index_add_(1, torch.tensor(LABELS.coarse_index), o["fine_logits"].softmax(1)).log()
    assert torch.allclose(o["coarse_logits"], want, atol=1e-5)


def test_unknown_backbone_lists_valid_names():
    with pytest.raises(UsageError, match="resnet18"):
        create_backbone("vgg16")


def test_pretrained_without_cache_fails_clearly(tmp_path, monkeypatch):
    from eemkit.errors import EemkitError

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(EemkitError, match="never downloads"):
        create_backbone("resnet18", pretrained=True)


def test_student_backbones_registered():
    assert set(STUDENT_BACKBONES) <= set(BACKBONES)
