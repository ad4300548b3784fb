"""Keys the Foundations pages of part A (perceptron, activations, losses, optimizers) build with f-strings."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.foundations import ACTIVATION_FUNCTIONS, DEEP_ACTIVATIONS, LOSS_NAMES, LOSS_WITH_RESPECT_TO, SURFACES

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "optimizers.surface.{}": lambda: SURFACES,
    "optimizers.lesson.{}": lambda: SURFACES,
    "activations.name.{}": lambda: [*ACTIVATION_FUNCTIONS, *DEEP_ACTIVATIONS],
    "losses.wrt.{}": lambda: LOSS_WITH_RESPECT_TO,
    "losses.name.{}": lambda: LOSS_NAMES,
    "losses.grad_title.{}": lambda: LOSS_WITH_RESPECT_TO,
    "losses.metric_mse_grad.{}": lambda: LOSS_WITH_RESPECT_TO,
    "losses.metric_ce_grad.{}": lambda: LOSS_WITH_RESPECT_TO,
}
