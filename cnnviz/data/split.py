"""A train/validation split of images in memory, the form every data set and archive is loaded into."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["DataSplit"]


@dataclass(frozen=True, eq=False)
class DataSplit:
    """A train/validation split ready for training: float32 (N, C, H, W) in [0, 1], int64 labels."""

    train_x: torch.Tensor  # (N_train, C, H, W) float32 in [0, 1]
    train_y: torch.Tensor  # (N_train,) int64 class indices
    val_x: torch.Tensor  # (N_val, C, H, W) float32 in [0, 1]
    val_y: torch.Tensor  # (N_val,) int64 class indices
    class_names: tuple[str, ...]  # class index → name
    in_channels: int  # C
    image_size: int  # H == W
    name: str  # data set name ("shapes", "mnist", ...)
    mean: tuple[float, ...] = (0.5,)  # per-channel normalisation mean for this data set
    std: tuple[float, ...] = (0.5,)  # per-channel normalisation std for this data set


def _balanced_labels(n: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` labels with every class equally often (±1), in random order."""
    return rng.permutation(np.arange(n) % num_classes).astype(np.int64)


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    """Convert uint8 (N, H, W, C) to float32 (N, C, H, W) in [0, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0).contiguous()
