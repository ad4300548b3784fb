"""Look inside a network: activations, filters, predictions, Grad-CAM, saliency, receptive fields.

All hook plumbing lives here, in one context manager (``_hooked``) that always removes its hooks
and restores the model's train/eval mode, also when the forward pass raises.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnviz.arithmetic import LayerKind, LayerSpec, receptive_window, walk_stack

__all__ = [
    "Box",
    "GradCam",
    "LayerGeometry",
    "Prediction",
    "capture_activations",
    "conv_filters",
    "conv_layer_names",
    "filter_map_pairs",
    "filter_rgb",
    "filter_tiles",
    "grad_cam",
    "input_image",
    "source_conv",
    "spatial_activations",
    "grad_cam_all",
    "layer_names",
    "ReceptiveField",
    "receptive_field",
    "run_with_activations",
    "saliency",
    "spatial_layers",
    "top_activating_images",
    "top_k_predictions",
]

_SPATIAL = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)  # layers that change where a unit looks


# --------------------------------------------------------------------------- hooks


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


def input_image(x: Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Undo the normalisation of one model input: (1, C, H, W) → (H, W, 3) uint8, what the model sees.

    A one-channel input comes back as grey RGB.
    """
    _check_single(x)
    channels = x.shape[1]
    m = torch.tensor(mean, dtype=x.dtype).view(1, channels, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, channels, 1, 1)
    arr = (x.detach().cpu() * s + m).clamp(0, 1)[0].permute(1, 2, 0).numpy()  # (H, W, C)
    arr = np.repeat(arr, 3, axis=2) if channels == 1 else arr
    return np.rint(arr * 255).astype(np.uint8)


def spatial_activations(acts: dict[str, Tensor]) -> dict[str, np.ndarray]:
    """Keep the layers whose output is a stack of maps; return name → (C, H, W) float32 of image 0."""
    return {name: a[0].float().cpu().numpy() for name, a in acts.items() if a.dim() == 4}


# --------------------------------------------------------------------------- filters and predictions


def conv_filters(model: nn.Module) -> dict[str, np.ndarray]:
    """Return every conv layer's weights as float32 arrays (C_out, C_in / groups, kH, kW), by name."""
    return {
        name: module.weight.detach().cpu().float().numpy().copy()
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d)
    }


def source_conv(model: nn.Module, layer: str) -> str | None:
    """Return the conv layer whose filters made ``layer``'s maps: itself, or the last conv defined before it.

    ReLU, batch norm and pooling keep the channels of the conv before them. Returns None when no
    conv comes before ``layer``. Raises ValueError for an unknown layer.
    """
    _resolve_layers(model, layer)
    convs = set(conv_layer_names(model))
    names = [name for name, _ in model.named_modules() if name]
    found = None
    for name in names[: names.index(layer) + 1]:
        if name in convs:
            found = name
    return found


def filter_rgb(weight: np.ndarray) -> np.ndarray:
    """Show 3-input-channel filters in colour: (C_out, 3, kH, kW) → (C_out, kH, kW, 3) uint8.

    Each filter is scaled on its own so that 0 is mid-grey and its largest |weight| reaches 0 or 255.
    Raises ValueError unless the filters have exactly 3 input channels.
    """
    if weight.ndim != 4 or weight.shape[1] != 3:
        raise ValueError(f"Colour filters need weights shaped (C_out, 3, kH, kW), got {weight.shape}.")
    w = np.moveaxis(weight.astype(np.float64), 1, -1)  # (C_out, kH, kW, 3)
    vmax = np.abs(w).reshape(len(w), -1).max(axis=1).reshape(-1, 1, 1, 1)
    unit = 0.5 + 0.5 * w / np.where(vmax > 0, vmax, 1.0)
    return np.clip(np.rint(unit * 255), 0, 255).astype(np.uint8)


def filter_tiles(weight: np.ndarray) -> np.ndarray:
    """Collapse each filter to one signed 2-D tile: mean over input channels, (C_out, kH, kW) float32."""
    if weight.ndim != 4:
        raise ValueError(f"Filters must be shaped (C_out, C_in, kH, kW), got {weight.shape}.")
    return weight.mean(axis=1).astype(np.float32)


