"""ImageNet-1k as the pretrained networks saw it: the 1,000 class names and the preparation of a photo.

The class names are torchvision's (``torchvision.models`` weights metadata, index order of the
ILSVRC-2012 labels), so no file is downloaded. Photos are prepared as torchvision's ImageNet
weights document: resize the short side to 256, centre-crop 224, then normalise each channel with
the ImageNet mean and standard deviation below.
"""

from __future__ import annotations

from torchvision.models._meta import _IMAGENET_CATEGORIES

__all__ = ["IMAGENET_CLASSES", "IMAGENET_CROP", "IMAGENET_MEAN", "IMAGENET_RESIZE", "IMAGENET_STD"]

IMAGENET_CLASSES: tuple[str, ...] = tuple(_IMAGENET_CATEGORIES)  # index → English name, 1,000 of them
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # per RGB channel, of the training photos scaled to [0, 1]
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_RESIZE = 256  # short side after resizing
IMAGENET_CROP = 224  # side of the centre crop the network sees
