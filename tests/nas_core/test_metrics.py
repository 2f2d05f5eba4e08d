"""ConfusionMatrix against hand-computed cases."""

import math

import pytest
import torch

from nas_core.metrics import ConfusionMatrix


def one_hot_logits(pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(pred, num_classes).permute(0, 3, 1, 2).float()


def test_perfect_prediction() -> None:
    target = torch.tensor([[[0, 1], [2, 2]]])
    metric = ConfusionMatrix(3)
    metric.update(target, target)
    assert metric.miou() == 1.0 and metric.pixel_accuracy() == 1.0


def test_known_case_with_an_absent_class() -> None:
    # target 0 0 1 1, prediction 0 1 1 1: IoU0 = 1/2, IoU1 = 2/3, class 2 absent.
    target, pred = torch.tensor([[[0, 0, 1, 1]]]), torch.tensor([[[0, 1, 1, 1]]])
    metric = ConfusionMatrix(3)
    metric.update(pred, target)
    iou = metric.iou_per_class()
    assert iou[:2] == pytest.approx([0.5, 2 / 3]) and math.isnan(iou[2])
    assert metric.miou() == pytest.approx(7 / 12)
    assert metric.pixel_accuracy() == pytest.approx(0.75)
    assert metric.matrix.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]


def test_ignore_index_is_excluded() -> None:
    target, pred = torch.tensor([[[0, 255, 1, 255]]]), torch.tensor([[[0, 1, 1, 0]]])
    metric = ConfusionMatrix(2)
    metric.update(pred, target)
    assert metric.miou() == 1.0 and int(metric.matrix.sum()) == 2


def test_logits_and_predictions_agree_and_accumulate() -> None:
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, 4, (2, 5, 6), generator=generator)
    pred = torch.randint(0, 4, (2, 5, 6), generator=generator)
    from_pred, from_logits = ConfusionMatrix(4), ConfusionMatrix(4)
    for _ in range(2):
        from_pred.update(pred, target)
        from_logits.update(one_hot_logits(pred, 4), target)
    assert torch.equal(from_pred.matrix, from_logits.matrix)
    assert int(from_pred.matrix.sum()) == 2 * target.numel()
    from_pred.reset()
    assert from_pred.miou() == 0.0 and from_pred.pixel_accuracy() == 0.0


@pytest.mark.parametrize(
    ("pred", "target"),
    [([[[0, 1]]], [[[0, 2]]]), ([[[0, 2]]], [[[0, 1]]]), ([[[0, 1, 1]]], [[[0, 1]]])],
)
def test_bad_input_raises(pred: list, target: list) -> None:
    with pytest.raises(ValueError):
        ConfusionMatrix(2).update(torch.tensor(pred), torch.tensor(target))
