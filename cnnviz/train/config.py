"""How to train: one frozen ``TrainConfig`` with a comment per field, its closed choices as enums, its checks.

A form edits a config as flat values (``flatten_config`` / ``config_from_flat``): the fields of
``TrainConfig`` by name, and those of its ``Augmentation`` as ``augmentation_<field>``. What a setting
means for one run is said here too: the number types of a precision on a device (``precision_plan``) and
how many images train and validate (``split_sizes``, checked against the data by ``check_split``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from enum import Enum, StrEnum
from typing import Any

import torch

from cnnviz.data.registry import IMAGE_SIZES, load_dataset
from cnnviz.data.split import DataSplit
from cnnviz.device import select_device
from cnnviz.errors import ConfigError, Phrase
from cnnviz.train.callbacks import Monitor

__all__ = [
    "BUILT_MODEL",
    "Augmentation",
    "InitName",
    "OptimizerName",
    "Precision",
    "PrecisionPlan",
    "Schedule",
    "TrainConfig",
    "check_split",
    "config_from_dict",
    "config_from_flat",
    "config_to_dict",
    "flatten_config",
    "fold_sizes",
    "fraction_split",
    "load_config_data",
    "precision_plan",
    "setting_names",
    "split_sizes",
]


BUILT_MODEL = "builder"  # TrainConfig.model of a network drawn in the network builder (its rows in `architecture`)


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
    ONE_CYCLE = "one_cycle"  # warm up to learning_rate over the first `warmup` of the steps, then anneal
    STEP = "step"  # multiply the learning rate by `step_gamma` every `step_every` epochs


@dataclass(frozen=True)
class Augmentation:
    flip: bool = False  # mirror left-right with probability 0.5
    crop: bool = False  # random crop after reflection padding by 1/8 of the side (a shift of up to 1/8)
    rotation: float = 0.0  # largest rotation in degrees; angles are uniform in [-rotation, rotation]
    color_jitter: float = 0.0  # brightness, contrast and saturation factors uniform in [1 - j, 1 + j]
    noise: float = 0.0  # std of Gaussian noise added to every pixel of a training image on the [0, 1] scale

    @property
    def enabled(self) -> bool:
        return self.flip or self.crop or self.rotation > 0 or self.color_jitter > 0 or self.noise > 0


@dataclass(frozen=True)
class TrainConfig:
    model: str = "tinyvgg"  # registry name (cnnviz.nets.available_models())
    dataset: str = "shapes"  # cnnviz.data name; ignored when the Trainer is given data=
    n_train: int = 2000  # training images drawn from the data set
    n_val: int = 500  # validation images
    image_size: int = 0  # side images load at (shapes drawn at it, others resized); 0: the set's own; not with data=
    batch_size: int = 64  # images per optimizer step
    epochs: int = 6  # passes over the training images
    learning_rate: float = 1e-3  # step size of the optimizer (the peak for one-cycle)
    optimizer: OptimizerName = OptimizerName.ADAM  # update rule
    schedule: Schedule = Schedule.CONSTANT  # how the learning rate changes during the run
    warmup: float = 0.3  # one-cycle only: fraction of the steps spent raising the learning rate
    step_every: int = 2  # step schedule only: epochs between two drops of the learning rate
    step_gamma: float = 0.1  # step schedule only: factor applied at each drop
    momentum: float = 0.9  # Momentum and Nesterov only
    betas: tuple[float, float] = (0.9, 0.999)  # Adam and AdamW: decay of the first and second moments
    rms_alpha: float = 0.99  # RMSprop: decay of the squared-gradient average
    eps: float = 1e-8  # AdaGrad, RMSprop, Adam, AdamW: added to the denominator
    weight_decay: float = 0.0  # L2 penalty (decoupled for AdamW)
    init: InitName = InitName.DEFAULT  # initialisation of conv and linear layers (in transfer: of the new head only)
    batch_norm: bool = False  # BatchNorm after every convolution (not with transfer: the bundled nets have none)
    dropout: float = 0.0  # dropout rate before the classifier
    augmentation: Augmentation = Augmentation()  # random changes to training images, on the device
    patience: int = 0  # early stopping: epochs without a better monitored value; 0 = off
    monitor: Monitor = Monitor.VAL_LOSS  # what early stopping and the best-epoch checkpoint watch
    val_fraction: float = 0.0  # > 0: this share of the n_train + n_val images validates (replaces n_val's split)
    val_noise: float = 0.0  # std of Gaussian noise on the validation images ([0, 1] scale, fixed per seed)
    folds: int = 0  # k-fold cross-validation: 0 or 1 = off, k >= 2 trains k models, each validated on one fold
    precision: Precision = Precision.FP32  # fp32 or mixed precision
    transfer: bool = False  # start from the bundled weights, freeze the convolutions, retrain the head
    seed: int = 0  # seeds weights, shuffling, augmentation and dropout
    device: str = "auto"  # "auto" (CUDA, then MPS, then CPU), "cuda", "mps" or "cpu"
    sync_every: int = 10  # steps between reads of loss/accuracy back to the host (live charts)
    architecture: tuple[dict, ...] = ()  # model="builder" only: the network builder's rows (cnnviz.arch.build_network)

    def __post_init__(self) -> None:
        enums = (("optimizer", OptimizerName), ("schedule", Schedule), ("init", InitName), ("precision", Precision),
                 ("monitor", Monitor))  # fmt: skip
        for name, enum in enums:
            value = getattr(self, name)
            if not isinstance(value, enum):
                try:
                    object.__setattr__(self, name, enum(str(value).lower()))
                except ValueError:
                    raise ConfigError.from_key(
                        "errors.train_unknown_choice", setting=_setting(name), value=str(value),
                        allowed=", ".join(e.value for e in enum),
                    ) from None  # fmt: skip
        if isinstance(self.augmentation, dict):
            object.__setattr__(self, "augmentation", Augmentation(**self.augmentation))
        if not isinstance(self.architecture, tuple):
            object.__setattr__(self, "architecture", tuple(dict(row) for row in self.architecture))
        if isinstance(self.betas, list | tuple):
            object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        _validate(self)


def setting_names() -> list[str]:
    """Every setting a message can name: the fields of TrainConfig and its Augmentation (catalog errors.setting.*)."""
    return [f.name for f in fields(TrainConfig)] + [f"augmentation_{f.name}" for f in fields(Augmentation)]


def _setting(name: str) -> Phrase:
    return Phrase(f"errors.setting.{name}")


def _validate(c: TrainConfig) -> None:
    """Raise ConfigError for a setting no run can use, saying what to change."""
    for name, low, high in (("n_train", 1, 1_000_000), ("n_val", 1, 1_000_000), ("batch_size", 1, 4096),
                            ("epochs", 1, 1000), ("patience", 0, 1000), ("sync_every", 1, 100_000),
                            ("step_every", 1, 1000), ("folds", 0, 20)):  # fmt: skip
        _check_int(name, getattr(c, name), low, high)
    if c.image_size != 0:
        _check_int("image_size", c.image_size, IMAGE_SIZES[0], IMAGE_SIZES[1])
    if not (isinstance(c.learning_rate, int | float) and math.isfinite(c.learning_rate) and c.learning_rate > 0):
        raise ConfigError.from_key("errors.train_learning_rate", value=c.learning_rate)
    if not 0 < c.warmup < 1:
        raise ConfigError.from_key("errors.train_warmup", value=c.warmup)
    _check_range("momentum", c.momentum, 0.0, 1.0, high_open=True)
    if c.optimizer is OptimizerName.NESTEROV and c.momentum <= 0:
        raise ConfigError.from_key("errors.train_nesterov_momentum")
    if len(c.betas) != 2:
        raise ConfigError.from_key("errors.train_betas", count=len(c.betas))
    for beta in c.betas:
        _check_range("betas", beta, 0.0, 1.0, high_open=True)
    _check_range("rms_alpha", c.rms_alpha, 0.0, 1.0, high_open=True)
    if not c.eps > 0:
        raise ConfigError.from_key("errors.train_eps", value=c.eps)
    if not (c.weight_decay >= 0 and math.isfinite(c.weight_decay)):
        raise ConfigError.from_key("errors.train_weight_decay", value=c.weight_decay)
    _check_range("dropout", c.dropout, 0.0, 1.0, high_open=True)
    _check_range("augmentation_rotation", c.augmentation.rotation, 0.0, 180.0)
    _check_range("augmentation_color_jitter", c.augmentation.color_jitter, 0.0, 1.0)
    _check_range("augmentation_noise", c.augmentation.noise, 0.0, 1.0)
    _check_range("val_noise", c.val_noise, 0.0, 1.0)
    _check_range("val_fraction", c.val_fraction, 0.0, 0.9)
    _check_range("step_gamma", c.step_gamma, 0.0, 1.0)
    if c.folds >= 2 and c.val_fraction > 0:
        raise ConfigError.from_key("errors.train_folds_with_fraction", k=c.folds, fraction=c.val_fraction)
    if c.transfer and c.batch_norm:
        raise ConfigError.from_key("errors.train_transfer_batch_norm", model=c.model)
    if c.model == BUILT_MODEL and c.transfer:
        raise ConfigError.from_key("errors.train_builder_transfer")
    if c.model == BUILT_MODEL and not c.architecture:
        raise ConfigError.from_key("errors.train_builder_empty")
    select_device(c.device)  # raises ConfigError for an unknown or missing device


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError.from_key("errors.train_whole_number", setting=_setting(name), value=value, low=low, high=high)


def _check_range(name: str, value: float, low: float, high: float, *, high_open: bool = False) -> None:
    ok = low <= value < high if high_open else low <= value <= high
    if not ok:
        key = "errors.train_range_open" if high_open else "errors.train_range"
        raise ConfigError.from_key(key, setting=_setting(name), value=value, low=low, high=high)


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """Return the config as plain Python values (str for enums), for checkpoints and JSON."""
    out = asdict(config)
    for key, value in out.items():
        if isinstance(value, Enum):
            out[key] = value.value
    out["betas"] = list(config.betas)
    out["architecture"] = [dict(row) for row in config.architecture]
    return out


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """Build a TrainConfig from ``config_to_dict`` output; unknown keys raise ConfigError."""
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError.from_key("errors.train_unknown_settings", names=", ".join(unknown),
                                   allowed=", ".join(sorted(known)))  # fmt: skip
    return TrainConfig(**values)


def flatten_config(config: TrainConfig) -> dict[str, Any]:
    """Return the config's fields as one flat mapping (``augmentation_flip``, ...), values as they are (enums)."""
    flat = {f.name: getattr(config, f.name) for f in fields(TrainConfig) if f.name != "augmentation"}
    flat |= {f"augmentation_{f.name}": getattr(config.augmentation, f.name) for f in fields(Augmentation)}
    return flat


