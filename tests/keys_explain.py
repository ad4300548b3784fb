"""Keys the Feature-maps page, cnnviz.data, cnnviz.nets and cnnviz.explain build at run time, and their values' source.

The display names of ``cnnviz.ui.labels`` are listed from the registries themselves, so a new data set,
model or sample photo without display names in both languages fails the i18n test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.data import DATASETS, list_samples
from cnnviz.nets import MODELS

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "labels.model_description.{}": lambda: MODELS,
    "labels.model.{}": lambda: MODELS,
    "labels.dataset.{}": lambda: DATASETS,
    "labels.sample.{}": lambda: list_samples(),
    **{f"labels.class.{name}.{{}}": (lambda info=info: info.class_names) for name, info in DATASETS.items()},
}
