"""Named training configs that each tell one story (overfitting, too high a learning rate, batch sizes, ...).

Every preset is a plain ``TrainConfig``; the page copies its fields into the form, where each can be
changed. The stories (catalogs ``train.story.<name>``) give times measured with
``bench/bench_time_to_accuracy.py --presets`` on two CPU cores; their counts (images, parameters, sizes)
come from ``story_values``.
"""

from __future__ import annotations

from dataclasses import replace

from cnnviz.data.registry import dataset_info
from cnnviz.errors import ConfigError
from cnnviz.nets.registry import build, count_parameters
from cnnviz.train.config import Augmentation, OptimizerName, Schedule, TrainConfig, split_sizes

__all__ = ["PRESETS", "get_preset", "story_values"]

# TinyVGG with batch norm on shapes drawn at 32×32, AdamW with a one-cycle schedule (the fast default). Measured with
# bench/bench_time_to_accuracy.py (2 threads): at 32×32 an image costs a quarter of the 64×64 one, the linear head sees
# 250 features instead of 1,690 and overfits less; 64×64 with the same settings stays below 90 % after a minute.
_BASELINE = TrainConfig(
    model="tinyvgg", dataset="shapes", n_train=10_000, n_val=1000, image_size=32, epochs=6, batch_size=32,
    optimizer=OptimizerName.ADAMW, learning_rate=1e-2, schedule=Schedule.ONE_CYCLE, weight_decay=1e-4,
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


def story_values(name: str) -> dict[str, str]:
    """Return the counts a preset's story names, computed from the preset: images, side, folds, parameters.

    ``params`` is the preset's own network; ``tinyvgg_params`` and ``lenet5_params`` the two plain networks the
    underfitting and overfitting stories compare, at the preset's image size (built on the meta device: no memory).
    """
    config = get_preset(name)
    info = dataset_info(config.dataset)
    size = config.image_size or info.image_size

    def params(model: str, batch_norm: bool) -> str:
        net = build(model, num_classes=len(info.class_names), in_channels=info.in_channels, image_size=size,
                    batch_norm=batch_norm, device="meta")  # fmt: skip
        return f"{count_parameters(net):,}"

    n_train, n_val = split_sizes(config)
    return {
        "n_train": f"{n_train:,}", "n_val": f"{n_val:,}", "total": f"{config.n_train + config.n_val:,}",
        "size": str(size), "own_size": str(info.image_size), "folds": str(config.folds),
        "percent": f"{100 * config.val_fraction:.0f}", "params": params(config.model, config.batch_norm),
        "tinyvgg_params": params("tinyvgg", False), "lenet5_params": params("lenet5", False),
    }  # fmt: skip
