"""Display names in the session's language for things the core names by a data label.

The data labels stay as they are (``"circle"``, ``"tinyvgg"``, the folder names of a user's zip);
what a learner reads comes from the catalogs: ``labels.class.<dataset>.<label>``,
``labels.dataset.<name>``, ``labels.model.<name>``, ``labels.sample.<stem>``. A label without a
display name (a class folder of the user's own zip) is shown as it is: that is its name. A
registry model's description is shown from ``labels.model_description.<name>``.
"""

from __future__ import annotations

from cnnviz.i18n import load_catalog
from cnnviz.nets import MODELS, ModelSpec
from cnnviz.ui.base import t

__all__ = ["class_label", "dataset_label", "display_name", "model_description", "model_label", "sample_label"]


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


def model_description(spec: ModelSpec) -> str:
    """A model's one-line description in the session's language.

    A registry model's own (English) description is shown translated; a description set elsewhere
    (a model trained in this session says how it was trained), or one without a translation, is
    shown as it is.
    """
    entry = MODELS.get(spec.name)
    key = f"labels.model_description.{spec.name}"
    if entry is not None and entry.spec.description == spec.description and key in load_catalog():
        return t(key)
    return spec.description
