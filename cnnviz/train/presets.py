"""Named training configs that each tell one story (overfitting, too high a learning rate, batch sizes, ...)."""

from __future__ import annotations

from dataclasses import replace

from cnnviz.errors import ConfigError
from cnnviz.train.config import Augmentation, OptimizerName, Schedule, TrainConfig

__all__ = ["PRESETS", "get_preset"]

# TinyVGG with batch norm on shapes, AdamW with a one-cycle schedule: about 30 s on 2 idle CPU cores.
_BASELINE = TrainConfig(
    model="tinyvgg", dataset="shapes", n_train=2000, n_val=400, epochs=6, batch_size=64,
    optimizer=OptimizerName.ADAMW, learning_rate=1e-2, schedule=Schedule.ONE_CYCLE, weight_decay=1e-4,
    batch_norm=True,
)  # fmt: skip
_PLAIN = replace(_BASELINE, optimizer=OptimizerName.ADAM, learning_rate=3e-3, weight_decay=0.0, batch_norm=False)
_SMALL = replace(_PLAIN, n_train=160, epochs=40, batch_size=16, schedule=Schedule.CONSTANT)  # few images, long

PRESETS: dict[str, TrainConfig] = {
    "baseline": _BASELINE,
    "overfitting": _SMALL,
    "regularised": replace(
        _SMALL, optimizer=OptimizerName.ADAMW, weight_decay=0.05, dropout=0.3,
        augmentation=Augmentation(flip=True, crop=True, rotation=15.0, color_jitter=0.2),
    ),  # fmt: skip
    "high_lr": replace(_PLAIN, optimizer=OptimizerName.SGD, learning_rate=10.0, schedule=Schedule.CONSTANT),
    "batch_8": replace(_PLAIN, batch_size=8, epochs=3, schedule=Schedule.CONSTANT, learning_rate=1e-3),
    "batch_256": replace(_PLAIN, batch_size=256, epochs=3, schedule=Schedule.CONSTANT, learning_rate=1e-3),
}


def get_preset(name: str) -> TrainConfig:
    """Return the preset called ``name``; raise ConfigError listing the presets for an unknown one."""
    if name not in PRESETS:
        raise ConfigError.from_key("errors.train_unknown_preset", name=name, presets=", ".join(PRESETS))
    return PRESETS[name]
