"""Named training configs that each tell one story (overfitting, too high a learning rate, batch sizes, ...).

Every preset is a plain ``TrainConfig``; the page copies its fields into the form, where each can be
changed. The stories (catalogs ``train.story.<name>``) give times measured with
``bench/bench_time_to_accuracy.py --presets`` on two CPU cores.
"""

from __future__ import annotations

from dataclasses import replace

from cnnviz.errors import ConfigError
from cnnviz.train.config import Augmentation, OptimizerName, Schedule, TrainConfig

__all__ = ["PRESETS", "get_preset"]

# TinyVGG with batch norm on shapes, AdamW with a one-cycle schedule (the fast default). Measured over 12,000 training
# images (one thread): batch 32 at 3e-3 reached 0.66 validation accuracy, batch 64 at 1e-2 0.61, in the same CPU time.
_BASELINE = TrainConfig(
    model="tinyvgg", dataset="shapes", n_train=3000, n_val=400, epochs=6, batch_size=32,
    optimizer=OptimizerName.ADAMW, learning_rate=3e-3, schedule=Schedule.ONE_CYCLE, weight_decay=1e-4,
    batch_norm=True,
)  # fmt: skip
_PLAIN = replace(
    _BASELINE,
    optimizer=OptimizerName.ADAM,
    learning_rate=3e-3,
    weight_decay=0.0,
    batch_norm=False,
    n_train=2000,
    batch_size=64,
)
_SMALL = replace(_PLAIN, n_train=160, epochs=40, batch_size=16, schedule=Schedule.CONSTANT)  # few images, long
_NOISE = 0.2  # std of the Gaussian noise of the noise stories, on the [0, 1] pixel scale

PRESETS: dict[str, TrainConfig] = {
    "baseline": _BASELINE,
    # the smallest network of the registry for shapes (TinyVGG: 16,538 parameters, against LeNet-5's 390,156;
    # the registry has no narrower one), without batch norm and for 2 epochs only: both accuracies stay low together
    "underfitting": replace(_PLAIN, epochs=2, schedule=Schedule.CONSTANT),
    # a network far too large for 160 images (LeNet-5 on 64×64 colour images: 390,156 parameters)
    "overfitting": replace(_SMALL, model="lenet5"),
    "regularised": replace(
        _SMALL,
        model="lenet5",
        optimizer=OptimizerName.ADAMW,
        weight_decay=0.05,
        dropout=0.3,
        augmentation=Augmentation(flip=True, crop=True, rotation=15.0, color_jitter=0.2),
    ),  # fmt: skip
    "high_lr": replace(
        _PLAIN, optimizer=OptimizerName.SGD, learning_rate=10.0, schedule=Schedule.CONSTANT, sync_every=1
    ),  # every step is drawn: the explosion step by step  # fmt: skip
    "low_lr": replace(_PLAIN, optimizer=OptimizerName.SGD, learning_rate=1e-5, epochs=2, schedule=Schedule.CONSTANT),
    # the same network and images twice, tested on noisy images: trained on clean ones, then on noisy ones
    "noisy_test": replace(_BASELINE, val_noise=_NOISE),
    "noise_trained": replace(_BASELINE, val_noise=_NOISE, augmentation=Augmentation(noise=_NOISE)),
    # validation as a share of one pool of images, and 5-fold cross-validation on a small set
    "val_fraction": replace(_BASELINE, n_train=2000, n_val=500, val_fraction=0.2),
    "kfold": replace(_BASELINE, n_train=400, n_val=100, epochs=4, folds=5),
    # the same run with 8 images per step, then with 256
    "batch_8": replace(_PLAIN, batch_size=8, epochs=3, schedule=Schedule.CONSTANT, learning_rate=1e-3),
    "batch_256": replace(_PLAIN, batch_size=256, epochs=3, schedule=Schedule.CONSTANT, learning_rate=1e-3),
}


def get_preset(name: str) -> TrainConfig:
    """Return the preset called ``name``; raise ConfigError listing the presets for an unknown one."""
    if name not in PRESETS:
        raise ConfigError.from_key("errors.train_unknown_preset", name=name, presets=", ".join(PRESETS))
    return PRESETS[name]
