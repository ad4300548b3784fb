"""The layout: packages by concept, each naming its API, all re-exported once by the root."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cnnviz

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"foundations", "conv", "data", "nets", "explain", "train", "arch", "detect", "segment", "ui"}


def test_public_names_are_reexported_once() -> None:
    counts = Counter(cnnviz.__all__)
    assert [name for name, n in counts.items() if n > 1] == []
    for package in cnnviz.PACKAGES:
        for module in getattr(package, "MODULES", (package,)):
            for name in module.__all__:
                assert getattr(cnnviz, name) is getattr(module, name), f"{module.__name__}.{name}"


def test_every_core_module_belongs_to_its_package_api() -> None:
    """A module left out of its package's MODULES would keep its names out of the root."""
    for package in cnnviz.PACKAGES:
        if not hasattr(package, "MODULES"):
            continue
        folder = Path(package.__file__).parent
        on_disk = {p.stem for p in folder.glob("*.py")} - {"__init__"}
        listed = {m.__name__.rsplit(".", 1)[1] for m in package.MODULES}
        assert on_disk - listed <= {"bundled"}, f"{package.__name__}: {sorted(on_disk - listed)} not in MODULES"


def test_the_core_is_packages_by_concept() -> None:
    folders = {p.name for p in (ROOT / "cnnviz").iterdir() if (p / "__init__.py").is_file()}
    assert folders == PACKAGES
    top = {p.stem for p in (ROOT / "cnnviz").glob("*.py")}
    assert top == {"__init__", "errors", "i18n", "device", "render"}


def test_modules_stay_small() -> None:
    """One idea per module: about 400 lines at most."""
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in (ROOT / "cnnviz").rglob("*.py")
    }
    assert {path: n for path, n in sizes.items() if n > 420} == {}


def test_core_entry_points_are_reachable_from_the_package() -> None:
    assert cnnviz.conv_output_size(7, 3, stride=2, padding=1) == 4
    assert cnnviz.conv_output_size is cnnviz.conv.conv_output_size
    assert issubclass(cnnviz.ConfigError, ValueError)
    for name in ("load_image", "build", "capture_activations", "Trainer", "TrainingJob", "grad_cam", "load_dataset"):
        assert callable(getattr(cnnviz, name)), name
