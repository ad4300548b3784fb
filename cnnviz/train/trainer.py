"""Train a small CNN on in-memory tensors: ``Trainer(config).fit(callbacks=...)``.

It runs in the calling thread (:mod:`cnnviz.train.jobs` runs it in a background thread for the
page). The data set lives on the device as tensors; shuffling and augmentation draw from one
seeded generator, so the same config and seed on the CPU give the same history. Losses and
accuracies are summed on the device and read back every ``sync_every`` steps only."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn

from cnnviz.device import device_label, device_phrase, select_device
from cnnviz.errors import ConfigError, Phrase
from cnnviz.train.augment import augment_batch, fixed_noise
from cnnviz.train.callbacks import Callback, EarlyStopping, _cpu_state
from cnnviz.train.components import (
    _GLOBAL_RNG_LOCK,
    _as_callbacks,
    _build_model,
    _check_model_fits,
    _copy_to_cpu,
    _freeze_frozen_norms,
    _grad_norm,
    _make_optimizer,
    _make_scheduler,
    _normalisation,
    _precision,
)
from cnnviz.train.config import TrainConfig, load_config_data
from cnnviz.train.history import EpochStats, History, RunStatus
from cnnviz.train.kfold import split_by_fraction
from cnnviz.train.snapshots import gradient_summary, take_snapshot
from cnnviz.train.step_window import StepSums, window_ends, window_stats
from cnnviz.train.tasks import ClassificationTask, Task
from cnnviz.train.trained import DataInfo, TrainedModel
from cnnviz.train.transfer import backbone_is_frozen, cache_features, head_name, pick_views

__all__ = ["Trainer"]


EXPLODED_LOSS_FACTOR = 100.0  # a loss above this × ln(classes) (chance level) counts as diverged
VAL_NOISE_SEED_OFFSET = 7919  # the validation noise has its own generator, so training draws stay the same
CHANNELS_LAST = True  # images and conv weights as (N, H, W, C) in memory: faster convolutions on the CPU (measured)


class Trainer:
    """Train one model on one data set as the config says.

    ``data`` (a ``cnnviz.data.DataSplit`` or anything with its fields) replaces loading
    ``config.dataset``; ``model`` replaces building ``config.model`` from the registry; ``task`` says what
    is learnt (default: one class per image, ``cnnviz.train.tasks``); ``loader`` loads the config's data set
    when no ``data`` is given (default ``load_config_data``; the page passes one that keeps the last set drawn).
    Construction validates only; ``prepare()`` (called by ``fit``) loads data, builds the model and raises
    ConfigError / DataError.
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        data: Any = None,
        model: nn.Module | None = None,
        task: Task | None = None,
        loader: Callable[[TrainConfig], Any] | None = None,
    ) -> None:
        self.config = config
        self.loader = load_config_data if loader is None else loader
        self.task = ClassificationTask() if task is None else task
        if config.augmentation.enabled and not self.task.augmentable:
            raise ConfigError.from_key("errors.train_task_no_augmentation")
        self.device = select_device(config.device)
        self.data = data
        self.model: nn.Module | None = model
        self.history = History(metric=self.task.metric)
        self.stop_training = False
        self.global_step = 0
        self.total_steps = 0
        self.mean: tuple[float, ...] = ()
        self.std: tuple[float, ...] = ()
        self._prepared = False
        self._idle = 0.0  # seconds spent paused inside callbacks, excluded from speeds
        self._bad_loss = math.nan  # the loss that ended a diverged run
        self._gradients: Any = None  # per-layer gradient summary of the epoch's last step (cnnviz.train.snapshots)
        self._grad_norm = 0.0  # gradient norm at the last step that closed a window
        self._stop_status = RunStatus.STOPPED

    # -- public helpers -------------------------------------------------------------------------

    @property
    def device_label(self) -> str:
        return device_label(self.device)

    @property
    def device_phrase(self) -> Phrase:
        """The device for people, translatable ("CPU (2 threads)")."""
        return device_phrase(self.device)

    def request_stop(self, status: RunStatus = RunStatus.STOPPED, message: Phrase | None = None) -> None:
        """Stop after the current step (callbacks and the job call this)."""
        self._stop_status, self.stop_training = status, True
        if message is not None:
            self.history.message = message

    def add_idle_time(self, seconds: float) -> None:
        """Tell the trainer that ``seconds`` were spent paused, so speeds and times exclude them."""
        self._idle += seconds

    def release(self) -> None:
        """Drop the data and its device copies (the model and history stay); ``fit`` cannot run again after."""
        self.data = None if self.data is None else self._data_info()
        for name in ("_train_x", "_train_y", "_val_x", "_val_y", "_views", "_probe_x"):
            self.__dict__.pop(name, None)
        self._prepared = False

    def trained(self, *, state: dict[str, torch.Tensor] | None = None, epoch: int | None = None) -> TrainedModel:
        """Return a CPU copy of the model in eval mode (every parameter requires grad) with what is needed to use it.

        ``state`` (e.g. ``ModelCheckpoint.best_state``) replaces the current weights in the copy; ``epoch``
        says which epoch they are from. Without them: the weights now, after the last finished epoch.
        """
        if self.model is None:
            raise ConfigError.from_key("errors.train_not_built")
        model = _copy_to_cpu(self.model)
        if state is not None:
            model.load_state_dict(state)
        d = self._data_info()
        done = self.history.epochs[-1].epoch if self.history.epochs else 0
        return TrainedModel(model, self.config, d.class_names, d.in_channels, d.image_size, self.mean, self.std,
                            d.name, done if epoch is None else epoch, state is None)  # fmt: skip

    def _data_info(self) -> DataInfo:
        d = self.data
        return DataInfo(str(getattr(d, "name", "") or self.config.dataset), tuple(d.class_names),
                        int(d.in_channels), int(d.image_size), self.mean, self.std)  # fmt: skip

    # -- preparation --------------------------------------------------------------------------

    def prepare(self) -> None:
        """Load the data, build and initialise the model, move everything to the device."""
        if self._prepared:
            return
        c = self.config
        if self.data is None:
            self.data = self.loader(c)
        elif c.val_fraction > 0:
            self.data = split_by_fraction(self.data, c.val_fraction, seed=c.seed)
        d = self.data
        with _GLOBAL_RNG_LOCK:  # initial weights come from torch's global generator: seed and draw atomically
            torch.manual_seed(self.config.seed)  # then dropout draws from it too (reproducible for a lone run)
            if self.model is None:
                self.model = _build_model(self.config, d)
        self.model.to(self.device)
        _check_model_fits(self.model, d, self.config.model, self.device, self.task)
        self.mean, self.std = _normalisation(self.config, d)
        self.history.class_names = tuple(d.class_names)
        self._gen = torch.Generator().manual_seed(self.config.seed)
        self._load_tensors(d)
        self._optimizer = _make_optimizer(self.config, [p for p in self.model.parameters() if p.requires_grad])
        self._autocast, self._scaler = _precision(self.config.precision, self.device)
        self.steps_per_epoch = max(self._train_x.shape[0] // self.config.batch_size, 1)  # full batches only
        self._window, self._epoch_sums = StepSums(self.device), StepSums(self.device)
        self.total_steps = self.steps_per_epoch * self.config.epochs
        self._scheduler = _make_scheduler(self.config, self._optimizer, self.total_steps, self.steps_per_epoch)
        self._prepared = True

    def _load_tensors(self, d: Any) -> None:
        pin = self.device.type == "cuda"
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        aug = self.config.augmentation  # colour changes and rotation's black corners are defined on [0, 1] images
        self._norm_each_batch = aug.color_jitter > 0 or aug.rotation > 0 or aug.noise > 0

        def move(t: torch.Tensor) -> torch.Tensor:
            t = t.pin_memory() if pin else t
            return t.to(self.device, non_blocking=pin)

        layout = CHANNELS_LAST and d.train_x.dim() == 4 and any(isinstance(m, nn.Conv2d) for m in self.model.modules())
        form = torch.channels_last if layout else torch.contiguous_format

        def normalised(x: torch.Tensor) -> torch.Tensor:  # a copy in the training layout, normalised in place
            return x.clone(memory_format=form).sub_(mean).div_(std)

        train_x = d.train_x.contiguous(memory_format=form) if self._norm_each_batch else normalised(d.train_x)
        self._train_x, self._train_y = move(train_x), move(d.train_y)  # (N, C, H, W), (N,)
        noisy = fixed_noise(d.val_x, self.config.val_noise, self.config.seed + VAL_NOISE_SEED_OFFSET)
        self._val_x, self._val_y = move(normalised(noisy)), move(d.val_y)
        self._mean_dev, self._std_dev = mean.to(self.device), std.to(self.device)
        if layout:
            self.model.to(memory_format=torch.channels_last)
        probe = self.history.probe_index
        self._probe_x = self._val_x[probe : probe + 1]  # (1, C, H, W): the image whose first-layer maps are kept
        self._net, self._views = self.model, None  # what a step runs; the cached features of a frozen backbone
        if self.config.transfer:
            self._cache_features(d)

    def _cache_features(self, d: Any) -> None:
        """With a frozen backbone, replace the images by their features (computed once): only the head trains."""
        head = head_name(self.model)
        if not backbone_is_frozen(self.model, head):
            return
        c = self.config
        cache = cache_features(self.model, head, d, mean=self.mean, std=self.std, augmentation=c.augmentation,
                               generator=self._gen, device=self.device)  # fmt: skip
        self._views, self._train_x, self._val_x = cache.train, cache.train[0], cache.val  # (V, N, D), (N, D), ...
        self._norm_each_batch = False
        self._net = nn.Sequential(nn.Dropout(c.dropout), self.model.get_submodule(head))
        self.history.features = cache.projection

    # -- the loop -----------------------------------------------------------------------------

    def fit(self, callbacks: Iterable[Callback | Callable[..., Any]] = ()) -> History:
        """Train for ``config.epochs`` epochs (or until a callback stops) and return the history.

        Plain functions in ``callbacks`` are called as ``fn(trainer, epoch_stats)`` after each epoch.
        A NaN or infinite loss, or one 100× above chance level, ends the run with status DIVERGED, a
        message saying what to try, and the model restored to the last epoch with finite losses; the
        window in which it happened is still recorded in ``history.steps`` (see ``cnnviz.train.step_window``).
        """
        self.prepare()
        cbs = _as_callbacks(callbacks)
        if self.config.patience > 0:
            cbs.append(EarlyStopping(self.config.patience, monitor=self.config.monitor))
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
        if self._window.steps and self.history.status is None:  # stopped within a window: its steps count too
            self._close_window(self.history.epochs[-1].epoch if self.history.epochs else 1, cbs)
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
        train_loss, train_acc, samples = train
        train_seconds = time.perf_counter() - start - (self._idle - idle0)
        val_loss, val_acc = self._evaluate()
        if not math.isfinite(val_loss):
            self._bad_loss = val_loss
            return None
        seconds = time.perf_counter() - start - (self._idle - idle0)
        lr = self._optimizer.param_groups[0]["lr"]
        speed = samples / max(train_seconds, 1e-9)
        return EpochStats(epoch, train_loss, train_acc, val_loss, val_acc, lr, speed, seconds, self._grad_norm)

    def _train_steps(self, epoch: int, cbs: Sequence[Callback]) -> tuple[float, float, int] | None:
        """Run one epoch's steps; return its mean loss, accuracy and images, or None when the loss exploded.

        Every epoch shuffles the images and runs ``steps_per_epoch`` full batches (the images a batch
        cannot hold wait for another epoch's shuffle), so every step and every window sees as many images.
        """
        model, c, window = self._net, self.config, self._window
        model.train()
        _freeze_frozen_norms(model)
        if self._views is not None:  # cached features: each image as one of its views (augmentation)
            self._train_x = pick_views(self._views, self._gen)  # (N, D)
        perm = torch.randperm(self._train_x.shape[0], generator=self._gen).to(self.device, non_blocking=True)
        sums = self._epoch_sums
        sums.clear()
        for i in range(self.steps_per_epoch):
            start, idx = time.perf_counter(), perm[i * c.batch_size : (i + 1) * c.batch_size]
            self.global_step += 1
            sync = window_ends(self.global_step, c.sync_every, last=self.global_step == self.total_steps)
            loss, correct, scored, norm = self._step(idx, sync, i + 1 == self.steps_per_epoch)
            window.add(loss, idx.shape[0], correct, scored)
            sums.add(loss, idx.shape[0], correct, scored)
            window.seconds += time.perf_counter() - start
            if sync:
                self._grad_norm = norm
                if self._close_window(epoch, cbs):
                    return None
            else:
                for cb in cbs:
                    cb.on_step_end(self, None)
            if self.stop_training:
                break
        if sums.count == 0:
            return 0.0, 0.0, 0
        loss_v, acc_v = sums.means()
        if self._exploded(loss_v):  # in steps not yet read back: record their window, then stop
            if window.steps:
                self._close_window(epoch, cbs)
            return None
        return loss_v, acc_v, sums.count

    def _close_window(self, epoch: int, cbs: Sequence[Callback]) -> bool:
        """Record the open window's StepStats, hand it to the callbacks; True when its loss exploded."""
        stats, loss = window_stats(self._window, step=self.global_step, epoch=epoch,
                                   lr=self._optimizer.param_groups[0]["lr"], grad_norm=self._grad_norm,
                                   limit=self._loss_limit())  # fmt: skip
        self._window.clear()
        self.history.steps.append(stats)
        for cb in cbs:
            cb.on_step_end(self, stats)
        return self._exploded(loss)

    def _loss_limit(self) -> float:
        """The loss above which a run counts as diverged: EXPLODED_LOSS_FACTOR × chance level (ln classes)."""
        return EXPLODED_LOSS_FACTOR * math.log(max(len(self.history.class_names), 2))

    def _exploded(self, loss: float) -> bool:
        """True for a NaN/inf loss or one far above chance level (weights blown up); remembers the value."""
        if math.isfinite(loss) and loss <= self._loss_limit():
            return False
        self._bad_loss = loss
        return True

    def _step(self, idx: torch.Tensor, sync: bool, last: bool) -> tuple[torch.Tensor, torch.Tensor, int, float | None]:
        """One optimizer step on the images at ``idx``; returns loss, score and its count, grad norm if ``sync``.

        ``last``: the epoch's last step, whose gradients are summarised per layer for the page.
        """
        x, y = self._train_x[idx], self._train_y[idx]  # (B, C, H, W), (B,)
        aug = self.config.augmentation
        if aug.enabled and self._views is None:
            x = augment_batch(x, aug, self._gen)
        if self._norm_each_batch:
            x = (x - self._mean_dev) / self._std_dev
        with self._autocast():
            logits = self._net(x)  # (B, K) for classification; a task's own output otherwise
            loss = self.task.loss(logits, y)
        opt, scaler = self._optimizer, self._scaler
        opt.zero_grad(set_to_none=True)
        norm = None
        if scaler is not None:
            scaler.scale(loss).backward()
            if sync:
                scaler.unscale_(opt)
                norm = _grad_norm(opt)
        else:
            loss.backward()
            norm = _grad_norm(opt) if sync else None
        if last:
            self._gradients = gradient_summary(self.model)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        if self._scheduler is not None:
            self._scheduler.step()
        correct, scored = self.task.batch_score(logits, y)
        return loss.detach(), correct, scored, norm

    @torch.no_grad()
    def _predict(self, x: torch.Tensor, batch: int = 512, net: nn.Module | None = None) -> torch.Tensor:
        """Return logits (N, K) in float32 for normalised images ``x`` (or their cached features), in eval mode."""
        net = self._net if net is None else net
        net.eval()
        with self._autocast():
            out = [net(x[i : i + batch]).float() for i in range(0, x.shape[0], batch)]
        return torch.cat(out)

    def _evaluate(self) -> tuple[float, float]:
        return self.task.evaluate(self._predict(self._val_x), self._val_y)

    # -- snapshots, divergence and the final report --------------------------------------------

    def _snapshot(self, epoch: int) -> None:
        """Keep what the page shows of the network at the end of ``epoch`` (0 = before training)."""
        earlier = self.history.snapshots[0] if self._views is not None and self.history.snapshots else None
        shot = take_snapshot(self.model, self._probe_x, epoch, predict=lambda net, x: self._predict(x, net=net),
                             gradients=self._gradients if epoch else None, frozen_like=earlier)  # fmt: skip
        self._gradients = None
        if shot is not None:
            self.history.snapshots.append(shot)

    def _diverged(self, epoch: int, last_good: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(last_good)
        good = self.history.last_good_epoch
        kept = Phrase("errors.run_kept_epoch", {"epoch": good}) if good else Phrase("errors.run_kept_initial")
        bad, lr = self._bad_loss, self.config.learning_rate
        what = Phrase("errors.run_loss_exploded", {"loss": f"{bad:.3g}"}) if math.isfinite(bad) else Phrase(
            "errors.run_loss_not_finite")  # fmt: skip
        self.history.status = RunStatus.DIVERGED
        self.history.message = Phrase(
            "errors.run_diverged", {"epoch": epoch, "what": what, "lr": lr, "kept": kept, "smaller": lr / 10}
        )

    def _final_report(self) -> None:
        self.model.to(memory_format=torch.contiguous_format)  # the trained model leaves in the usual layout
        self.task.report(self._predict(self._val_x), self._val_y, self.history)
        self.model.eval()
