import math

import pytest
import torch

from eemkit.labels import LabelSpace
from eemkit.losses import (AdaRegLoss, CenterLoss, EEMObjective, FocalLoss, LDAMLoss, LossConfig, cross_entropy,
                           feature_mse, kl_teacher_student)
from eemkit.models import ModelSpec, create_model


def _adareg(adaptive=True, order=(0, 1, 2)):
    loss = AdaRegLoss(3, 2, order=order, expansion=10.0, center_lr=0.5, adaptive=adaptive, eps=0.0)
    loss.centers.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    return loss


def test_adareg_hand_computed():
    f = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    y = torch.tensor([0, 0])
    # class 0 fills the batch: alpha_0 = 1 - 2/2 = 0, so only the pair (1, 2) counts: ||e1 - e2|| = sqrt 2
    assert _adareg()(f, y).item() == pytest.approx(1 / (10 * math.sqrt(2)), rel=1e-6)
    # Reg: moved c0 = e0 - 0.5 (e0 - mean0) = (0.5, 0); all pairs, no alpha
    expect = 1 / (10 * (0.5 + math.sqrt(0.25 + 1) + math.sqrt(2)))
    assert _adareg(adaptive=False)(f, y).item() == pytest.approx(expect, rel=1e-6)


def test_alpha_is_one_minus_share():
    loss = _adareg()
    counts = torch.tensor([3.0, 1.0, 0.0])
    assert torch.allclose(loss.alpha(counts, torch.tensor(4.0)), torch.tensor([0.25, 0.75, 1.0]))


def test_neutral_last_ordering_gives_neutral_no_weight():
    labels = LabelSpace(("neutral", "happiness"))
    assert labels.neutral_last_order == (1, 0)
    loss = AdaRegLoss(2, 2, order=labels.neutral_last_order, eps=0.0)
    loss.centers.copy_(torch.tensor([[0.0, 0.0], [3.0, 4.0]]))
    f = torch.tensor([[0.0, 0.0]] * 3 + [[3.0, 4.0]])  # features at their centres: centres do not move
    y = torch.tensor([0, 0, 0, 1])
    # the only pair is weighted by alpha_happiness = 1 - 1/4, never by alpha_neutral = 1 - 3/4
    assert loss(f, y).item() == pytest.approx(1 / (10 * 0.75 * 5.0), rel=1e-6)


def test_center_update_is_explicit_and_no_grad():
    loss = _adareg(adaptive=False)
    f = torch.tensor([[2.0, 0.0], [0.0, 0.0]], requires_grad=True)
    y = torch.tensor([0, 0])
    before = loss.centers.clone()
    loss(f, y).backward()
    assert torch.equal(loss.centers, before) and f.grad is not None and f.grad.abs().sum() > 0
    loss.update_centers(f, y)
    assert torch.allclose(loss.centers[0], torch.tensor([0.5, 0.0])) and torch.equal(loss.centers[1:], before[1:])


def test_adareg_gradient_reaches_backbone():
    labels = LabelSpace.for_dataset("ferplus")
    net = create_model(ModelSpec.for_labels(labels, backbone="resnet18"))
    reg = AdaRegLoss(8, 256, labels.neutral_last_order)
    out = net(torch.randn(8, 3, 32, 32))
    reg(out["features"], torch.arange(8)).backward()
    g = net.backbone.conv1.weight.grad
    assert g is not None and g.abs().sum() > 0


@pytest.mark.parametrize("name", ["ce", "focal", "ldam", "center", "distill"])
def test_loss_shapes_and_gradients(name):
    logits = torch.randn(6, 8, requires_grad=True)
    feats = torch.randn(6, 16, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    if name == "ce":
        loss = cross_entropy(logits, y) + cross_entropy(logits, torch.softmax(torch.randn(6, 8), 1))
    elif name == "focal":
        loss = FocalLoss(2.0)(logits, y)
        assert FocalLoss(0.0)(logits, y).item() == pytest.approx(cross_entropy(logits, y).item(), rel=1e-5)
    elif name == "ldam":
        loss = LDAMLoss([100, 50, 20, 10, 5, 5, 2, 1])(logits, y)
    elif name == "center":
        loss = CenterLoss(8, 16)(feats, y)
    else:
        loss = feature_mse(feats, torch.randn(6, 16)) + kl_teacher_student(logits, torch.randn(6, 8), 2.0)
        assert kl_teacher_student(logits, logits.detach()).item() == pytest.approx(0.0, abs=1e-6)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert (logits.grad is not None and logits.grad.abs().sum() > 0) or (feats.grad is not None and feats.grad.abs().sum() > 0)


def test_teacher_gets_no_gradient_during_distillation():
    labels = LabelSpace.for_dataset("ferplus")
    teacher = create_model(ModelSpec.for_labels(labels, kind="teacher", backbone="resnet18")).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student = create_model(ModelSpec.for_labels(labels, backbone="mobilenet_v3_small"))
    obj = EEMObjective(LossConfig(loss="ce", distill=True), "student", labels, [1] * 8)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        t_out = teacher(x)
    parts = obj(student(x), y, t_out)
    parts["loss"].backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert any(p.grad is not None for p in student.parameters())
    for k in ("distill_feat", "distill_coarse", "distill_fine", "cls_fine", "ce_coarse"):
        assert k in parts


def test_ktn_objective_weights():
    labels = LabelSpace.for_dataset("ferplus")
    cfg = LossConfig(loss="adareg")
    obj = EEMObjective(cfg, "teacher", labels, [1] * 8)
    out = {"fine_logits": torch.randn(4, 8), "coarse_logits": torch.randn(4, 4), "features": torch.randn(4, 256)}
    y = torch.tensor([0, 1, 2, 3])
    p = obj(out, y)
    expect = cfg.lambda_f * p["cls_fine"] + cfg.lambda_a * p["reg"] + cfg.lambda_c * p["ce_coarse"]
    assert p["loss"].item() == pytest.approx(expect.item(), rel=1e-6)
    assert 0 < p["reg"].item() < 1e-2  # METHOD.md's scale check: about 5e-4 for unit-scale features
