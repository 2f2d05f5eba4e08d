"""Segmentation metrics from an accumulated confusion matrix (rows: target, columns: prediction)."""

import math

import torch


class ConfusionMatrix:
    """Accumulates over batches; the counts live on the device of the tensors given to update."""

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = torch.zeros((num_classes, num_classes), dtype=torch.int64)

    def reset(self) -> None:
        self.matrix = torch.zeros_like(self.matrix)

    def update(self, logits_or_pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: (N, C, H, W) logits or (N, H, W) predicted ids against (N, H, W) targets."""
        pred = logits_or_pred
        if pred.dim() == target.dim() + 1:
            pred = pred.argmax(dim=1)
        if pred.shape != target.shape:
            shapes = f"{tuple(pred.shape)} vs {tuple(target.shape)}"
            raise ValueError(f"prediction and target shapes differ: {shapes}")
        pred, target = pred.detach().flatten().long(), target.detach().flatten().long()
        keep = target != self.ignore_index
        pred, target = pred[keep], target[keep]
        classes = self.num_classes
        if ((target < 0) | (target >= classes) | (pred < 0) | (pred >= classes)).any():
            raise ValueError(f"ids outside 0..{classes - 1} (other than {self.ignore_index})")
        counts = torch.bincount(target * classes + pred, minlength=classes * classes)
        self.matrix = self.matrix.to(counts.device) + counts.view(classes, classes)

    def iou_per_class(self) -> list[float]:
        """IoU of each class; nan for a class absent from both targets and predictions."""
        matrix = self.matrix.double().cpu()
        hits = matrix.diagonal()
        union = matrix.sum(dim=0) + matrix.sum(dim=1) - hits
        pairs = zip(hits.tolist(), union.tolist(), strict=True)
        return [hit / size if size > 0 else math.nan for hit, size in pairs]

    def miou(self) -> float:
        """Mean IoU over the classes present; 0.0 before any pixel was counted."""
        present = [iou for iou in self.iou_per_class() if not math.isnan(iou)]
        return sum(present) / len(present) if present else 0.0

    def pixel_accuracy(self) -> float:
        """Share of non-ignored pixels predicted right; 0.0 before any pixel was counted."""
        total = int(self.matrix.sum())
        return float(self.matrix.diagonal().sum()) / total if total else 0.0