def filter_map_pairs(tiles: np.ndarray, maps: np.ndarray, *, gap: int = 1) -> np.ndarray:
    """Put each filter tile next to its feature map: (C, kH, kW) + (C, H, W) → (C, H, W + gap + W).

    Both halves are scaled to [-1, 1] on their own (weights and activations have unrelated scales),
    the filter enlarged by nearest neighbour to the map's size; the gap is 0 (white). Use with
    ``render.montage(..., signed=True, vmax=1)``. Raises ValueError when the channel counts differ.
    """
    if tiles.ndim != 3 or maps.ndim != 3 or len(tiles) != len(maps):
        raise ValueError(f"Need as many filters as maps, got filters {tiles.shape} and maps {maps.shape}.")
    count, height, width = maps.shape
    rows = np.minimum(np.arange(height) * tiles.shape[1] // height, tiles.shape[1] - 1)
    cols = np.minimum(np.arange(width) * tiles.shape[2] // width, tiles.shape[2] - 1)
    big = tiles[:, rows][:, :, cols]  # (C, H, W) nearest-neighbour enlargement
    out = np.zeros((count, height, 2 * width + gap), np.float32)
    out[:, :, :width] = big / _max_abs(big)
    out[:, :, width + gap :] = maps / _max_abs(maps)
    return out


def _max_abs(arr: np.ndarray) -> float:
    vmax = float(np.abs(arr).max()) if arr.size else 0.0
    return vmax if vmax > 0 else 1.0


@dataclass(frozen=True)
class Prediction:
    index: int  # class index in the model's output
    label: str  # class name
    probability: float  # softmax probability in [0, 1]


def top_k_predictions(logits: Tensor, class_names: Sequence[str], *, k: int = 5) -> list[Prediction]:
    """Return the ``k`` most probable classes, most probable first, from logits (K,) or (1, K).

    Raises ValueError when the logits do not hold exactly one row of ``len(class_names)`` scores.
    """
    scores = logits.detach().float().reshape(-1) if logits.dim() == 1 or logits.shape[0] == 1 else None
    if scores is None or len(scores) != len(class_names):
        raise ValueError(
            f"Expected logits for one image over {len(class_names)} classes, got shape {tuple(logits.shape)}."
        )
    probs = torch.softmax(scores, dim=0)
    values, indices = probs.topk(min(int(k), len(scores)))
    return [Prediction(int(i), str(class_names[int(i)]), float(p)) for p, i in zip(values, indices, strict=True)]


# --------------------------------------------------------------------------- gradients


@dataclass(frozen=True)
class GradCam:
    layer: str  # conv layer the map was computed at
    target: int  # class index explained
    cam: np.ndarray  # (h, w) ReLU(sum_k alpha_k A_k) at the layer's resolution, not normalised
    heatmap: np.ndarray  # (H, W) cam upsampled bilinearly to the input size and scaled to [0, 1]


def _check_single(x: Tensor) -> None:
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"Expected one image shaped (1, C, H, W), got shape {tuple(x.shape)}.")


def grad_cam_all(model: nn.Module, x: Tensor, layers: Sequence[str], *, target: int | None = None) -> list[GradCam]:
    """Compute Grad-CAM at several conv layers with one forward and one backward pass.

    x: (1, C, H, W), not modified. ``target`` defaults to the predicted class. For each layer with
    activations A (K, h, w) and gradients G = d logit_target / dA: alpha_k = mean(G_k),
    cam = ReLU(sum_k alpha_k A_k). Parameter ``.grad`` fields are left untouched.
    Raises ValueError for an unknown layer, a batch of more than one image or a bad target.
    """
    _check_single(x)
    with _hooked(model, list(layers), detach=False) as store, torch.enable_grad():
        logits = model(x.detach())
        if target is None:
            target = int(logits[0].argmax())
        if not 0 <= target < logits.shape[1]:
            raise ValueError(f"Class {target} does not exist: this model has classes 0…{logits.shape[1] - 1}.")
        acts = [store[name] for name in layers]  # each (1, K, h, w)
        grads = torch.autograd.grad(logits[0, target], acts, allow_unused=True)
    results = []
    for name, act, grad in zip(layers, acts, grads, strict=True):
        grad = torch.zeros_like(act) if grad is None else grad
        alpha = grad.mean(dim=(2, 3), keepdim=True)  # (1, K, 1, 1)
        cam = torch.relu((alpha * act).sum(dim=1)).detach()  # (1, h, w)
        up = F.interpolate(cam[None], size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
        peak = float(up.max())
        heat = (up / peak if peak > 0 else up).clamp(0, 1)
        results.append(GradCam(name, target, cam[0].numpy(), heat.numpy()))
    return results


def grad_cam(model: nn.Module, x: Tensor, layer: str, *, target: int | None = None) -> GradCam:
    """Compute Grad-CAM for one class at one conv layer (see ``grad_cam_all``)."""
    return grad_cam_all(model, x, [layer], target=target)[0]


def saliency(model: nn.Module, x: Tensor, *, target: int | None = None) -> np.ndarray:
    """Return the plain gradient saliency map max_c |d logit_target / d x| as (H, W) float32.

    x: (1, C, H, W), not modified; ``target`` defaults to the predicted class. Mode is restored.
    """
    _check_single(x)
    with _hooked(model, [], detach=True), torch.enable_grad():
        image = x.detach().clone().requires_grad_(True)
        logits = model(image)
        target = int(logits[0].argmax()) if target is None else int(target)
        if not 0 <= target < logits.shape[1]:
            raise ValueError(f"Class {target} does not exist: this model has classes 0…{logits.shape[1] - 1}.")
        (grad,) = torch.autograd.grad(logits[0, target], image)
    return grad[0].abs().amax(dim=0).numpy()


# --------------------------------------------------------------------------- receptive fields


@dataclass(frozen=True)
class LayerGeometry:
    name: str  # module name
    kind: LayerKind  # conv, max or average pooling
    kernel_size: tuple[int, int]  # (kH, kW)
    stride: tuple[int, int]
    padding: tuple[int, int] | str  # zeros on each side, or "same" / "valid" (conv)
    dilation: tuple[int, int]
    ceil_mode: bool  # pooling rounds its output size up
    in_size: tuple[int, int]  # (H, W) of its input
    out_size: tuple[int, int]  # (H, W) of its output


@dataclass(frozen=True)
class Box:
    top: int  # first row, inclusive
    left: int  # first column, inclusive
    bottom: int  # last row + 1
    right: int  # last column + 1

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def clip(self, height: int, width: int) -> Box:
        """Return the part of the box inside an image of ``height`` × ``width`` pixels."""
        return Box(max(self.top, 0), max(self.left, 0), min(self.bottom, height), min(self.right, width))


@dataclass(frozen=True)
class ReceptiveField:
    layer: str
    row: int
    col: int
    box: Box  # input pixels the unit can see, clipped to the image
    full: Box  # the same before clipping (may reach into the zero padding)
    size: tuple[int, int]  # (h, w) of the full receptive field
    jump: tuple[int, int]  # input pixels between neighbouring units of this layer


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _geometry(name: str, module: nn.Module, in_size: tuple[int, int], out_size: tuple[int, int]) -> LayerGeometry:
    """Read kernel, stride, padding and dilation of a conv or pooling module as (h, w) pairs."""
    if isinstance(module, nn.Conv2d):
        kind = LayerKind.CONV
    else:
        kind = LayerKind.MAX_POOL if isinstance(module, nn.MaxPool2d) else LayerKind.AVG_POOL
    padding = module.padding if isinstance(module.padding, str) else _pair(module.padding)
    return LayerGeometry(
        name=name,
        kind=kind,
        kernel_size=_pair(module.kernel_size),
        stride=_pair(module.stride if module.stride is not None else module.kernel_size),
        padding=padding,
        dilation=_pair(getattr(module, "dilation", 1)),
        ceil_mode=bool(getattr(module, "ceil_mode", False)),
        in_size=in_size,
        out_size=out_size,
    )


def _trace(model: nn.Module, input_shape: Sequence[int], names: Sequence[str]) -> list[tuple]:
    """Run the model once on zeros; return (name, module, in_size, out_shape) per call, in execution order."""
    records: list[tuple] = []

    def make_hook(name: str):
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            if inputs and isinstance(inputs[0], Tensor) and isinstance(output, Tensor):
                records.append((name, module, tuple(inputs[0].shape[-2:]), tuple(output.shape)))

        return hook

    modules = _resolve_layers(model, list(names))
    with _hooked(model, [], detach=True):
        handles = [module.register_forward_hook(make_hook(name)) for name, module in modules.items()]
        try:
            with torch.no_grad():
                model(_zeros_like_input(model, input_shape))
        finally:
            for handle in handles:
                handle.remove()
    return records


def _zeros_like_input(model: nn.Module, input_shape: Sequence[int]) -> Tensor:
    """A zero image (1, C, H, W) on the model's device and in its dtype."""
    param = next(model.parameters(), None)
    if param is None:
        return torch.zeros(1, *input_shape)
    return torch.zeros(1, *input_shape, dtype=param.dtype, device=param.device)


def _walk_chain(records: Sequence[tuple], input_shape: Sequence[int], stop: str | None = None) -> list[LayerGeometry]:
    """Keep the conv/pooling records that continue the chain, up to the first call of ``stop``.

    A layer whose input size differs from the chain's current size (a residual shortcut run after
    the main path) is left out, so the chain follows the main path.
    """
    chain, size = [], tuple(int(s) for s in input_shape[-2:])
    for name, module, in_size, out_shape in records:
        if isinstance(module, _SPATIAL) and in_size == size:
            chain.append(_geometry(name, module, in_size, tuple(out_shape[-2:])))
            size = tuple(out_shape[-2:])
        if name == stop:
            break
    return chain


def spatial_layers(model: nn.Module, input_shape: Sequence[int]) -> list[LayerGeometry]:
    """Return the chain of conv and pooling layers an input of ``input_shape`` (C, H, W) goes through.

    Found by running the model once on zeros (execution order); the model's mode is restored.
    """
    names = [name for name, module in model.named_modules() if isinstance(module, _SPATIAL)]
    return _walk_chain(_trace(model, input_shape, names), input_shape)


def _stack_reports(chain: Sequence[LayerGeometry], input_shape: tuple[int, ...]) -> list:
    """Describe the chain with cnnviz.arithmetic (receptive field, jump and start of each layer)."""
    specs = [
        LayerSpec(
            kind=g.kind,
            out_channels=1 if g.kind is LayerKind.CONV else None,  # channels do not move a receptive field
            kernel_size=g.kernel_size,
            stride=g.stride,
            padding=g.padding,
            dilation=g.dilation,
            ceil_mode=g.ceil_mode,
        )
        for g in chain
    ]
    return walk_stack(specs, (1, *input_shape[-2:]))


def receptive_field(model: nn.Module, layer: str, row: int, col: int, *, input_shape: Sequence[int]) -> ReceptiveField:
    """Return the input pixels that unit (``row``, ``col``) of ``layer`` can see, for an input (C, H, W).

    Computed from the kernel sizes, strides, paddings and dilations of the conv and pooling layers
    up to ``layer`` (layers such as ReLU or BatchNorm see what the layer before them sees).
    Raises ValueError for an unknown layer, a layer without a spatial map or a unit outside the map.
    """
    input_shape = tuple(int(s) for s in input_shape)
    names = sorted({layer, *(n for n, m in model.named_modules() if isinstance(m, _SPATIAL))})
    records = _trace(model, input_shape, names)
    shapes = [out_shape for name, _, _, out_shape in records if name == layer]
    if not shapes or len(shapes[0]) != 4:
        got = shapes[0] if shapes else "not run"
        raise ValueError(f"Layer {layer!r} has no spatial map (output {got}): pick a conv, ReLU or pooling layer.")
    height, width = shapes[0][-2:]
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(
            f"Unit ({row}, {col}) is outside {layer!r}'s {height}×{width} map: use row 0…{height - 1}, "
            f"column 0…{width - 1}."
        )
    chain = _walk_chain(records, input_shape, stop=layer)
    if not chain:  # no conv or pooling before this layer: a unit sees one pixel
        full, size, jump = Box(row, col, row + 1, col + 1), (1, 1), (1, 1)
    else:
        last = _stack_reports(chain, input_shape)[-1]
        (top, bottom), (left, right) = receptive_window(last, (row, col))
        full, size, jump = Box(top, left, bottom + 1, right + 1), last.receptive_field, last.jump
    return ReceptiveField(layer, row, col, full.clip(*input_shape[-2:]), full, tuple(size), tuple(jump))


# --------------------------------------------------------------------------- data set images


def top_activating_images(
    model: nn.Module, layer: str, channel: int, images: Tensor, k: int = 8, *, batch_size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Find the ``k`` images that excite one channel of ``layer`` most (by the map's maximum).

    images: (N, C, H, W), already preprocessed as the model expects; not modified.
    Returns (indices (k,) int64, scores (k,) float32), strongest first.
    Raises ValueError for an unknown layer, a channel the layer does not have, or a non-spatial layer.
    """
    if images.dim() != 4 or len(images) == 0:
        raise ValueError(f"Expected a batch of images shaped (N, C, H, W), got shape {tuple(images.shape)}.")
    scores = []
    with capture_activations(model, layer) as acts, torch.no_grad():
        for start in range(0, len(images), batch_size):
            model(images[start : start + batch_size])
            act = acts[layer]  # (B, K, h, w)
            if act.dim() != 4:
                raise ValueError(f"Layer {layer!r} has no spatial map (output {tuple(act.shape)}).")
            if not 0 <= channel < act.shape[1]:
                raise ValueError(f"Layer {layer!r} has channels 0…{act.shape[1] - 1}, not {channel}.")
            scores.append(act[:, channel].amax(dim=(1, 2)))
    all_scores = torch.cat(scores)
    values, indices = all_scores.topk(min(int(k), len(all_scores)))
    return indices.numpy().astype(np.int64), values.numpy().astype(np.float32)
