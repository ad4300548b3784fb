"""The package re-exports every module's public names, without clashes."""

from __future__ import annotations

from collections import Counter

import cnnviz


def test_public_names_are_reexported_once() -> None:
    counts = Counter(cnnviz.__all__)
    assert [name for name, n in counts.items() if n > 1] == []
    for module in cnnviz._MODULES:
        for name in module.__all__:
            assert getattr(cnnviz, name) is getattr(module, name), f"{module.__name__}.{name}"


def test_core_entry_points_are_reachable_from_the_package() -> None:
    assert cnnviz.conv_output_size(7, 3, stride=2, padding=1) == 4
    assert issubclass(cnnviz.ConfigError, ValueError)
