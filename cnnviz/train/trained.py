"""What a run leaves behind: the trained network with its preprocessing, and what a model needs to know of its data."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from cnnviz.train.config import TrainConfig

__all__ = ["DataInfo", "TrainedModel"]


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know about its data, without the images (``cnnviz.nets.spec_for_data`` reads it)."""

    name: str  # data set name ("shapes", or the user's archive)
    class_names: tuple[str, ...]
    in_channels: int
    image_size: int
    mean: tuple[float, ...] = ()  # per-channel normalisation of [0, 1] images; () when not known
    std: tuple[float, ...] = ()


@dataclass(frozen=True)
class TrainedModel:
    """A trained network with what is needed to use it again (preprocessing, class names, config)."""

    model: nn.Module  # on the CPU, in eval mode
    config: TrainConfig  # says what was built (the registry model, batch norm, dropout, the new head of transfer)
    class_names: tuple[str, ...]
    in_channels: int
    image_size: int
    mean: tuple[float, ...]  # per-channel normalisation applied to [0, 1] images
    std: tuple[float, ...]
    dataset: str
    epoch: int = 0  # the epoch whose weights these are (after the last step of training when last=True)
    last: bool = True  # the weights at the end of training (False: the best epoch's, kept by ModelCheckpoint)

    @property
    def data_info(self) -> DataInfo:
        return DataInfo(self.dataset, self.class_names, self.in_channels, self.image_size, self.mean, self.std)
