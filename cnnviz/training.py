"""Train a small CNN on in-memory tensors: the config, the trainer, Keras-style callbacks, the history.

``Trainer(config).fit(callbacks=...)`` runs in the calling thread (``cnnviz.jobs`` runs it in a
background thread for the page). The data set lives on the device as tensors; shuffling and
augmentation draw from one seeded generator, so the same config and seed on the CPU give the same
history. Losses and accuracies are summed on the device and read back every ``sync_every`` steps
only, which is the one host synchronisation the live charts need.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum, StrEnum
from typing import Any, BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.device import device_label, select_device
from cnnviz.errors import CheckpointError, ConfigError

__all__ = [
    "Augmentation",
    "Callback",
    "EarlyStopping",
    "EpochSnapshot",
    "EpochStats",
    "History",
    "InitName",
    "LambdaCallback",
    "ModelCheckpoint",
    "OptimizerName",
    "Precision",
    "RunStatus",
    "Schedule",
    "StepStats",
    "TrainConfig",
    "TrainedModel",
    "Trainer",
    "augment_batch",
    "config_from_dict",
    "config_to_dict",
    "load_trained",
    "save_trained",
]

CHECKPOINT_FORMAT = "cnnviz-trained-1"
_GLOBAL_RNG_LOCK = threading.Lock()  # two jobs building models at once must not interleave seeding and drawing
EXPLODED_LOSS_FACTOR = 100.0  # a loss above this × ln(classes) (chance level) counts as diverged
MAX_MISCLASSIFIED = 64  # misclassified validation images kept for the page, most confident first


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


class RunStatus(StrEnum):
    FINISHED = "finished"
    EARLY_STOPPED = "early_stopped"
    STOPPED = "stopped"
    DIVERGED = "diverged"


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
    model: str = "tinyvgg"  # registry name (cnnviz.models.available_models())
    dataset: str = "shapes"  # cnnviz.datasets name; ignored when the Trainer is given data=
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


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class StepStats:
    step: int  # optimizer steps done so far in the run
    epoch: int  # 1-based epoch the step belongs to
    loss: float  # mean training loss over the steps since the previous StepStats
    accuracy: float  # training accuracy over the same window, in [0, 1]
    lr: float  # learning rate of the first parameter group
    samples_per_s: float  # training images per second over the window (pauses excluded)
    grad_norm: float  # L2 norm of all gradients at the last step of the window


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    lr: float
    samples_per_s: float  # training images per second over the epoch (pauses excluded)
    seconds: float  # wall time of the epoch, validation included, pauses excluded
    grad_norm: float  # gradient norm at the epoch's last synchronised step


@dataclass(frozen=True)
class EpochSnapshot:
    epoch: int  # 0 = before training
    filters: np.ndarray  # (C_out, C_in, k, k) first convolution's weights, float32, read-only
    probe_maps: np.ndarray  # (C_out, H, W) first convolution's output for the probe image, read-only


@dataclass
class History:
    """Everything a run produced; grows while ``fit`` runs (jobs copy it into immutable snapshots)."""

    epochs: list[EpochStats] = field(default_factory=list)
    steps: list[StepStats] = field(default_factory=list)
    snapshots: list[EpochSnapshot] = field(default_factory=list)
    status: RunStatus | None = None  # None while running
    message: str = ""  # why the run stopped early (diverged, early stopping, stopped by the user)
    last_good_epoch: int = 0  # last epoch whose losses were finite; the model holds its weights after a divergence
    class_names: tuple[str, ...] = ()
    probe_index: int = 0  # validation image used for the probe feature maps
    confusion: np.ndarray | None = None  # (K, K) counts, rows = true class, columns = predicted
    misclassified: tuple[int, ...] = ()  # validation indices, most confident mistakes first
    misclassified_pred: tuple[int, ...] = ()  # predicted class of each misclassified image


# --------------------------------------------------------------------------- callbacks


class Callback:
    """Keras-style hooks; override the ones you need. Set ``trainer.request_stop(...)`` to stop."""

    def on_fit_start(self, trainer: Trainer) -> None: ...

    def on_step_end(self, trainer: Trainer, stats: StepStats | None) -> None:
        """Called after every optimizer step; ``stats`` is set every ``sync_every`` steps only."""

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None: ...

    def on_fit_end(self, trainer: Trainer, history: History) -> None: ...


class LambdaCallback(Callback):
    """Wrap plain functions as a callback (Keras' LambdaCallback)."""

    def __init__(
        self,
        *,
        on_fit_start: Callable[[Trainer], None] | None = None,
        on_step_end: Callable[[Trainer, StepStats | None], None] | None = None,
        on_epoch_end: Callable[[Trainer, EpochStats], None] | None = None,
        on_fit_end: Callable[[Trainer, History], None] | None = None,
    ) -> None:
        self._fns = {"fit_start": on_fit_start, "step": on_step_end, "epoch": on_epoch_end, "fit_end": on_fit_end}

    def on_fit_start(self, trainer: Trainer) -> None:
        if self._fns["fit_start"]:
            self._fns["fit_start"](trainer)

    def on_step_end(self, trainer: Trainer, stats: StepStats | None) -> None:
        if self._fns["step"]:
            self._fns["step"](trainer, stats)

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        if self._fns["epoch"]:
            self._fns["epoch"](trainer, stats)

    def on_fit_end(self, trainer: Trainer, history: History) -> None:
        if self._fns["fit_end"]:
            self._fns["fit_end"](trainer, history)


class EarlyStopping(Callback):
    """Stop when the monitored validation metric has not improved for ``patience`` epochs."""

    def __init__(self, patience: int, *, monitor: str = "val_loss", min_delta: float = 0.0) -> None:
        if monitor not in {"val_loss", "val_accuracy"}:
            raise ConfigError(f"monitor {monitor!r} is not known: use 'val_loss' or 'val_accuracy'.")
        self.patience, self.monitor, self.min_delta = patience, monitor, min_delta
        self.best = math.inf
        self.wait = 0

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        value = _monitored(stats, self.monitor)
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.request_stop(
                RunStatus.EARLY_STOPPED,
                f"Early stopping after epoch {stats.epoch}: {self.monitor} did not improve for "
                f"{self.patience} epoch(s).",
            )


class ModelCheckpoint(Callback):
    """Keep the weights of the best epoch in memory (a CPU state dict), by validation loss or accuracy."""

    def __init__(self, *, monitor: str = "val_loss") -> None:
        if monitor not in {"val_loss", "val_accuracy"}:
            raise ConfigError(f"monitor {monitor!r} is not known: use 'val_loss' or 'val_accuracy'.")
        self.monitor = monitor
        self.best_value = math.inf
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        value = _monitored(stats, self.monitor)
        if value < self.best_value:
            self.best_value, self.best_epoch = value, stats.epoch
            self.best_state = _cpu_state(trainer.model)


def _monitored(stats: EpochStats, monitor: str) -> float:
    """Return the monitored value so that smaller is better (NaN counts as worst)."""
    value = stats.val_loss if monitor == "val_loss" else -stats.val_accuracy
    return value if math.isfinite(value) else math.inf


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


# --------------------------------------------------------------------------- augmentation


def augment_batch(x: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Return a randomly flipped/shifted/rotated/colour-jittered copy of a batch in [0, 1].

    ``x`` is (N, C, H, W); the result has the same shape, dtype and device. Random numbers come from
    ``generator`` (on the CPU) so runs are reproducible; the input is never modified.
    """
    n, dev = x.shape[0], x.device
    if aug.flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(dev, non_blocking=True)
        x = torch.where(mask[:, None, None, None], x.flip(-1), x)
    if aug.crop or aug.rotation > 0:
        angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(aug.rotation)
        shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (0.25 if aug.crop else 0.0)  # 1/8 of the side
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta.to(dev, x.dtype), list(x.shape), align_corners=False)  # (N, H, W, 2)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if aug.color_jitter > 0:
        x = _jitter(x, aug.color_jitter, generator)
    return x


def _jitter(x: torch.Tensor, amount: float, generator: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    factors = (1 + (torch.rand(3, n, 1, 1, 1, generator=generator) * 2 - 1) * amount).to(x.device, x.dtype)
    x = x * factors[0]  # brightness
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * factors[1] + mean  # contrast
    if x.shape[1] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        gray = (x * weights).sum(dim=1, keepdim=True)
        x = (x - gray) * factors[2] + gray  # saturation
    return x.clamp(0.0, 1.0)


# --------------------------------------------------------------------------- the trainer


@dataclass(frozen=True)
class TrainedModel:
    """A trained network with what is needed to use it again (preprocessing, class names, config)."""

    model: nn.Module  # on the CPU, in eval mode
    config: TrainConfig
    class_names: tuple[str, ...]
    in_channels: int
    image_size: int
    mean: tuple[float, ...]  # per-channel normalisation applied to [0, 1] images
    std: tuple[float, ...]
    dataset: str


class Trainer:
    """Train one model on one data set as the config says.

    ``data`` (a ``cnnviz.datasets.DataSplit`` or anything with its fields) replaces loading
    ``config.dataset``; ``model`` replaces building ``config.model`` from the registry.
    Construction validates only; ``prepare()`` (called by ``fit``) loads data and builds the model
    and raises ConfigError / DataError / CheckpointError.
    """

    def __init__(self, config: TrainConfig, *, data: Any = None, model: nn.Module | None = None) -> None:
        self.config = config
        self.device = select_device(config.device)
        self.data = data
        self.model: nn.Module | None = model
        self.history = History()
        self.stop_training = False
        self.global_step = 0
        self.total_steps = 0
        self.mean: tuple[float, ...] = ()
        self.std: tuple[float, ...] = ()
        self._prepared = False
        self._idle = 0.0  # seconds spent paused inside callbacks, excluded from speeds
        self._bad_loss = math.nan  # the loss that ended a diverged run
        self._stop_status = RunStatus.STOPPED

    # -- public helpers -------------------------------------------------------------------------

    @property
    def device_label(self) -> str:
        return device_label(self.device)

    def request_stop(self, status: RunStatus = RunStatus.STOPPED, message: str = "") -> None:
        """Stop after the current step (callbacks and the job call this)."""
        self._stop_status, self.stop_training = status, True
        if message:
            self.history.message = message

    def add_idle_time(self, seconds: float) -> None:
        """Tell the trainer that ``seconds`` were spent paused, so speeds and times exclude them."""
        self._idle += seconds

    def release(self) -> None:
        """Drop the data and its device copies (the model and history stay); ``fit`` cannot run again after."""
        self.data = None if self.data is None else _DataShape(
            tuple(self.data.class_names), int(self.data.in_channels), int(self.data.image_size),
            str(getattr(self.data, "name", self.config.dataset)),
        )  # fmt: skip
        for name in ("_train_x", "_train_y", "_val_x", "_val_y"):
            self.__dict__.pop(name, None)
        self._prepared = False

    def trained(self) -> TrainedModel:
        """Return a CPU copy of the model in eval mode (every parameter requires grad) with what is needed to use it."""
        if self.model is None:
            raise ConfigError("The model has not been built yet: call fit() first.")
        model = _copy_to_cpu(self.model)
        d = self.data
        return TrainedModel(
            model, self.config, tuple(d.class_names), int(d.in_channels), int(d.image_size),
            self.mean, self.std, str(getattr(d, "name", self.config.dataset)),
        )  # fmt: skip

    # -- preparation --------------------------------------------------------------------------

    def prepare(self) -> None:
        """Load the data, build and initialise the model, move everything to the device."""
        if self._prepared:
            return
        if self.data is None:
            from cnnviz.datasets import load_dataset

            c = self.config
            self.data = load_dataset(c.dataset, n_train=c.n_train, n_val=c.n_val, seed=c.seed)
        d = self.data
        with _GLOBAL_RNG_LOCK:  # initial weights come from torch's global generator: seed and draw atomically
            torch.manual_seed(self.config.seed)  # then dropout draws from it too (reproducible for a lone run)
            if self.model is None:
                self.model = _build_model(self.config, d)
        self.model.to(self.device)
        _check_model_fits(self.model, d, self.config.model, self.device)
        self.mean, self.std = _normalisation(self.config, d)
        self._load_tensors(d)
        self._optimizer = _make_optimizer(self.config, [p for p in self.model.parameters() if p.requires_grad])
        self._gen = torch.Generator().manual_seed(self.config.seed)
        self._autocast, self._scaler = _precision(self.config.precision, self.device)
        n = self._train_x.shape[0]
        per_epoch = n // self.config.batch_size + int(n % self.config.batch_size >= 2)
        self.steps_per_epoch = max(per_epoch, 1)
        self.total_steps = self.steps_per_epoch * self.config.epochs
        self._scheduler = _make_scheduler(self.config, self._optimizer, self.total_steps)
        self.history.class_names = tuple(d.class_names)
        self._prepared = True

    def _load_tensors(self, d: Any) -> None:
        pin = self.device.type == "cuda"
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        self._norm_each_batch = self.config.augmentation.color_jitter > 0  # jitter needs [0, 1] images

        def move(t: torch.Tensor) -> torch.Tensor:
            t = t.pin_memory() if pin else t
            return t.to(self.device, non_blocking=pin)

        train_x = d.train_x if self._norm_each_batch else (d.train_x - mean) / std
        self._train_x, self._train_y = move(train_x), move(d.train_y)  # (N, C, H, W), (N,)
        self._val_x, self._val_y = move((d.val_x - mean) / std), move(d.val_y)
        self._mean_dev, self._std_dev = mean.to(self.device), std.to(self.device)

    # -- the loop -----------------------------------------------------------------------------

    def fit(self, callbacks: Iterable[Callback | Callable[..., Any]] = ()) -> History:
        """Train for ``config.epochs`` epochs (or until a callback stops) and return the history.

        Plain functions in ``callbacks`` are called as ``fn(trainer, epoch_stats)`` after each epoch.
        A NaN or infinite loss, or one 100× above chance level, ends the run with status DIVERGED, a
        message saying what to try, and the model restored to the last epoch with finite losses.
        """
        self.prepare()
        cbs = _as_callbacks(callbacks)
        if self.config.patience > 0:
            cbs.append(EarlyStopping(self.config.patience))
        last_good = _cpu_state(self.model)
        self._snapshot(0)
        for cb in cbs:
            cb.on_fit_start(self)
        for epoch in range(1, self.config.epochs + 1):
            stats = self._run_epoch(epoch, cbs)
            if stats is None:
                self._diverged(epoch, last_good)
                break
            self.history.epochs.append(stats)
            last_good, self.history.last_good_epoch = _cpu_state(self.model), epoch
            self._snapshot(epoch)
            for cb in cbs:
                cb.on_epoch_end(self, stats)
            if self.stop_training:
                break
        if self.history.status is None:
            self.history.status = self._stop_status if self.stop_training else RunStatus.FINISHED
        self._final_report()
        for cb in cbs:
            cb.on_fit_end(self, self.history)
        return self.history

    def _run_epoch(self, epoch: int, cbs: Sequence[Callback]) -> EpochStats | None:
        """Train one epoch and validate; return None when the loss is not finite."""
        start, idle0 = time.perf_counter(), self._idle
        train = self._train_steps(epoch, cbs)
        if train is None:
            return None
        train_loss, train_acc, samples, grad_norm = train
        train_seconds = time.perf_counter() - start - (self._idle - idle0)
        val_loss, val_acc = self._evaluate()
        if not math.isfinite(val_loss):
            self._bad_loss = val_loss
            return None
        seconds = time.perf_counter() - start - (self._idle - idle0)
        lr = self._optimizer.param_groups[0]["lr"]
        speed = samples / max(train_seconds, 1e-9)
        return EpochStats(epoch, train_loss, train_acc, val_loss, val_acc, lr, speed, seconds, grad_norm)

    def _train_steps(self, epoch: int, cbs: Sequence[Callback]) -> tuple[float, float, int, float] | None:
        model, c = self.model, self.config
        model.train()
        _freeze_frozen_norms(model)
        n = self._train_x.shape[0]
        perm = torch.randperm(n, generator=self._gen).to(self.device, non_blocking=True)
        zero = torch.zeros((), device=self.device)
        ep_loss, ep_correct, ep_count = zero.clone(), zero.clone(), 0
        win_loss, win_correct, win_count = zero.clone(), zero.clone(), 0
        win_start, win_idle, grad_norm = time.perf_counter(), self._idle, 0.0
        for i in range(self.steps_per_epoch):
            idx = perm[i * c.batch_size : (i + 1) * c.batch_size]
            loss, correct, sync_norm = self._step(idx, (i + 1) % c.sync_every == 0 or i + 1 == self.steps_per_epoch)
            size = idx.shape[0]
            win_loss += loss * size
            win_correct += correct
            win_count += size
            self.global_step += 1
            stats = None
            if sync_norm is not None:  # read back to the host: the only per-window sync
                grad_norm = sync_norm
                loss_v, acc_v = win_loss.item() / win_count, win_correct.item() / win_count
                if self._exploded(loss_v):
                    return None
                elapsed = time.perf_counter() - win_start - (self._idle - win_idle)
                lr = self._optimizer.param_groups[0]["lr"]
                stats = StepStats(self.global_step, epoch, loss_v, acc_v, lr, win_count / max(elapsed, 1e-9), grad_norm)
                self.history.steps.append(stats)
                ep_loss, ep_correct, ep_count = ep_loss + win_loss, ep_correct + win_correct, ep_count + win_count
                win_loss, win_correct, win_count = zero.clone(), zero.clone(), 0
                win_start, win_idle = time.perf_counter(), self._idle
            for cb in cbs:
                cb.on_step_end(self, stats)
            if self.stop_training:
                break
        ep_loss, ep_correct, ep_count = ep_loss + win_loss, ep_correct + win_correct, ep_count + win_count
        if ep_count == 0:
            return 0.0, 0.0, 0, grad_norm
        loss_v = ep_loss.item() / ep_count
        if self._exploded(loss_v):
            return None
        return loss_v, ep_correct.item() / ep_count, ep_count, grad_norm

    def _exploded(self, loss: float) -> bool:
        """True for a NaN/inf loss or one far above chance level (weights blown up); remembers the value."""
        limit = EXPLODED_LOSS_FACTOR * math.log(max(len(self.history.class_names), 2))
        if math.isfinite(loss) and loss <= limit:
            return False
        self._bad_loss = loss
        return True

    def _step(self, idx: torch.Tensor, sync: bool) -> tuple[torch.Tensor, torch.Tensor, float | None]:
        """One optimizer step on the images at ``idx``; returns loss, correct count, grad norm if ``sync``."""
        x, y = self._train_x[idx], self._train_y[idx]  # (B, C, H, W), (B,)
        aug = self.config.augmentation
        if aug.enabled:
            x = augment_batch(x, aug, self._gen)
        if self._norm_each_batch:
            x = (x - self._mean_dev) / self._std_dev
        with self._autocast():
            logits = self.model(x)  # (B, K)
            loss = F.cross_entropy(logits.float(), y)
        opt, scaler = self._optimizer, self._scaler
        opt.zero_grad(set_to_none=True)
        norm = None
        if scaler is not None:
            scaler.scale(loss).backward()
            if sync:
                scaler.unscale_(opt)
                norm = _grad_norm(opt)
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            norm = _grad_norm(opt) if sync else None
            opt.step()
        if self._scheduler is not None:
            self._scheduler.step()
        correct = (logits.detach().argmax(1) == y).sum()
        return loss.detach(), correct, norm

    @torch.no_grad()
    def _predict(self, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
        """Return logits (N, K) in float32 for normalised images ``x`` (eval mode)."""
        self.model.eval()
        with self._autocast():
            out = [self.model(x[i : i + batch]).float() for i in range(0, x.shape[0], batch)]
        return torch.cat(out)

    def _evaluate(self) -> tuple[float, float]:
        logits = self._predict(self._val_x)
        loss = F.cross_entropy(logits, self._val_y, reduction="sum")
        correct = (logits.argmax(1) == self._val_y).sum()
        n = self._val_y.shape[0]
        return loss.item() / n, correct.item() / n

    # -- snapshots, divergence and the final report --------------------------------------------

    def _snapshot(self, epoch: int) -> None:
        conv = _first_conv(self.model)
        if conv is None:
            return
        captured: list[torch.Tensor] = []
        handle = conv.register_forward_hook(lambda _m, _i, out: captured.append(out.detach()))
        was_training = self.model.training
        try:
            self._predict(self._val_x[self.history.probe_index : self.history.probe_index + 1])
        finally:
            handle.remove()
            self.model.train(was_training)
        filters = conv.weight.detach().float().cpu().numpy().copy()  # (C_out, C_in, k, k)
        maps = captured[0][0].float().cpu().numpy().copy()  # (C_out, H, W)
        filters.flags.writeable = maps.flags.writeable = False
        self.history.snapshots.append(EpochSnapshot(epoch, filters, maps))

    def _diverged(self, epoch: int, last_good: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(last_good)
        good = self.history.last_good_epoch
        kept = f"the weights of epoch {good} were kept" if good else "the initial weights were kept"
        lr = self.config.learning_rate
        self.history.status = RunStatus.DIVERGED
        bad = self._bad_loss
        what = f"exploded to {bad:.3g}" if math.isfinite(bad) else "became NaN or infinite"
        self.history.message = (
            f"Training diverged in epoch {epoch}: the loss {what} with learning rate {lr:g}; "
            f"{kept}. Try a learning rate about 10× smaller (e.g. {lr / 10:g}), batch norm, or the Adam optimizer."
        )

    def _final_report(self) -> None:
        logits = self._predict(self._val_x)
        pred = logits.argmax(1)
        k = len(self.history.class_names)
        y = self._val_y
        confusion = torch.bincount(y * k + pred, minlength=k * k).view(k, k)
        wrong = (pred != y).nonzero().flatten()
        confidence = logits.softmax(1).max(1).values[wrong]
        order = wrong[confidence.argsort(descending=True)][:MAX_MISCLASSIFIED]
        self.history.confusion = confusion.cpu().numpy()
        self.history.misclassified = tuple(order.cpu().tolist())
        self.history.misclassified_pred = tuple(pred[order].cpu().tolist())
        self.model.eval()


# --------------------------------------------------------------------------- building blocks


def _as_callbacks(callbacks: Iterable[Callback | Callable[..., Any]]) -> list[Callback]:
    out: list[Callback] = []
    for cb in callbacks:
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb):
            out.append(LambdaCallback(on_epoch_end=cb))
        else:
            raise ConfigError(f"callback {cb!r} is neither a Callback nor a function.")
    return out


def _build_model(config: TrainConfig, data: Any) -> nn.Module:
    """Build the registry model for the data (or the bundled one with a new head for transfer)."""
    from cnnviz import models

    names = models.available_models()
    if config.model not in names:
        raise ConfigError(f"Unknown model {config.model!r}: choose one of {', '.join(names)}.")
    num_classes = len(data.class_names)
    if not config.transfer:
        model = models.build(
            config.model, num_classes=num_classes, in_channels=int(data.in_channels),
            image_size=int(data.image_size), batch_norm=config.batch_norm, dropout=config.dropout,
        )  # fmt: skip
        _init_weights(model, config.init)
        return model
    spec = models.get_spec(config.model)
    if (spec.in_channels, spec.image_size) != (int(data.in_channels), int(data.image_size)):
        raise ConfigError(
            f"Transfer learning from {config.model} needs {spec.image_size}×{spec.image_size} images with "
            f"{spec.in_channels} channel(s), but the data has {data.image_size}×{data.image_size} with "
            f"{data.in_channels}: load your images at that size and colour mode, or train from scratch."
        )
    model = models.build(config.model, weights="bundled")
    head = _replace_head(model, num_classes)
    _init_weights(head, config.init)
    return model


def _replace_head(model: nn.Module, num_classes: int) -> nn.Linear:
    """Freeze convolutions and norms, and swap the last Linear layer for a new one with ``num_classes`` outputs."""
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ConfigError("This model has no linear classifier to replace: transfer learning needs one.")
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.BatchNorm2d):
            m.requires_grad_(False)
    parent_name, _, attr = linears[-1].rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, attr)
    head = nn.Linear(old.in_features, num_classes)
    setattr(parent, attr, head)
    return head


def _freeze_frozen_norms(model: nn.Module) -> None:
    """Keep frozen BatchNorm layers in eval mode so their running statistics do not drift."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.eval()


def _init_weights(module: nn.Module, init: InitName) -> None:
    if init is InitName.DEFAULT:
        return
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            if init is InitName.XAVIER:
                nn.init.xavier_uniform_(m.weight)
            else:
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _check_model_fits(model: nn.Module, data: Any, name: str, device: torch.device) -> None:
    """Run two images through the model; raise ConfigError if their size or channels do not fit."""
    probe = data.train_x[:2].to(device)  # (2, C, H, W)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(probe)
    except RuntimeError as err:
        raise ConfigError(
            f"Model {name!r} does not fit {data.image_size}×{data.image_size} images with {data.in_channels} "
            f"channel(s) ({str(err).splitlines()[0]}): choose a model made for this size, or another data set."
        ) from err
    finally:
        model.train(was_training)
    k = len(data.class_names)
    if out.shape != (probe.shape[0], k):
        raise ConfigError(f"Model {name!r} outputs shape {tuple(out.shape)}, but the data has {k} classes.")


def _normalisation(config: TrainConfig, data: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean/std: the bundled model's for transfer learning, else the data set's (or computed)."""
    if config.transfer:
        from cnnviz.models import get_spec

        spec = get_spec(config.model)
        return tuple(map(float, spec.mean)), tuple(map(float, spec.std))
    if getattr(data, "mean", None) is not None and getattr(data, "std", None) is not None:
        return tuple(map(float, data.mean)), tuple(map(float, data.std))
    x = data.train_x.float()
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return tuple(mean.tolist()), tuple(std.tolist())


def _make_optimizer(c: TrainConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    if not params:
        raise ConfigError("No parameter is trainable: turn transfer learning off or use a model with a head.")
    lr, wd, o = c.learning_rate, c.weight_decay, OptimizerName
    if c.optimizer is o.SGD:
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if c.optimizer in (o.MOMENTUM, o.NESTEROV):
        return torch.optim.SGD(params, lr=lr, momentum=c.momentum, nesterov=c.optimizer is o.NESTEROV, weight_decay=wd)
    if c.optimizer is o.ADAGRAD:
        return torch.optim.Adagrad(params, lr=lr, eps=c.eps, weight_decay=wd)
    if c.optimizer is o.RMSPROP:
        return torch.optim.RMSprop(params, lr=lr, alpha=c.rms_alpha, eps=c.eps, weight_decay=wd)
    cls = torch.optim.Adam if c.optimizer is o.ADAM else torch.optim.AdamW
    return cls(params, lr=lr, betas=c.betas, eps=c.eps, weight_decay=wd)


def _make_scheduler(c: TrainConfig, opt: torch.optim.Optimizer, total_steps: int) -> Any:
    if c.schedule is Schedule.COSINE:
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    if c.schedule is Schedule.ONE_CYCLE:
        cycle_momentum = c.optimizer in (OptimizerName.MOMENTUM, OptimizerName.NESTEROV, OptimizerName.ADAM,
                                         OptimizerName.ADAMW)  # fmt: skip
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=c.learning_rate, total_steps=total_steps + 1, cycle_momentum=cycle_momentum
        )
    return None


def _precision(precision: Precision, device: torch.device) -> tuple[Callable[[], Any], Any]:
    """Return (autocast context factory, GradScaler or None) for the precision and device."""
    if precision is Precision.FP32:
        return contextlib.nullcontext, None
    if device.type == "cuda":
        scaler = torch.amp.GradScaler("cuda")
        return (lambda: torch.autocast("cuda", dtype=torch.float16)), scaler
    return (lambda: torch.autocast(device.type, dtype=torch.bfloat16)), None


def _grad_norm(opt: torch.optim.Optimizer) -> float:
    grads = [p.grad.detach() for group in opt.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads])))


def _first_conv(model: nn.Module) -> nn.Conv2d | None:
    return next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)


def _copy_to_cpu(model: nn.Module) -> nn.Module:
    clone = copy.deepcopy(model).to("cpu").eval()
    for p in clone.parameters():
        p.requires_grad_(True)  # unfrozen, so gradient tools (Grad-CAM, saliency) work on the copy
    return clone


# --------------------------------------------------------------------------- checkpoints


def save_trained(trained: TrainedModel) -> bytes:
    """Serialise a trained model as a ``.pt`` file: state dict, config and preprocessing, no pickled code."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in trained.model.state_dict().items()},
        "config": config_to_dict(trained.config),
        "class_names": list(trained.class_names),
        "in_channels": trained.in_channels,
        "image_size": trained.image_size,
        "mean": list(trained.mean),
        "std": list(trained.std),
        "dataset": trained.dataset,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def load_trained(source: bytes | BinaryIO) -> TrainedModel:
    """Load a file written by ``save_trained`` with ``weights_only=True``; raise CheckpointError if it is not one."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        payload = torch.load(stream, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types (UnpicklingError, RuntimeError, EOFError, ...)
        raise CheckpointError.from_key("errors.trained_unsafe", error=type(err).__name__) from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError.from_key("errors.trained_not_ours")
    try:
        config = config_from_dict(payload["config"])
        data = _DataShape(tuple(payload["class_names"]), int(payload["in_channels"]), int(payload["image_size"]),
                          str(payload.get("dataset", "")))  # fmt: skip
        model = _build_model(replace(config, transfer=False), data)
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ConfigError, RuntimeError) as err:
        raise CheckpointError.from_key("errors.trained_mismatch", detail=str(err).splitlines()[0]) from err
    model.eval()
    mean, std = tuple(map(float, payload["mean"])), tuple(map(float, payload["std"]))
    return TrainedModel(model, config, data.class_names, data.in_channels, data.image_size, mean, std,
                        str(payload.get("dataset", config.dataset)))  # fmt: skip


@dataclass(frozen=True)
class _DataShape:
    class_names: tuple[str, ...]
    in_channels: int
    image_size: int
    name: str = ""
