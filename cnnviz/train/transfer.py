"""Transfer learning over a frozen backbone: each image's features computed once, only the new head trained on them.

A frozen backbone gives the same features for an image at every epoch, so running it again each
step only costs time. When every parameter outside the head is frozen, the Trainer asks this
module for the features of every image (the input of the head: for EfficientNet-Lite0 the 1,280
pooled channels) and trains the head on those vectors. With augmentation on, ``AUGMENTED_VIEWS``
randomly changed copies of each training image are drawn once and their features cached too; each
epoch then shows every image as one of its views (the original or a copy), picked at random.

Photos for an ImageNet backbone are prepared the ImageNet way: short side resized to 256, centre
crop 224, ImageNet mean and standard deviation (``load_archive_for``; the normalisation is the
Trainer's, from the model's spec).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch import nn

from cnnviz.data.archives import ArchiveData, load_image_folders
from cnnviz.data.imagenet import IMAGENET_CROP, IMAGENET_MEAN, IMAGENET_RESIZE
from cnnviz.errors import ConfigError
from cnnviz.train.augment import augment_batch
from cnnviz.train.config import Augmentation
from cnnviz.train.history import FeatureProjection

__all__ = [
    "AUGMENTED_VIEWS",
    "CachedFeatures",
    "backbone_is_frozen",
    "cache_features",
    "head_features",
    "head_name",
    "imagenet_style",
    "load_archive_for",
    "pick_views",
    "project_features",
]

AUGMENTED_VIEWS = 4  # randomly changed copies of each training image whose features are cached (augmentation on)
FEATURE_BATCH = 32  # images per forward pass of the backbone while caching


@dataclass(frozen=True)
class CachedFeatures:
    """The backbone's output for every image, computed once."""

    train: torch.Tensor  # (V, N, D): view 0 is each training image as it is, views 1.. its augmented copies
    val: torch.Tensor  # (N_val, D)
    projection: FeatureProjection  # the features in 2-D, for the page


def head_name(model: nn.Module) -> str:
    """Return the qualified name of the model's last Linear layer (the head); ConfigError when it has none."""
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ConfigError.from_key("errors.train_no_head")
    return linears[-1]


def backbone_is_frozen(model: nn.Module, head: str) -> bool:
    """True when every parameter outside ``head`` is frozen (the features of an image never change)."""
    prefix = head + "."
    return all(not p.requires_grad for name, p in model.named_parameters() if not name.startswith(prefix))


@torch.no_grad()
def head_features(model: nn.Module, head: str, x: torch.Tensor, *, batch: int = FEATURE_BATCH) -> torch.Tensor:
    """Return what the head reads for normalised images ``x`` (N, C, H, W): (N, D), computed in eval mode.

    A copy of the model runs with its head swapped for an identity, so its output is the head's
    input; the model itself is not touched.
    """
    return _run(_backbone(model, head), x, batch)


def _backbone(model: nn.Module, head: str) -> nn.Module:
    """A copy of ``model`` in eval mode whose head is an identity (the model itself is not touched)."""
    backbone = copy.deepcopy(model).eval()
    parent_name, _, attr = head.rpartition(".")
    setattr(backbone.get_submodule(parent_name) if parent_name else backbone, attr, nn.Identity())
    return backbone


@torch.no_grad()
def _run(backbone: nn.Module, x: torch.Tensor, batch: int = FEATURE_BATCH) -> torch.Tensor:
    """Return the backbone's output (N, D) for images (N, C, H, W), a batch at a time."""
    return torch.cat([backbone(x[i : i + batch]).flatten(1) for i in range(0, x.shape[0], batch)])  # (N, D)


def cache_features(model: nn.Module, head: str, data: Any, *, mean: tuple[float, ...], std: tuple[float, ...],
                   augmentation: Augmentation, generator: torch.Generator,
                   device: torch.device) -> CachedFeatures:  # fmt: skip
    """Compute the features of every training image (and of its augmented views) and every validation image.

    ``data`` has ``train_x``/``val_x`` (N, C, H, W) in [0, 1] and ``train_y``/``val_y``; the images
    are normalised with ``mean``/``std`` here. Augmented views are drawn from ``generator``.
    """
    m = torch.tensor(mean, device=device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=device).view(1, -1, 1, 1)
    train = data.train_x.to(device)  # (N, C, H, W) in [0, 1]
    extra = AUGMENTED_VIEWS if augmentation.enabled else 0
    views = [train] + [augment_batch(train, augmentation, generator) for _ in range(extra)]
    backbone = _backbone(model, head)
    train_f = torch.stack([_run(backbone, (v - m) / s) for v in views])  # (V, N, D)
    val_f = _run(backbone, (data.val_x.to(device) - m) / s)  # (N_val, D)
    projection = project_features(train_f[0].cpu(), data.train_y, val_f.cpu(), data.val_y, model, head)
    return CachedFeatures(train_f, val_f, projection)


