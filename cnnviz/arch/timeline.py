"""The ImageNet (ILSVRC) classification winners: published top-5 error, depth and parameters, each with its source.

The figures are the ones the papers and the challenge's own summary publish; nothing here is
measured. Where torchvision has the architecture, :func:`computed_parameters` counts the same
network's parameters (``sum(p.numel())`` of a model built on the meta device) so that the page can
show both, and say why they differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchvision

__all__ = ["SOURCES", "WINNERS", "Milestone", "computed_parameters"]

SOURCES: dict[str, str] = {
    "russakovsky2015": "O. Russakovsky et al., “ImageNet Large Scale Visual Recognition Challenge”, IJCV 115, 2015.",
    "krizhevsky2012": "A. Krizhevsky, I. Sutskever, G. E. Hinton, “ImageNet Classification with Deep Convolutional "
    "Neural Networks”, NeurIPS 2012.",
    "zeiler2014": "M. D. Zeiler, R. Fergus, “Visualizing and Understanding Convolutional Networks”, ECCV 2014.",
    "simonyan2015": "K. Simonyan, A. Zisserman, “Very Deep Convolutional Networks for Large-Scale Image "
    "Recognition”, ICLR 2015.",
    "szegedy2015": "C. Szegedy et al., “Going Deeper with Convolutions”, CVPR 2015.",
    "he2016": "K. He, X. Zhang, S. Ren, J. Sun, “Deep Residual Learning for Image Recognition”, CVPR 2016.",
}


@dataclass(frozen=True)
class Milestone:
    """One ILSVRC classification result as published."""

    year: int
    key: str  # catalog key suffix and identifier ("alexnet")
    name: str  # the entry's name, a proper name in every language ("AlexNet (SuperVision)")
    top5_error: float  # percent, on the challenge's test set, as published
    depth: int | None  # layers with weights, as the paper counts them; None for methods without layers
    params: float | None  # millions, as the paper states it; None where the paper gives no figure
    sources: tuple[str, ...]  # keys of SOURCES: the error's source first, then the architecture's
    torchvision: str | None = None  # the torchvision model of the same architecture, for computed counts
    rank: int = 1  # place in the classification task (VGG was second in 2014)


WINNERS: tuple[Milestone, ...] = (
    Milestone(2010, "nec", "NEC-UIUC", 28.2, None, None, ("russakovsky2015",)),
    Milestone(2011, "xrce", "XRCE", 25.8, None, None, ("russakovsky2015",)),
    Milestone(2012, "alexnet", "AlexNet (SuperVision)", 15.3, 8, 60.0, ("krizhevsky2012",), "alexnet"),
    Milestone(2013, "zfnet", "Clarifai (ZFNet)", 11.7, 8, None, ("russakovsky2015", "zeiler2014")),
    Milestone(2014, "vgg", "VGG-16 / VGG-19", 7.3, 19, 144.0, ("simonyan2015",), "vgg19", rank=2),
    Milestone(2014, "googlenet", "GoogLeNet", 6.67, 22, 6.8, ("szegedy2015",), "googlenet"),
    Milestone(2015, "resnet", "ResNet-152", 3.57, 152, None, ("he2016",), "resnet152"),
)  # fmt: skip


def computed_parameters(milestone: Milestone) -> int | None:
    """Count ``sum(p.numel())`` of torchvision's model of the milestone's architecture (None when it has none).

    Built on the meta device: no weight is allocated. GoogLeNet is counted without its auxiliary
    heads, as torchvision publishes it.
    """
    if milestone.torchvision is None:
        return None
    options = {"aux_logits": False, "init_weights": False} if milestone.torchvision == "googlenet" else {}
    with torch.device("meta"):
        model = torchvision.models.get_model(milestone.torchvision, weights=None, **options)
    return sum(p.numel() for p in model.parameters())
