"""The one place that hooks into a network: capture every layer's output, and always clean up.

``hooked`` registers forward hooks, sets eval mode, and in ``finally`` removes every handle and
restores the mode, also when the body raises (the exception propagates)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

__all__ = ["capture_activations", "conv_layer_names", "layer_names", "run_with_activations"]


def layer_names(model: nn.Module) -> list[str]:
    """Return the names of the model's leaf modules (the layers a learner sees), in definition order."""
    return [name for name, module in model.named_modules() if name and not any(True for _ in module.children())]


def conv_layer_names(model: nn.Module) -> list[str]:
    """Return the names of every ``nn.Conv2d`` in the model, in definition order."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def _resolve_layers(model: nn.Module, layers: Sequence[str] | str | None) -> dict[str, nn.Module]:
    """Map layer names to modules; raise ValueError listing the valid names for an unknown one."""
    modules = dict(model.named_modules())
    modules.pop("", None)
    if layers is None:
        return {name: modules[name] for name in layer_names(model)}
    if isinstance(layers, str):
        layers = [layers]
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise ValueError(
            f"Layer(s) {unknown} not found in {type(model).__name__}. "
            f"Use one of: {', '.join(layer_names(model)) or '(no layers)'}."
        )
    return {name: modules[name] for name in layers}


@contextmanager
def _hooked(model: nn.Module, layers: Sequence[str] | str | None, *, detach: bool) -> Iterator[dict[str, Tensor]]:
    """Register forward hooks storing each layer's output; always remove them and restore the mode.

    ``detach=True`` stores a detached copy (safe against later in-place ops such as ReLU(inplace)).
    ``detach=False`` stores the output itself, still in the graph, and hands a clone downstream so an
    in-place op cannot rewrite the stored tensor; gradients w.r.t. it can then be taken.
    """
    modules = _resolve_layers(model, layers)
    store: dict[str, Tensor] = {}

    def make_hook(name: str):
        def hook(_module: nn.Module, _inputs: tuple, output: object) -> Tensor | None:
            if not isinstance(output, Tensor):
                return None  # tuples (e.g. RNNs) are outside what this app shows
            if detach:
                store[name] = output.detach().clone()
                return None
            store[name] = output
            return output.clone()

        return hook

    was_training = model.training
    handles = []
    try:
        model.eval()
        for name, module in modules.items():
            handles.append(module.register_forward_hook(make_hook(name)))
        yield store
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)


@contextmanager
def capture_activations(model: nn.Module, layers: Sequence[str] | str | None = None) -> Iterator[dict[str, Tensor]]:
    """Capture the outputs of ``layers`` (default: every leaf layer) during forward passes in the body.

    Sets eval mode inside the block and restores the previous mode afterwards; removes every hook
    even when the body raises (the exception propagates). Yields a dict name → detached output
    tensor, filled as the body runs the model, in execution order. Raises ValueError for an unknown
    layer name (the message lists the valid names).
    """
    with _hooked(model, layers, detach=True) as store:
        yield store


def run_with_activations(model: nn.Module, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """Run one forward pass without gradients; return the output and every leaf layer's activation.

    x: (N, C, H, W). Returns (logits (N, K), {name: activation}) with activations in execution order.
    """
    with capture_activations(model) as acts, torch.no_grad():
        logits = model(x)
    return logits.detach(), dict(acts)
