"""How to train: one frozen ``TrainConfig`` with a comment per field, its closed choices as enums, its checks."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from enum import Enum, StrEnum
from typing import Any

from cnnviz.device import select_device
from cnnviz.errors import ConfigError

__all__ = [
    "Augmentation",
    "InitName",
    "OptimizerName",
    "Precision",
    "Schedule",
    "TrainConfig",
    "config_from_dict",
    "config_to_dict",
]


class OptimizerName(StrEnum):
    SGD = "sgd"
    MOMENTUM = "momentum"
    NESTEROV = "nesterov"
    ADAGRAD = "adagrad"
    RMSPROP = "rmsprop"
    ADAM = "adam"
    ADAMW = "adamw"


class InitName(StrEnum):
    DEFAULT = "default"  # PyTorch's own (Kaiming-uniform with a=√5)
    XAVIER = "xavier"  # Glorot uniform, biases zero
    HE = "he"  # Kaiming normal for ReLU, biases zero


class Precision(StrEnum):
    FP32 = "fp32"
    MIXED = "mixed"  # fp16 autocast + GradScaler on CUDA, bf16 autocast elsewhere


class Schedule(StrEnum):
    CONSTANT = "constant"  # the same learning rate throughout
    COSINE = "cosine"  # cosine decay from learning_rate to 0 over the run
    ONE_CYCLE = "one_cycle"  # warm up to learning_rate over the first 30 %, then anneal (fast to train)


@dataclass(frozen=True)
class Augmentation:
    flip: bool = False  # mirror left-right with probability 0.5
    crop: bool = False  # random shift by up to 1/8 of the side (reflection padding), like pad-and-crop
    rotation: float = 0.0  # largest rotation in degrees; angles are uniform in [-rotation, rotation]
    color_jitter: float = 0.0  # brightness, contrast and saturation factors uniform in [1 - j, 1 + j]

    @property
    def enabled(self) -> bool:
        return self.flip or self.crop or self.rotation > 0 or self.color_jitter > 0


@dataclass(frozen=True)
class TrainConfig:
    model: str = "tinyvgg"  # registry name (cnnviz.nets.available_models())
    dataset: str = "shapes"  # cnnviz.data name; ignored when the Trainer is given data=
    n_train: int = 2000  # training images drawn from the data set
    n_val: int = 500  # validation images
    batch_size: int = 64  # images per optimizer step
    epochs: int = 6  # passes over the training images
    learning_rate: float = 1e-3  # step size of the optimizer
    optimizer: OptimizerName = OptimizerName.ADAM  # update rule
    schedule: Schedule = Schedule.CONSTANT  # how the learning rate changes during the run
    momentum: float = 0.9  # Momentum and Nesterov only
    betas: tuple[float, float] = (0.9, 0.999)  # Adam and AdamW: decay of the first and second moments
    rms_alpha: float = 0.99  # RMSprop: decay of the squared-gradient average
    eps: float = 1e-8  # AdaGrad, RMSprop, Adam, AdamW: added to the denominator
    weight_decay: float = 0.0  # L2 penalty (decoupled for AdamW)
    init: InitName = InitName.DEFAULT  # weight initialisation of conv and linear layers
    batch_norm: bool = False  # BatchNorm after every convolution
    dropout: float = 0.0  # dropout rate before the classifier
    augmentation: Augmentation = Augmentation()  # random changes to training images, on the device
    patience: int = 0  # early stopping: epochs without a better validation loss; 0 = off
    precision: Precision = Precision.FP32  # fp32 or mixed precision
    transfer: bool = False  # start from the bundled weights, freeze the convolutions, retrain the head
    seed: int = 0  # seeds weights, shuffling, augmentation and dropout
    device: str = "auto"  # "auto" (CUDA, then MPS, then CPU), "cuda", "mps" or "cpu"
    sync_every: int = 10  # steps between reads of loss/accuracy back to the host (live charts)

    def __post_init__(self) -> None:
        enums = (("optimizer", OptimizerName), ("schedule", Schedule), ("init", InitName), ("precision", Precision))
        for name, enum in enums:
            value = getattr(self, name)
            if not isinstance(value, enum):
                try:
                    object.__setattr__(self, name, enum(str(value).lower()))
                except ValueError:
                    allowed = ", ".join(e.value for e in enum)
                    raise ConfigError(f"Unknown {name} {value!r}: use one of {allowed}.") from None
        if isinstance(self.augmentation, dict):
            object.__setattr__(self, "augmentation", Augmentation(**self.augmentation))
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        _validate(self)


def _validate(c: TrainConfig) -> None:
    """Raise ConfigError for a setting no run can use, saying what to change."""
    _check_int("n_train", c.n_train, 1, 1_000_000)
    _check_int("n_val", c.n_val, 1, 1_000_000)
    _check_int("batch_size", c.batch_size, 1, 4096)
    _check_int("epochs", c.epochs, 1, 1000)
    _check_int("patience", c.patience, 0, 1000)
    _check_int("sync_every", c.sync_every, 1, 100_000)
    if not (math.isfinite(c.learning_rate) and c.learning_rate > 0):
        raise ConfigError(f"learning rate {c.learning_rate} must be a positive number, e.g. 0.001.")
    _check_range("momentum", c.momentum, 0.0, 1.0, high_open=True)
    if c.optimizer is OptimizerName.NESTEROV and c.momentum <= 0:
        raise ConfigError("Nesterov momentum needs momentum > 0: set momentum to e.g. 0.9 or choose plain SGD.")
    if len(c.betas) != 2:
        raise ConfigError(f"betas must be two numbers, got {c.betas}.")
    for i, beta in enumerate(c.betas):
        _check_range(f"beta{i + 1}", beta, 0.0, 1.0, high_open=True)
    _check_range("rms_alpha", c.rms_alpha, 0.0, 1.0, high_open=True)
    if not (c.eps > 0):
        raise ConfigError(f"eps {c.eps} must be > 0, e.g. 1e-8.")
    if not (c.weight_decay >= 0 and math.isfinite(c.weight_decay)):
        raise ConfigError(f"weight decay {c.weight_decay} must be ≥ 0, e.g. 0.0005.")
    _check_range("dropout", c.dropout, 0.0, 1.0, high_open=True)
    _check_range("rotation", c.augmentation.rotation, 0.0, 180.0)
    _check_range("colour jitter", c.augmentation.color_jitter, 0.0, 1.0)
    select_device(c.device)  # raises ConfigError for an unknown or missing device


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} = {value!r} is not allowed: use a whole number from {low} to {high}.")


def _check_range(name: str, value: float, low: float, high: float, *, high_open: bool = False) -> None:
    ok = low <= value < high if high_open else low <= value <= high
    if not ok:
        bracket = ")" if high_open else "]"
        raise ConfigError(f"{name} = {value} is outside [{low}, {high}{bracket}: pick a value in that range.")


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """Return the config as plain Python values (str for enums), for checkpoints and JSON."""
    out = asdict(config)
    for key, value in out.items():
        if isinstance(value, Enum):
            out[key] = value.value
    out["betas"] = list(config.betas)
    return out


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """Build a TrainConfig from ``config_to_dict`` output; unknown keys raise ConfigError."""
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"Unknown training settings {unknown}: allowed are {sorted(known)}.")
    return TrainConfig(**values)