def config_from_flat(values: dict[str, Any], *, base: TrainConfig | None = None) -> TrainConfig:
    """Build a TrainConfig from flat values (as ``flatten_config`` gives them); the rest comes from ``base``.

    Numbers are converted to the field's type (a slider's int for a float field); closed choices become
    their enums in TrainConfig itself. Unknown names raise ConfigError, so do values no run can use.
    """
    base = TrainConfig() if base is None else base
    unknown = sorted(set(values) - set(setting_names()))
    if unknown:
        raise ConfigError.from_key("errors.train_unknown_settings", names=", ".join(unknown),
                                   allowed=", ".join(setting_names()))  # fmt: skip
    floats = {f.name for f in fields(TrainConfig) if f.type == "float"}
    floats |= {f"augmentation_{f.name}" for f in fields(Augmentation) if f.type == "float"}
    typed = {k: float(v) if k in floats and isinstance(v, int | float) else v for k, v in values.items()}
    aug = {k.removeprefix("augmentation_"): v for k, v in typed.items() if k.startswith("augmentation_")}
    top = {k: v for k, v in typed.items() if not k.startswith("augmentation_")}
    return replace(base, **top, augmentation=replace(base.augmentation, **aug))


@dataclass(frozen=True)
class PrecisionPlan:
    """What a precision setting runs as on one device."""

    autocast_dtype: torch.dtype | None  # the type autocast computes in; None: no autocast, float32 throughout
    grad_scaler: bool  # the loss is scaled (torch.amp.GradScaler) so that small float16 gradients do not vanish


