"""AlexNet as the 2012 paper describes it: the two-GPU network, with 96 filters in its first layer.

Krizhevsky, Sutskever and Hinton split the network over two GPUs: each held half of the filters
of every layer, and the GPUs exchanged feature maps only at the third convolution and at the fully
connected layers. That split is written here as grouped convolutions (``groups=2``): conv2, conv4
and conv5 see only the half of the channels on their own GPU. With a 227×227 input (the size
the paper's figures imply; the text says 224) the layers have 290,400, 186,624, 64,896, 64,896,
43,264, 4,096, 4,096 and 1,000 units. torchvision's ``alexnet`` is the later one-GPU variant of
"One weird trick" (64, 192, 384, 256, 256 filters, no grouping, no response normalisation).

Local response normalisation uses the paper's constants (k = 2, n = 5, α = 10⁻⁴, β = 0.75);
PyTorch divides α by n, so ``alpha=n·α`` is passed. Overlapping max pooling: 3×3, stride 2.
"""

from __future__ import annotations

from torch import Tensor, nn

from cnnviz.conv.sizes import conv_output_size

__all__ = ["ALEXNET_PAPER_INPUT", "AlexNetOriginal", "alexnet_original"]

ALEXNET_PAPER_INPUT = 227  # input side that gives the paper's 55×55 first feature maps: (227 - 11) / 4 + 1 = 55


def _lrn() -> nn.LocalResponseNorm:
    return nn.LocalResponseNorm(size=5, alpha=5 * 1e-4, beta=0.75, k=2.0)


class AlexNetOriginal(nn.Module):
    """The two-GPU AlexNet of the paper; ``image_size`` sets the first fully connected layer's inputs.

    Input (N, in_channels, image_size, image_size) → logits (N, num_classes).
    """

    def __init__(self, *, in_channels: int = 3, num_classes: int = 1000, image_size: int = ALEXNET_PAPER_INPUT,
                 dropout: float = 0.5) -> None:  # fmt: skip
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4),  # (96, 55, 55) for 227×227
            nn.ReLU(inplace=True),
            _lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (96, 27, 27)
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),  # (256, 27, 27): 128 per GPU
            nn.ReLU(inplace=True),
            _lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (256, 13, 13)
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # (384, 13, 13): the GPUs exchange maps
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),  # (384, 13, 13)
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),  # (256, 13, 13)
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (256, 6, 6)
        )
        side = _feature_side(image_size)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(256 * side * side, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)  # (N, 256, 6, 6) for 227×227
        return self.classifier(x.flatten(1))  # (N, num_classes)


def _feature_side(image_size: int) -> int:
    """Side of the last feature map: conv 11/4, pool 3/2, conv 5 (same), pool 3/2, three convs 3 (same), pool 3/2."""
    side = conv_output_size(image_size, 11, stride=4)
    for _ in range(3):
        side = conv_output_size(side, 3, stride=2)
    return side


def alexnet_original(*, in_channels: int, image_size: int, num_classes: int, batch_norm: bool, dropout: float):
    """Registry builder: the paper's AlexNet (it has no batch norm; its dropout is the paper's 0.5 unless set)."""
    del batch_norm
    return AlexNetOriginal(in_channels=in_channels, num_classes=num_classes, image_size=image_size,
                           dropout=dropout or 0.5)  # fmt: skip
