"""The one place that hooks into a network: capture layer outputs or record each call, and always clean up.

Every helper here goes through ``_forward_hooks``: it sets eval mode, registers the hooks, and in
``finally`` removes every handle and restores the mode, also when the body raises (the exception
propagates)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from cnnviz.errors import ConfigError

__all__ = [
    "LayerCall",
    "capture_activations",
    "conv_layer_names",
    "forward_to_layer",
    "layer_names",
    "observe_calls",
    "record_calls",
    "run_with_activations",
]

Hook = Callable[[nn.Module, tuple, object], object]  # register_forward_hook's (module, inputs, output) → output | None


@dataclass(frozen=True)
class LayerCall:
    """One call of a layer during a forward pass: what went in and what came out."""

    name: str  # module name
    module: nn.Module
    in_shape: tuple[int, ...]  # shape of the first input tensor, e.g. (N, C, H, W)
    out_shape: tuple[int, ...]  # shape of the output tensor


def layer_names(model: nn.Module) -> list[str]:
    """Return the names of the model's leaf modules (the layers a learner sees), in definition order."""
    return [name for name, module in model.named_modules() if name and not any(True for _ in module.children())]


def conv_layer_names(model: nn.Module) -> list[str]:
    """Return the names of every ``nn.Conv2d`` in the model, in definition order."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def _resolve_layers(model: nn.Module, layers: Sequence[str] | str | None) -> dict[str, nn.Module]:
    """Map layer names to modules; raise ConfigError listing the valid names for an unknown one."""
    modules = dict(model.named_modules())
    modules.pop("", None)
    if layers is None:
        return {name: modules[name] for name in layer_names(model)}
    if isinstance(layers, str):
        layers = [layers]
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise ConfigError.from_key("errors.layer_unknown", layers=", ".join(unknown), model=type(model).__name__,
                                   known=", ".join(layer_names(model)) or "—")  # fmt: skip
    return {name: modules[name] for name in layers}


@contextmanager
def _forward_hooks(model: nn.Module, hooks: dict[str, tuple[nn.Module, Hook]]) -> Iterator[None]:
    """Set eval mode and register ``hooks`` (name → (module, hook)); always remove them and restore the mode."""
    was_training = model.training
    handles = []
    try:
        model.eval()
        for module, hook in hooks.values():
            handles.append(module.register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)


@contextmanager
def _hooked(model: nn.Module, layers: Sequence[str] | str | None, *, detach: bool) -> Iterator[dict[str, Tensor]]:
    """Register forward hooks storing each layer's output; always remove them and restore the mode.

    ``detach=True`` stores a detached copy (safe against later in-place ops such as ReLU(inplace)).
    ``detach=False`` stores the output itself, still in the graph, and hands a clone downstream so an
    in-place op cannot rewrite the stored tensor; gradients w.r.t. it can then be taken.
    """
    store: dict[str, Tensor] = {}

    def make_hook(name: str) -> Hook:
        def hook(_module: nn.Module, _inputs: tuple, output: object) -> Tensor | None:
            if not isinstance(output, Tensor):
                return None  # tuples (e.g. RNNs) are outside what this app shows
            if detach:
                store[name] = output.detach().clone()
                return None
            store[name] = output
            return output.clone()

        return hook

    modules = _resolve_layers(model, layers)
    with _forward_hooks(model, {name: (module, make_hook(name)) for name, module in modules.items()}):
        yield store


@contextmanager
def capture_activations(model: nn.Module, layers: Sequence[str] | str | None = None) -> Iterator[dict[str, Tensor]]:
    """Capture the outputs of ``layers`` (default: every leaf layer) during forward passes in the body.

    Sets eval mode inside the block and restores the previous mode afterwards; removes every hook
    even when the body raises (the exception propagates). Yields a dict name → detached output
    tensor, filled as the body runs the model, in execution order. Raises ConfigError (a
    ValueError) for an unknown layer name; the message lists the valid names.
    """
    with _hooked(model, layers, detach=True) as store:
        yield store


@contextmanager
def record_calls(model: nn.Module, layers: Sequence[str] | str | None = None) -> Iterator[list[LayerCall]]:
    """Record every call of ``layers`` (default: every leaf layer) in the body: input and output shapes, in order.

    A layer called twice appears twice. Calls whose first input or output is not a tensor are left
    out. Same mode and clean-up guarantees as ``capture_activations``; ConfigError for an unknown layer.
    """
    calls: list[LayerCall] = []

    def make_hook(name: str) -> Hook:
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            if inputs and isinstance(inputs[0], Tensor) and isinstance(output, Tensor):
                calls.append(LayerCall(name, module, tuple(inputs[0].shape), tuple(output.shape)))

        return hook

    modules = _resolve_layers(model, layers)
    with _forward_hooks(model, {name: (module, make_hook(name)) for name, module in modules.items()}):
        yield calls


@contextmanager
def observe_calls(
    model: nn.Module, layers: Sequence[str] | str | None, observer: Callable[[str, nn.Module, tuple, object], None]
) -> Iterator[None]:
    """Call ``observer(name, module, inputs, output)`` after every call of ``layers`` (default: every leaf) in the body.

    The observer sees the tensors themselves (it must not change them; its return value is ignored).
    Same mode and clean-up guarantees as ``capture_activations``; ConfigError for an unknown layer.
    """

    def make_hook(name: str) -> Hook:
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            observer(name, module, inputs, output)

        return hook

    modules = _resolve_layers(model, layers)
    with _forward_hooks(model, {name: (module, make_hook(name)) for name, module in modules.items()}):
        yield


def run_with_activations(model: nn.Module, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """Run one forward pass without gradients; return the output and every leaf layer's activation.

    x: (N, C, H, W). Returns (logits (N, K), {name: activation}) with activations in execution order.
    """
    with capture_activations(model) as acts, torch.no_grad():
        logits = model(x)
    return logits.detach(), dict(acts)


class _LayerReached(Exception):
    """Raised by forward_to_layer's hook once its layer has given its output: the rest is not run."""


def forward_to_layer(model: nn.Module, layer: str, x: Tensor) -> Tensor:
    """Run ``model`` on ``x`` only as far as ``layer``; return that layer's output, still in the graph.

    The layers after it are not run, so ``x`` may have any size the layers up to ``layer`` accept
    (TinyVGG's classifier wants 64×64; its conv layers take 128×128). Same mode and clean-up guarantees
    as ``capture_activations``. Raises ConfigError for an unknown layer or one the forward pass never calls.
    """
    store: dict[str, Tensor] = {}

    def hook(_module: nn.Module, _inputs: tuple, output: object) -> None:
        if isinstance(output, Tensor):
            store[layer] = output
            raise _LayerReached

    modules = _resolve_layers(model, layer)
    with _forward_hooks(model, {layer: (modules[layer], hook)}):
        try:
            model(x)
        except _LayerReached:
            pass
    if layer not in store:
        raise ConfigError.from_key("errors.layer_not_reached", layer=layer)
    return store[layer]
