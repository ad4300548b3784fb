"""The parts a run is assembled from: the model (or a bundled one with a new head), optimizer, schedule, precision."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from cnnviz.arch.builder_modules import build_network
from cnnviz.errors import ConfigError, Phrase
from cnnviz.nets.registry import available_models, build, get_spec
from cnnviz.train.callbacks import Callback, LambdaCallback
from cnnviz.train.config import BUILT_MODEL, InitName, OptimizerName, Precision, Schedule, TrainConfig, precision_plan

__all__: list[str] = []


_GLOBAL_RNG_LOCK = threading.Lock()  # two jobs building models at once must not interleave seeding and drawing


def _as_callbacks(callbacks: Iterable[Callback | Callable[..., Any]]) -> list[Callback]:
    out: list[Callback] = []
    for cb in callbacks:
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb):
            out.append(LambdaCallback(on_epoch_end=cb))
        else:
            raise ConfigError.from_key("errors.train_bad_callback", callback=type(cb).__name__)
    return out


def _build_model(config: TrainConfig, data: Any) -> nn.Module:
    """Build the registry model for the data (or the bundled one with a new head for transfer, or the builder's)."""
    if config.model == BUILT_MODEL:
        model = _built_network(config, data)
        _init_weights(model, config.init)
        return model
    names = available_models()
    if config.model not in names:
        raise ConfigError.from_key("errors.train_unknown_model", model=config.model, models=", ".join(names))
    num_classes = len(data.class_names)
    if not config.transfer:
        model = build(
            config.model, num_classes=num_classes, in_channels=int(data.in_channels),
            image_size=int(data.image_size), batch_norm=config.batch_norm, dropout=config.dropout,
        )  # fmt: skip
        _init_weights(model, config.init)
        return model
    spec = get_spec(config.model)
    if (spec.in_channels, spec.image_size) != (int(data.in_channels), int(data.image_size)):
        raise ConfigError.from_key(
            "errors.train_transfer_size", model=config.model, size=spec.image_size, mode=_colour(spec.in_channels),
            data_size=int(data.image_size), data_mode=_colour(int(data.in_channels)),
        )  # fmt: skip
    model = build(config.model, weights="bundled", dropout=config.dropout)
    head = _replace_head(model, num_classes)
    _init_weights(head, config.init)
    return model


def _built_network(config: TrainConfig, data: Any) -> nn.Module:
    """The network builder's rows built for the data's channels, size and classes (ConfigError naming a bad row)."""
    return build_network(config.architecture, in_channels=int(data.in_channels), image_size=int(data.image_size),
                         num_classes=len(data.class_names))  # fmt: skip


def _colour(in_channels: int) -> Phrase:
    """'grayscale' or 'RGB colour', translatable (the models take 1 or 3 channels)."""
    return Phrase("errors.colour_gray" if in_channels == 1 else "errors.colour_rgb")


def _replace_head(model: nn.Module, num_classes: int) -> nn.Linear:
    """Freeze convolutions and norms, and swap the last Linear layer for a new one with ``num_classes`` outputs."""
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ConfigError.from_key("errors.train_no_head")
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
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None and not m.weight.requires_grad:
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


def _check_model_fits(model: nn.Module, data: Any, name: str, device: torch.device, task: Any) -> None:
    """Run two images through the model; raise ConfigError if their size or channels, or the output, do not fit."""
    probe = data.train_x[:2].to(device)  # (2, C, H, W)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(probe)
    except RuntimeError as err:
        raise ConfigError.from_key("errors.train_model_does_not_fit", model=name, size=int(data.image_size),
                                   mode=_colour(int(data.in_channels))) from err  # fmt: skip
    finally:
        model.train(was_training)
    task.check_output(out, data, name)


def _normalisation(config: TrainConfig, data: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean/std: the bundled model's for transfer learning, else the data set's (or computed)."""
    if config.transfer:
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
        raise ConfigError.from_key("errors.train_nothing_trainable")
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


def _make_scheduler(c: TrainConfig, opt: torch.optim.Optimizer, total_steps: int, steps_per_epoch: int = 1) -> Any:
    """The learning-rate schedule, stepped after every optimizer step (None for a constant rate)."""
    if c.schedule is Schedule.STEP:
        return torch.optim.lr_scheduler.StepLR(opt, step_size=c.step_every * steps_per_epoch, gamma=c.step_gamma)
    if c.schedule is Schedule.COSINE:
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    if c.schedule is Schedule.ONE_CYCLE:
        cycle_momentum = c.optimizer in (OptimizerName.MOMENTUM, OptimizerName.NESTEROV, OptimizerName.ADAM,
                                         OptimizerName.ADAMW)  # fmt: skip
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=c.learning_rate, total_steps=total_steps + 1, pct_start=c.warmup, cycle_momentum=cycle_momentum
        )
    return None


def _precision(precision: Precision, device: torch.device) -> tuple[Callable[[], Any], Any]:
    """Return (autocast context factory, GradScaler or None) as ``config.precision_plan`` says for the device."""
    plan = precision_plan(precision, device)
    if plan.autocast_dtype is None:
        return contextlib.nullcontext, None
    scaler = torch.amp.GradScaler(device.type) if plan.grad_scaler else None
    return (lambda: torch.autocast(device.type, dtype=plan.autocast_dtype)), scaler


def _grad_norm(opt: torch.optim.Optimizer) -> float:
    grads = [p.grad.detach() for group in opt.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads])))


def _copy_to_cpu(model: nn.Module) -> nn.Module:
    clone = copy.deepcopy(model).to("cpu").eval()
    for p in clone.parameters():
        p.requires_grad_(True)  # unfrozen, so gradient tools (Grad-CAM, saliency) work on the copy
    return clone
