"""What a run learns: how the network's output is scored against its targets, and what validation reports.

The Trainer is the same loop for every task; a ``Task`` supplies the parts that differ. Classifying
whole images is the default (cross-entropy, accuracy, a confusion matrix and the most confident
mistakes). A detector (``cnnviz.detect``) or a segmenter (``cnnviz.segment``) brings its own task:
per-anchor losses and mean average precision, or per-pixel cross-entropy and mean IoU.

A network's output is one tensor per batch (the Trainer concatenates validation batches along the
first dimension), and targets are one tensor indexed by image (class indices, masks, padded boxes).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from cnnviz.errors import ConfigError
from cnnviz.train.history import History

__all__ = ["ClassificationTask", "Task"]

MAX_MISCLASSIFIED = 64  # misclassified validation images kept for the page, most confident first


class Task:
    """The parts of training that depend on what is learnt; subclass and override them all.

    ``metric`` names the validation metric stored as ``EpochStats.val_accuracy`` (catalog
    ``train.metric.<metric>``); it is in [0, 1] and larger is better for every task.
    """

    name = "task"
    metric = "accuracy"
    augmentable = False  # True when the image augmentations keep the targets right (not for boxes or masks)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean loss of a batch, a scalar that backward() is called on."""
        raise NotImplementedError

    def batch_score(self, output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(numerator on the device, denominator) of the training score of a batch (e.g. correct, images)."""
        raise NotImplementedError

    def check_output(self, output: torch.Tensor, data: Any, model_name: str) -> None:
        """Raise ConfigError when the output of two images does not fit the task and the data."""

    def evaluate(self, output: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
        """(mean loss, metric) over all validation images; ``output`` is float32 for all of them."""
        raise NotImplementedError

    def report(self, output: torch.Tensor, target: torch.Tensor, history: History) -> None:
        """Fill what the page shows at the end of a run (``history.confusion``, ``history.results``)."""


class ClassificationTask(Task):
    """One class per image: cross-entropy on logits (B, K), accuracy, a confusion matrix, the worst mistakes."""

    name = "classification"
    metric = "accuracy"
    augmentable = True

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output.float(), target)

    def batch_score(self, output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
        return (output.detach().argmax(1) == target).sum(), int(target.shape[0])

    def check_output(self, output: torch.Tensor, data: Any, model_name: str) -> None:
        k = len(data.class_names)
        if output.shape != (output.shape[0], k) or output.ndim != 2:
            raise ConfigError.from_key("errors.train_wrong_outputs", model=model_name, outputs=output.shape[-1],
                                       classes=k)  # fmt: skip

    def evaluate(self, output: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
        n = target.shape[0]
        loss = F.cross_entropy(output, target, reduction="sum").item() / n
        return loss, (output.argmax(1) == target).sum().item() / n

    def report(self, output: torch.Tensor, target: torch.Tensor, history: History) -> None:
        pred = output.argmax(1)
        k = len(history.class_names)
        confusion = torch.bincount(target * k + pred, minlength=k * k).view(k, k)
        wrong = (pred != target).nonzero().flatten()
        confidence = output.softmax(1).max(1).values[wrong]
        order = wrong[confidence.argsort(descending=True)][:MAX_MISCLASSIFIED]
        history.confusion = confusion.cpu().numpy()
        history.misclassified = tuple(order.cpu().tolist())
        history.misclassified_pred = tuple(pred[order].cpu().tolist())
