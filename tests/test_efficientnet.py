"""EfficientNet-Lite0: our readable network against the reference implementation, with the bundled weights."""

from __future__ import annotations

import pytest
import torch
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from torch import nn
from torchvision import transforms

from cnnviz.data import IMAGENET_MEAN, IMAGENET_STD, preprocess, preprocess_steps
from cnnviz.explain import receptive_field
from cnnviz.nets import MBConv, SameConv2d, build, count_parameters, efficientnet_lite0, get_spec
from cnnviz.nets.efficientnet import efficientnet_lite0_weights


@pytest.fixture(scope="module")
def ours() -> nn.Module:
    return build("efficientnet_lite0", weights="bundled")


@pytest.fixture(scope="module")
def reference() -> nn.Module:
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(efficientnet_lite0_weights(), map_location="cpu", weights_only=True), strict=True)
    return model.eval()


@pytest.mark.parametrize("size", [224, 160])
def test_logits_equal_the_reference_implementation(ours: nn.Module, reference: nn.Module, size: int) -> None:
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-4, rtol=0)


def test_the_weights_file_loads_strictly_with_its_own_key_layout() -> None:
    state = torch.load(efficientnet_lite0_weights(), map_location="cpu", weights_only=True)
    result = efficientnet_lite0().load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert sum(t.numel() for t in state.values()) == 4_694_073  # every number in the file, batch-norm statistics too


def test_parameter_count_matches_the_reference(ours: nn.Module, reference: nn.Module) -> None:
    assert count_parameters(ours) == sum(p.numel() for p in reference.parameters()) == 4_652_008
    blocks = [m for m in ours.modules() if isinstance(m, MBConv)]
    assert len(blocks) == 16 and sum(block.skip for block in blocks) == 9  # identity skip where shapes allow
    assert not any(isinstance(m, nn.Sigmoid | nn.SiLU) for m in ours.modules())  # no squeeze-excitation, no Swish


@pytest.mark.parametrize(("size", "kernel", "stride"), [(224, 3, 2), (112, 5, 2), (7, 3, 2), (14, 5, 1), (9, 1, 1)])
def test_same_padding_matches_tensorflow_same(size: int, kernel: int, stride: int) -> None:
    conv = SameConv2d(2, 2, kernel, stride=stride, bias=False)
    x = torch.randn(1, 2, size, size)
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)  # TF: out = ceil(in / stride)
    padded = nn.functional.pad(x, [total // 2, total - total // 2] * 2)
    torch.testing.assert_close(conv(x), nn.functional.conv2d(padded, conv.weight, stride=stride), atol=1e-6, rtol=0)
    assert conv(x).shape[-1] == -(-size // stride)


def test_photos_are_prepared_as_torchvision_evaluates_imagenet_weights() -> None:
    spec = get_spec("efficientnet_lite0")
    photo = Image.open("assets/samples/coffee.jpg")
    reference = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                    transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])  # fmt: skip
    torch.testing.assert_close(preprocess(spec, photo), reference(photo.convert("RGB"))[None], atol=1e-6, rtol=0)
    steps = preprocess_steps(spec, photo)
    assert min(steps.resized.size) == 256 and steps.cropped.size == (224, 224)


@pytest.mark.parametrize("size", [(12, 300), (300, 12)])
def test_a_strip_is_cut_before_resizing_and_still_prepared_as_torchvision_does(size: tuple[int, int]) -> None:
    """A 1:25 strip: the centre crop sees the same pixels as torchvision's, without the huge resized picture."""
    import numpy as np

    spec = get_spec("efficientnet_lite0")
    rng = np.random.default_rng(0)
    strip = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    reference = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                    transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])  # fmt: skip
    steps = preprocess_steps(spec, strip)
    assert max(steps.resized.size) <= 4 * 256  # torchvision's Resize makes it 256 × 6,400
    expected = reference(strip)[None]
    torch.testing.assert_close(steps.x, expected, atol=1e-5, rtol=0)


def test_receptive_field_follows_the_same_padding(ours: nn.Module) -> None:
    # the stem (3×3, stride 2, no zero on top/left at 224) lets unit (0, 0) see input rows/cols 0..2
    field = receptive_field(ours, "_conv_stem", 0, 0, input_shape=(3, 64, 64))
    assert (field.full.top, field.full.left, field.size) == (0, 0, (3, 3))
    # checked against the gradient: the input pixels that change the unit are the ones in its field
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    out = ours._blocks[2](ours._blocks[1](ours._blocks[0](ours._relu0(ours._bn0(ours._conv_stem(x))))))
    out[0, :, 5, 5].sum().backward()
    rows, cols = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
    field = receptive_field(ours, "_blocks.2", 5, 5, input_shape=(3, 64, 64))
    assert (int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1) == (
        field.box.top, field.box.bottom, field.box.left, field.box.right)  # fmt: skip


def test_the_manifest_names_the_package_its_licence_and_the_file_it_describes(ours: nn.Module) -> None:
    """The weights come from a named package: the manifest's hash and size are checked against the file itself."""
    import hashlib
    from importlib.metadata import files, version

    from cnnviz.nets import load_manifest

    manifest = load_manifest("efficientnet_lite0")
    assert manifest["sha256"] == hashlib.sha256(efficientnet_lite0_weights().read_bytes()).hexdigest()
    assert manifest["parameters"] == sum(p.numel() for p in ours.parameters())
    package, _, pinned = manifest["source"]["package"].partition("==")
    assert version(package) == pinned
    licence = next(f for f in files(package) if f.name == "LICENSE").read_text()
    assert "Apache License, Version 2.0" in licence and "Apache-2.0" in manifest["source"]["licence"]
