"""Feature-visualisation page in AppTest: a quick run in English and Korean, the kept result, the top patches."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.nets import available_models, get_spec
from cnnviz.ui.feature_vis import RESULTS_KEY, vis_models
from tests.text_checks import english_sentences

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # two threads on a busy 2-core box wait on each other
ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "feature_visualization.py")
QUICK = {"feature_vis_size": 32, "feature_vis_steps": 10}  # a run of a second or so


def _page(lang: str = "en", **state: object) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["lang"] = lang
    for key, value in {**QUICK, **state}.items():
        at.session_state[key] = value
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_the_networks_offered_are_those_with_weights_efficientnet_first() -> None:
    expected = [name for name in available_models() if get_spec(name).has_bundled_weights]
    assert sorted(vis_models()) == sorted(expected) and "tinyvgg" in expected
    if "efficientnet_lite0" in expected:
        assert vis_models()[0] == "efficientnet_lite0"


def test_a_quick_run_grows_a_picture_and_keeps_it_in_english_and_korean() -> None:
    for lang in ("en", "ko"):
        at = _page(lang, feature_vis_model="tinyvgg")
        _ok(at)
        assert at.info, "before a run the page says to press the button"
        at.button(key="feature_vis_run").click().run()
        _ok(at)
        results = at.session_state[RESULTS_KEY]
        assert len(results) == 1
        ((choice, result),) = results.items()
        assert (choice.model, choice.config.size, choice.config.steps) == ("tinyvgg", 32, 10)
        assert result.image.shape == (32, 32, 3) and len(result.activations) == 10
        assert not at.info  # the kept result is shown instead of the hint
        at.run()  # a rerun with the same settings shows the kept result without running again
        _ok(at)
        assert at.session_state[RESULTS_KEY][choice] is result
        if lang == "ko":
            assert english_sentences(at) == []


def test_a_new_setting_asks_for_a_new_run_and_the_efficientnet_page_loads() -> None:
    at = _page(feature_vis_model="tinyvgg")
    at.button(key="feature_vis_run").click().run()
    at.slider(key="feature_vis_seed").set_value(3).run()
    _ok(at)
    assert at.info  # these settings have no result yet
    first = vis_models()[0]
    at = _page("ko", feature_vis_model=first)
    _ok(at)
    assert english_sentences(at) == []


def test_a_layer_with_one_channel_shows_the_channel_as_text(monkeypatch) -> None:
    from cnnviz.ui import feature_vis

    monkeypatch.setattr(feature_vis, "_layers", lambda name: {"block1.conv1": 1})  # as a 1-channel layer would be
    at = _page(feature_vis_model="tinyvgg", feature_vis_channel=4)  # a value kept from a wider layer
    _ok(at)
    assert not [s for s in at.slider if s.key == "feature_vis_channel"]
    at.button(key="feature_vis_run").click().run()
    _ok(at)
    (choice,) = at.session_state[RESULTS_KEY]
    assert (choice.layer, choice.channel) == ("block1.conv1", 0)
