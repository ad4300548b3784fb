"""The network-builder page in AppTest, English and Korean: rows planned beside the table, edits through the editor's
state, an impossible row explained on its own row while the page goes on, the code export, the hand-over to Live
training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from cnnviz.arch import build_network, preset_rows
from cnnviz.i18n import translate
from tests.text_checks import english_sentences

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "network_builder.py")
EDITOR = "network_builder_table_tinyvgg"  # the default example's table


def _open(lang: str = "en", edits: dict | None = None) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["lang"] = lang
    if edits is not None:
        app.session_state[EDITOR] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [], **edits}
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _plan_table(app: AppTest):
    return next(df.value for df in app.dataframe if df.proto.editing_mode == 0)  # the read-only one


def _metrics(app: AppTest, lang: str = "en") -> dict[str, str]:
    return {m.label: m.value for m in app.metric if m.label.startswith(translate("network_builder.total_params", lang))}


def test_every_row_shows_what_a_real_forward_pass_gives() -> None:
    app = _open()
    table = _plan_table(app)
    rows = preset_rows("tinyvgg")
    model = build_network(rows, in_channels=3, image_size=32, num_classes=10).eval()
    x, shapes, params = torch.zeros(1, 3, 32, 32), [], []
    for child in model.children():
        x = child(x)
        shapes.append("×".join(map(str, x.shape[1:])))
        params.append(sum(p.numel() for p in child.parameters()))
    assert list(table[translate("network_builder.col.output", "en")]) == shapes
    assert list(table[translate("network_builder.col.params", "en")]) == [f"{p:,}" for p in params]
    fields = list(table[translate("network_builder.col.field", "en")])
    assert fields[:3] == ["3×3", "3×3", "5×5"]  # conv, ReLU, conv: two 3×3 convolutions see 5×5 pixels
    total = sum(p.numel() for p in model.parameters())
    assert _metrics(app) == {translate("network_builder.total_params", "en"): f"{total:,}"}
    assert not app.error


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_an_impossible_edited_row_shows_its_reason_and_the_page_goes_on(lang: str) -> None:
    # Row 5 (the first max-pool) becomes a linear layer: its input is still a 10×32×32 map.
    app = _open(lang, {"edited_rows": {4: {"kind": "linear", "out": 5}}})
    errors = [e.value for e in app.error]
    assert len(errors) == 1
    assert errors[0].startswith(
        translate("network_builder.row_error", lang, number=5, kind=translate("errors.builder_kind.linear", lang),
                  shape="10×32×32", message="")[:12]
    )  # fmt: skip
    assert translate("errors.builder_needs_flat", lang, shape="10×32×32", features="10,240") in errors[0]
    checks = list(_plan_table(app)[translate("network_builder.col.check", lang)])
    status = {s: translate(f"network_builder.status.{s}", lang) for s in ("ok", "error", "skipped")}
    assert [c.split(" ", 1)[1] for c in checks] == [status["ok"]] * 4 + [status["error"]] + [status["skipped"]] * 7
    assert app.metric and any(translate("network_builder.partial_totals", lang) == c.value for c in app.caption)
    assert any(translate("network_builder.fix_first", lang) == i.value for i in app.info)  # no download of a broken net
    if lang == "ko":
        assert english_sentences(app) == []


def test_an_added_row_with_an_impossible_dropout_is_explained_on_its_row() -> None:
    app = _open("en", {"added_rows": [{"kind": "dropout", "p": 1.5}]})
    assert len(app.error) == 1 and "Row 13 (dropout, input 10)" in app.error[0].value
    assert "dropout p 1.5 is outside [0, 1)" in app.error[0].value


def test_a_deleted_row_replans_the_network() -> None:
    app = _open("en", {"deleted_rows": [10]})  # the flatten row: the linear layer now meets a map
    assert len(app.error) == 1 and "add a flatten row above it (it would give 640 values)" in app.error[0].value


def test_the_code_shown_and_downloaded_runs_and_send_hands_the_rows_to_live_training() -> None:
    app = _open("en")
    code = app.code[0].value
    namespace: dict = {}
    exec(compile(code, "<downloaded>", "exec"), namespace)
    model = namespace["model"]
    built = build_network(preset_rows("tinyvgg"), in_channels=3, image_size=32, num_classes=10)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in built.parameters())
    assert tuple(model(torch.zeros(2, 3, 32, 32)).shape) == (2, 10)
    downloads = [e for e in app.get("download_button")]
    assert len(downloads) == 2
    assert "builder_rows" not in app.session_state
    app.button(key="network_builder_send").click().run()
    assert not app.exception
    assert app.session_state["builder_rows"] == preset_rows("tinyvgg")
    assert any(translate("network_builder.sent", "en", n=12) == s.value for s in app.success)


def test_an_impossible_input_size_is_explained() -> None:
    app = _open("en")
    app.number_input(key="network_builder_channels_tinyvgg").set_value(0).run()
    assert not app.exception
    assert "input size 0 × 32 × 32 is not possible" in app.error[0].value


def test_the_korean_page_reads_korean() -> None:
    app = _open("ko")
    assert english_sentences(app) == []
    assert app.title[0].value == translate("network_builder.title", "ko")


def test_edits_survive_a_visit_to_another_page() -> None:
    app = _open("en", {"edited_rows": {0: {"out": 12}}})
    del app.session_state[EDITOR]  # what leaving the page does to a widget's state
    app.run()
    assert not app.exception
    assert _plan_table(app)[translate("network_builder.col.output", "en")][0] == "12×32×32"
    app.button(key="network_builder_reset").click().run()
    assert _plan_table(app)[translate("network_builder.col.output", "en")][0] == "10×32×32"


def test_a_saved_table_loads_into_the_editor_and_a_wrong_file_is_explained() -> None:
    app = _open("en")
    saved = json.dumps([{**r, "padding": 0} for r in preset_rows("lenet5")]).encode()  # a number, as a person may write
    app.file_uploader(key="network_builder_upload").upload("lenet.json", saved, "application/json").run()
    assert not app.exception
    assert list(_plan_table(app)[translate("network_builder.col.output", "en")])[:2] == ["6×28×28", "6×28×28"]
    assert app.success[0].value == translate("network_builder.loaded", "en", n=12)
    app.file_uploader(key="network_builder_upload").upload("bad.json", b"{not json", "application/json").run()
    assert not app.exception
    assert "is not a table saved by the network builder" in app.error[0].value
    assert list(_plan_table(app)[translate("network_builder.col.output", "en")])[0] == "6×28×28"  # table kept