def precision_plan(precision: Precision | str, device: torch.device | str) -> PrecisionPlan:
    """Say how ``precision`` runs on ``device`` (the Trainer's autocast and scaler, ``components._precision``).

    FP32: no autocast. Mixed: float16 autocast with a gradient scaler on CUDA; bfloat16 autocast without
    one elsewhere (CPU, MPS), since bfloat16 has float32's range and its gradients do not underflow.
    """
    if Precision(precision) is Precision.FP32:
        return PrecisionPlan(None, False)
    if torch.device(device).type == "cuda":
        return PrecisionPlan(torch.float16, True)
    return PrecisionPlan(torch.bfloat16, False)


def fraction_split(total: int, fraction: float) -> tuple[int, int]:
    """(training, validation) counts when ``fraction`` of ``total`` images validates (rounded, at least one)."""
    n_val = max(1, round(total * fraction))
    return total - n_val, n_val


def fold_sizes(total: int, k: int) -> list[int]:
    """The validation images of each of ``k`` folds of ``total`` images (the first ``total % k`` hold one more).

    These are the sizes of ``cnnviz.train.fold_indices`` (``torch.tensor_split``).
    """
    return [total // k + int(i < total % k) for i in range(k)]


def check_split(config: TrainConfig, given: tuple[int, int] | None = None) -> None:
    """Raise ConfigError when the images cannot be split as ``config`` asks (``given``: see ``split_sizes``)."""
    total = sum(given) if given is not None else config.n_train + config.n_val
    if config.folds >= 2 and config.folds > total:
        raise ConfigError.from_key("errors.train_folds", k=config.folds, n=total)
    if config.folds < 2 and config.val_fraction > 0 and fraction_split(total, config.val_fraction)[0] < 1:
        raise ConfigError.from_key("errors.train_fraction_too_large", n=total, fraction=config.val_fraction)


def split_sizes(config: TrainConfig, given: tuple[int, int] | None = None) -> tuple[int, int]:
    """Return how many images train and validate one model of the run: (training, validation).

    ``given``: the (training, validation) counts of a data split handed to the Trainer (the user's zip); None
    for ``config.dataset``, drawn as ``n_train`` + ``n_val`` images. With ``val_fraction`` that share of all
    the images validates (as the Trainer re-splits them); with k folds all the images are cut into k folds and
    each model validates on one (these are the first fold's counts, the largest fold). Raises ConfigError
    when the images cannot be split so (``check_split``).
    """
    check_split(config, given)
    n_train, n_val = given if given is not None else (config.n_train, config.n_val)
    total = n_train + n_val
    if config.folds >= 2:
        held_out = fold_sizes(total, config.folds)[0]
        return total - held_out, held_out
    if config.val_fraction > 0:
        return fraction_split(total, config.val_fraction)
    return n_train, n_val


def load_config_data(config: TrainConfig) -> DataSplit:
    """Load the registry data set ``config`` trains on: its images, split, side and seed (what the Trainer loads).

    With ``val_fraction`` the n_train + n_val images are drawn as one pool's shares (``fraction_split``).
    Raises ConfigError / DataError as ``cnnviz.data.load_dataset`` does.
    """
    n_train, n_val = config.n_train, config.n_val
    if config.val_fraction > 0:  # the same images in all, a share of them validates
        n_train, n_val = fraction_split(n_train + n_val, config.val_fraction)
    return load_dataset(config.dataset, n_train=n_train, n_val=n_val, seed=config.seed,
                        image_size=config.image_size or None)  # fmt: skip