def pick_views(views: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Return one view of each image, (N, D), picked at random from ``views`` (V, N, D)."""
    if views.shape[0] == 1:
        return views[0]
    choice = torch.randint(views.shape[0], (views.shape[1],), generator=generator).to(views.device)
    return views[choice, torch.arange(views.shape[1], device=views.device)]


def project_features(train: torch.Tensor, train_y: torch.Tensor, val: torch.Tensor, val_y: torch.Tensor,
                     model: nn.Module, head: str) -> FeatureProjection:  # fmt: skip
    """Project the features (N, D) onto their first two principal components (centred on the training images)."""
    centre = train.mean(0, keepdim=True)  # (1, D)
    _, s, vh = torch.linalg.svd(train - centre, full_matrices=False)
    axes = vh[:2].T  # (D, 2), or fewer columns for a single training image
    points = torch.cat([train, val]) @ axes - centre @ axes  # (N + N_val, 2)
    if points.shape[1] < 2:
        points = torch.cat([points, torch.zeros(points.shape[0], 2 - points.shape[1])], dim=1)
    variance = s.square()
    share = (variance[:2] / variance.sum().clamp_min(1e-12)).tolist() + [0.0, 0.0]
    head_params = sum(p.numel() for p in model.get_submodule(head).parameters())
    return FeatureProjection(
        points=points.numpy().astype(np.float32),
        labels=torch.cat([train_y, val_y]).numpy().astype(np.int64),
        is_val=np.r_[np.zeros(len(train_y), bool), np.ones(len(val_y), bool)],
        dims=int(train.shape[1]),
        explained=(float(share[0]), float(share[1])),
        frozen_params=sum(p.numel() for p in model.parameters()) - head_params,
        head_params=head_params,
    )


def imagenet_style(spec: Any) -> bool:
    """True for a model that reads ImageNet photos (224×224 RGB, ImageNet mean): prepared with resize 256, crop 224."""
    return (int(spec.in_channels), int(spec.image_size)) == (3, IMAGENET_CROP) and tuple(
        round(float(v), 3) for v in spec.mean) == IMAGENET_MEAN  # fmt: skip


def load_archive_for(source: bytes | str | Path | BinaryIO, spec: Any, *, name: str = "my images") -> ArchiveData:
    """Read a zip of class folders sized for a model's ``spec`` (anything with in_channels, image_size, mean).

    An ImageNet model's photos are resized (short side 256) and centre-cropped to 224, as its
    weights were trained; others are centre-cropped to a square and resized to the spec's size.
    Raises DataError for an unusable archive (see ``cnnviz.data.load_image_folders``).
    """
    mode = "RGB" if int(spec.in_channels) == 3 else "L"
    if not imagenet_style(spec):
        return load_image_folders(source, image_size=int(spec.image_size), mode=mode, name=name)
    data = load_image_folders(source, image_size=IMAGENET_RESIZE, mode=mode, name=name)
    return _centre_crop(data, IMAGENET_CROP)


def _centre_crop(data: ArchiveData, size: int) -> ArchiveData:
    """Cut the centre ``size``² of every image of the split (the mean/std of the split are recomputed)."""
    split = data.split
    side = split.train_x.shape[-1]
    top = (side - size) // 2

    def crop(x: torch.Tensor) -> torch.Tensor:
        return x[..., top : top + size, top : top + size].contiguous()  # (N, C, size, size)

    train_x = crop(split.train_x)
    values = {"train_x": train_x, "val_x": crop(split.val_x), "image_size": size,
              "mean": tuple(train_x.mean(dim=(0, 2, 3)).tolist()),
              "std": tuple(train_x.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist())}  # fmt: skip
    return replace(data, split=replace(split, **values))
