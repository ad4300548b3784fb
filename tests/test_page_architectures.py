"""The Architectures page in AppTest: two networks side by side, the CSV is the summary, controls change the
table, EfficientNet-Lite0's own section, official weights (download faked, uploads made here), Korean text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import torch
import torchvision
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from cnnviz.arch import SOURCES, summarize
from cnnviz.errors import CheckpointError
from cnnviz.i18n import translate
from cnnviz.nets import build
from tests.text_checks import shown_texts, untranslated

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "architectures.py")


def _open(lang: str = "en", **state: object) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The files the page offers for download, by file name (recorded as Streamlit stores them)."""
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):  # noqa: ANN001, ANN202
        if filename is not None:
            files[filename] = path_or_data.encode() if isinstance(path_or_data, str) else path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return files


def _meta_summary(name: str, size: tuple[int, int, int]):
    with torch.device("meta"):
        return summarize(build(name), size)


def _first_shape(at: AppTest, slot: int) -> str:
    table = at.dataframe[slot].value
    return str(table[translate("architectures.col.output_shape", "en")].iloc[0])


def test_two_networks_side_by_side_and_the_csv_is_the_summary(downloads: dict[str, bytes]) -> None:
    at = _open("en")
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.subheader][:2] == ["VGG-16 · 3×224×224", "ResNet-18 · 3×224×224"]
    rows = list(csv.DictReader(io.StringIO(downloads["vgg16_224x224.csv"].decode())))
    reference = _meta_summary("vgg16", (3, 224, 224))
    assert [r["name"] for r in rows[:-1]] == [r.name for r in reference.rows]
    assert [int(r["macs"]) for r in rows[:-1]] == [r.macs for r in reference.rows]
    with torch.device("meta"):
        numel = sum(p.numel() for p in torchvision.models.vgg16().parameters())
    assert sum(int(r["params"]) for r in rows[:-1]) == int(rows[-1]["params"]) == numel
    fc = translate("architectures.split_fc", "en", model="VGG-16", fc="123,642,856", fc_share=89.36, conv="14,714,688",
                   ratio=123_642_856 / 14_714_688, conv_macs=99.2)  # fmt: skip
    assert at.info[0].value.split(" The convolutions")[0] == fc.split(" The convolutions")[0]

    at.number_input(key="arch_side_0_vgg16").set_value(112).run()  # a control changes the table
    assert not at.exception
    conv = torch.nn.Conv2d(3, 64, 3, padding=1)
    assert _first_shape(at, 0) == "×".join(map(str, conv(torch.zeros(1, 3, 112, 112)).shape[1:]))
    assert "vgg16_112x112.csv" in downloads
    at.number_input(key="arch_side_1_resnet18").set_value(16).run()  # too small for VGG, not for ResNet-18
    at.number_input(key="arch_side_0_vgg16").set_value(16).run()
    assert not at.exception
    assert [e.value for e in at.error] == [translate("errors.summary_forward_failed", "en", model="VGG",
                                                     size="3×16×16")]  # fmt: skip
    at.toggle(key="arch_compare").set_value(False).run()
    assert not at.exception and len(at.get("download_button")) == 0


def test_efficientnet_lite0_shows_what_makes_it_different() -> None:
    at = _open("en", arch_compare=False, arch_net_0="efficientnet_lite0")
    assert not at.exception, [e.value for e in at.exception]
    label = at.subheader[0].value.split(" · ")[0]
    assert translate("architectures.dw.title", "en", model=label) in [h.value for h in at.header]
    numel = sum(p.numel() for p in build("efficientnet_lite0").parameters())
    assert translate("architectures.dw.total_check", "en", total=f"{numel:,}", numel=f"{numel:,}") in [
        s.value for s in at.success]  # fmt: skip
    assert at.selectbox(key="arch_dw_block_efficientnet_lite0").value == "_blocks.1"  # the first with all three steps
    layer, name = translate("architectures.x.layer", "en"), translate("architectures.col.name", "en")
    steps = next(df.value for df in at.dataframe if name in df.value and layer in df.value)
    assert list(steps[layer]) == ["expand 1×1", "depthwise 3×3", "project 1×1"]
    assert list(steps[name]) == ["_blocks.1._expand_conv", "_blocks.1._depthwise_conv", "_blocks.1._project_conv"]


def test_official_weights_download_and_upload(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("cnnviz.ui.architectures_weights.weights_target", lambda name: tmp_path / f"{name}.pth")

    def offline(name: str, progress, **_: object) -> Path:  # noqa: ANN001
        progress(1 << 20, 4 << 20)
        raise CheckpointError.from_key("errors.zoo_download_failed", model=name, file="x.pth", folder=str(tmp_path))

    monkeypatch.setattr("cnnviz.ui.architectures_weights.download_weights", offline)
    at = _open("en", arch_net_0="mobilenet_v2", arch_net_1="resnet18")
    at.button(key="arch_download_mobilenet_v2").click().run()
    assert not at.exception
    assert at.error[0].value == translate("errors.zoo_download_failed", "en", model="mobilenet_v2", file="x.pth",
                                          folder=str(tmp_path))  # fmt: skip
    at.file_uploader(key="arch_upload_resnet18").upload("resnet18.pth", b"not a checkpoint", "application/octet-stream")
    at.run()
    assert not at.exception and "resnet18" in at.error[0].value
    buffer = io.BytesIO()
    torch.save(torchvision.models.mobilenet_v2().state_dict(), buffer)
    at.file_uploader(key="arch_upload_mobilenet_v2").upload("mnv2.pth", buffer.getvalue(), "application/octet-stream")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert (tmp_path / "mobilenet_v2.pth").read_bytes() == buffer.getvalue()
    assert any(str(tmp_path / "mobilenet_v2.pth") in s.value for s in at.success)


def test_the_korean_page_reads_korean() -> None:
    at = _open("ko")
    assert not at.exception, [e.value for e in at.exception]
    texts = [text for text in shown_texts(at) if not any(source in text for source in SOURCES.values())]
    assert untranslated(texts) == []
    assert at.header[0].value == translate("architectures.weights.title", "ko")
