"""Display names in the session's language for things the core names by a data label.

The data labels stay as they are (``"circle"``, ``"tinyvgg"``, the folder names of a user's zip);
what a learner reads comes from the catalogs: ``labels.class.<dataset>.<label>``,
``labels.dataset.<name>``, ``labels.model.<name>``, ``labels.sample.<stem>``. A label without a
display name (a class folder of the user's own zip) is shown as it is: that is its name.
"""

from __future__ import annotations

from cnnviz.i18n import load_catalog
from cnnviz.ui.base import t

__all__ = ["class_label", "dataset_label", "display_name", "model_label", "sample_label"]


def display_name(kind: str, *parts: str) -> str:
    """Return the translated name of ``labels.<kind>.<parts...>``, or the last part when none is defined."""
    key = ".".join(("labels", kind, *parts))
    return t(key) if key in load_catalog() else parts[-1]


def class_label(dataset: str, label: str) -> str:
    """A class's name for people, e.g. class_label("shapes", "circle") → "원" on a Korean page."""
    return display_name("class", dataset, label)


def dataset_label(name: str) -> str:
    """A data set's name for people ("shapes" → "Shapes (procedural)")."""
    return display_name("dataset", name)


def model_label(name: str) -> str:
    """A registry model's name for people ("tinyvgg" → "TinyVGG")."""
    return display_name("model", name)


def sample_label(stem: str) -> str:
    """A bundled sample photo's name for people ("cat" → "고양이" on a Korean page)."""
    return display_name("sample", stem)
