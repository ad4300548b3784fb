"""Where a network's parameters and compute sit, and what our course notes claim about AlexNet, checked.

``weight_split`` adds a summary's rows up by kind: convolutions, fully connected (linear) layers and
the rest (batch norm). ``alexnet_checks`` puts each claim of the notes beside the number computed
from a summary of a real network: the notes give the units (output values) of the original two-GPU
AlexNet, whose first layer has 96 filters; torchvision's ``alexnet`` is the one-GPU variant of
Krizhevsky's later paper ("One weird trick", 2014) with 64, so both are computed and compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnnviz.arch.summary import Summary

__all__ = ["NOTES_ALEXNET", "ClaimCheck", "WeightSplit", "align_units", "alexnet_checks", "layer_units", "weight_split"]

_CONV_KINDS = ("Conv1d", "Conv2d", "Conv3d", "SameConv2d")
_FC_KINDS = ("Linear",)


@dataclass(frozen=True)
class WeightSplit:
    """A summary's parameters and MACs by kind of layer."""

    conv_params: int
    fc_params: int
    other_params: int  # batch norm and other layers with parameters
    conv_macs: int
    fc_macs: int
    conv_layers: int
    fc_layers: int

    @property
    def total_params(self) -> int:
        return self.conv_params + self.fc_params + self.other_params

    @property
    def fc_share(self) -> float:
        """Fraction of all parameters in the fully connected layers (VGG-16: over 0.9)."""
        return self.fc_params / self.total_params if self.total_params else 0.0

    @property
    def conv_mac_share(self) -> float:
        """Fraction of the counted MACs spent in convolutions."""
        total = self.conv_macs + self.fc_macs
        return self.conv_macs / total if total else 0.0

    @property
    def fc_per_conv(self) -> float:
        """How many times more parameters the fully connected layers hold than the convolutions."""
        return self.fc_params / self.conv_params if self.conv_params else math.inf


def _is_conv(kind: str) -> bool:
    return kind in _CONV_KINDS or kind.endswith("Conv2d")


def weight_split(summary: Summary) -> WeightSplit:
    """Add the summary's rows up into convolutions, fully connected layers and the rest."""
    conv = [r for r in summary.rows if _is_conv(r.kind)]
    fc = [r for r in summary.rows if r.kind in _FC_KINDS]
    conv_params, fc_params = sum(r.params for r in conv), sum(r.params for r in fc)
    return WeightSplit(conv_params, fc_params, summary.total_params - conv_params - fc_params,
                       sum(r.macs for r in conv), sum(r.macs for r in fc), len(conv), len(fc))  # fmt: skip


def layer_units(summary: Summary) -> tuple[int, ...]:
    """The units (output values for one image) of every convolution and fully connected layer, in order."""
    return tuple(
        math.prod(r.output_shape)
        for r in summary.rows
        if (_is_conv(r.kind) or r.kind in _FC_KINDS) and r.output_shape is not None
    )


# What our course notes say of AlexNet, as they say it.
NOTES_ALEXNET = {
    "conv_layers": 5,
    "fc_layers": 3,
    "units": (290_400, 186_624, 64_896, 43_264, 4_096, 4_096, 1_000),
    "conv_params": 2_000_000,  # "about 2 million"
    "fc_params": 65_000_000,  # "about 65 million"
    "fc_per_conv": 30.0,  # "30 times more"
}


@dataclass(frozen=True)
class ClaimCheck:
    """One claim of the notes beside the value computed from a real network."""

    key: str  # what is claimed: a key of NOTES_ALEXNET
    claimed: object
    computed: object
    agrees: bool  # exact for counts; for "about" figures, equal once rounded to the claim's precision


def _about(claimed: float, computed: float) -> bool:
    """True when ``computed`` rounds to ``claimed`` at the precision the claim is written with.

    "about 2 million" has one significant digit: 2,334,080 rounds to 2,000,000 and agrees;
    "65 million" has two: 58,631,144 rounds to 59,000,000 and does not.
    """
    digits = len(str(int(round(claimed))).rstrip("0")) or 1
    if computed <= 0 or math.isinf(computed):
        return False
    scale = 10 ** (math.floor(math.log10(computed)) - digits + 1)
    return round(computed / scale) * scale == round(claimed)


def alexnet_checks(summary: Summary) -> list[ClaimCheck]:
    """Check each claim of :data:`NOTES_ALEXNET` against ``summary`` (of ``alexnet_original`` or ``alexnet``)."""
    split, units = weight_split(summary), layer_units(summary)
    notes = NOTES_ALEXNET
    return [
        ClaimCheck("conv_layers", notes["conv_layers"], split.conv_layers, split.conv_layers == notes["conv_layers"]),
        ClaimCheck("fc_layers", notes["fc_layers"], split.fc_layers, split.fc_layers == notes["fc_layers"]),
        ClaimCheck("units", notes["units"], units, units == notes["units"]),
        ClaimCheck("conv_params", notes["conv_params"], split.conv_params,
                   _about(notes["conv_params"], split.conv_params)),
        ClaimCheck("fc_params", notes["fc_params"], split.fc_params, _about(notes["fc_params"], split.fc_params)),
        ClaimCheck("fc_per_conv", notes["fc_per_conv"], split.fc_per_conv,
                   _about(notes["fc_per_conv"], split.fc_per_conv)),
    ]  # fmt: skip


def align_units(claimed: tuple[int, ...], computed: tuple[int, ...]) -> list[int | None]:
    """Place each claimed number under the computed layer it names, in order; None where the claim skips a layer.

    Our notes give AlexNet's units as seven numbers for eight layers: the second 64,896 (conv4) is
    left out, so ``align_units(notes, computed)`` puts None there. Claimed numbers no layer has are
    dropped from the alignment (the caller compares the lists to see them).
    """
    aligned, j = [], 0
    for value in computed:
        if j < len(claimed) and claimed[j] == value:
            aligned.append(claimed[j])
            j += 1
        else:
            aligned.append(None)
    return aligned
