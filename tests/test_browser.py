"""Every page in a real headless Chromium against `streamlit run app.py`: no exception, no app console error.

With CI=true these tests must run: a missing Chromium or Playwright is a failure, not a skip.
Screenshots land in artifacts/screenshots/.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from cnnviz.ui.base import PAGES
from tests.browser import (
    SHOTS,
    click_until_gone,
    exceptions_on,
    full_screenshot,
    require_browser,
    set_number,
    wait_settled,
    watch_console,
)

ROOT = Path(__file__).resolve().parent.parent

require_browser()


def _open(context, url: str):
    page = context.new_page()
    console = watch_console(page)
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    return page, console


def _name(info) -> str:
    return info.url_path or "home"


def test_deep_link_on_a_fresh_server_runs_the_page(server: str, context) -> None:
    """Runs first: on a fresh server a deep link runs the page without app.py (legacy pages mode)."""
    page, console = _open(context, f"{server}/conv_arithmetic")
    assert page.locator("h1").first.inner_text().startswith("Convolution arithmetic")
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert nav.get_by_text("Home", exact=True).count() == 1, "the app's navigation, not the pages/ file names"
    assert nav.get_by_text("app", exact=True).count() == 0
    assert exceptions_on(page) == []
    assert page.locator("h1").count() >= 1
    assert console.app_errors() == []
    page.close()


@pytest.mark.parametrize("info", PAGES, ids=_name)
def test_page_opens_without_error(server: str, context, info) -> None:
    page, console = _open(context, f"{server}/{info.url_path}")
    full_screenshot(page, SHOTS / f"{_name(info)}.png")
    assert exceptions_on(page) == []
    assert page.locator("h1").count() >= 1
    assert console.app_errors() == []
    page.close()


def test_korean_switch_in_the_browser(server: str, context) -> None:
    page, console = _open(context, server)
    page.get_by_text("한국어").click()
    wait_settled(page)
    page.wait_for_selector("text=학습된 CNN 들여다보기")
    full_screenshot(page, SHOTS / "home-ko.png")
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()


def _photo(tmp: Path) -> Path:
    """A real bundled photo re-encoded as JPEG, as a user's camera would give it."""
    from cnnviz.data import list_samples

    sample = next(iter(list_samples().values()))
    path = tmp / "my_photo.jpg"
    with Image.open(sample) as img:
        img.convert("RGB").save(path, "JPEG", quality=90)
    return path


UPLOAD_PAGES = ["image_filters", "pooling", "feature_maps"]


@pytest.mark.parametrize("url_path", UPLOAD_PAGES)
def test_upload_a_photo_and_a_wrong_file(server: str, context, url_path: str, tmp_path: Path) -> None:
    page, console = _open(context, f"{server}/{url_path}")
    photo_choice = page.locator('[data-testid="stRadio"] label', has_text="A photo")
    if photo_choice.count():  # a page that opens on a training-data example: photos are one click away
        photo_choice.first.click()
        wait_settled(page)
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
    uploader.set_input_files(str(_photo(tmp_path)))
    page.wait_for_selector("text=my_photo.jpg")
    wait_settled(page)
    full_screenshot(page, SHOTS / f"{url_path}-upload.png")
    assert exceptions_on(page) == []
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0

    fake = tmp_path / "not_an_image.png"
    fake.write_bytes(b"this is a text file, not a picture\n" * 10)
    uploader.set_input_files(str(fake))
    page.wait_for_selector("text=not_an_image.png")
    wait_settled(page)
    full_screenshot(page, SHOTS / f"{url_path}-wrong-file.png")
    assert exceptions_on(page) == []
    assert page.locator('[data-testid="stAlertContentError"]').count() >= 1
    assert console.app_errors() == []
    page.close()


def test_sample_photo_bytes_are_an_image() -> None:
    """Guard for the upload test's input: the bundled sample decodes."""
    from cnnviz.data import list_samples

    data = next(iter(list_samples().values())).read_bytes()
    assert Image.open(io.BytesIO(data)).size[0] > 0


def test_train_pause_resume_and_finish_in_the_browser(server: str, context) -> None:
    """A learner's run: small settings, Start, Pause, Resume, visit another page, come back to the finished run."""
    page, console = _open(context, server)  # through app.py, so the sidebar has the app's navigation
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Live training", exact=True).click()
    page.wait_for_selector("h1:has-text('Live training')")
    wait_settled(page)
    set_number(page, "Training images", 1024)
    set_number(page, "Validation images", 128)
    set_number(page, "Epochs", 4)
    page.get_by_role("button", name="Start training").click()
    page.get_by_role("button", name="Pause").wait_for(timeout=120_000)
    click_until_gone(page, "Pause")
    page.wait_for_selector("text=Paused")
    click_until_gone(page, "Resume")
    # Training goes on while the learner visits another page, and the run is still there on return.
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Pooling", exact=True).click()
    page.wait_for_selector("h1:has-text('Pooling')")
    wait_settled(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Live training", exact=True).click()
    try:
        page.wait_for_selector("text=Confusion matrix (validation)", timeout=240_000)
    finally:
        full_screenshot(page, SHOTS / "live_training-after-return.png")
    page.wait_for_selector("text=Look inside this model (Feature maps)")
    full_screenshot(page, SHOTS / "live_training-finished.png")
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()


def _class_zip(path: Path, *, evil: bool = False) -> Path:
    """A zip of two class folders of small real photos (crops of a bundled sample), plus one non-image."""
    import zipfile

    from cnnviz.data import list_samples

    photo = Image.open(next(iter(list_samples().values()))).convert("RGB")
    with zipfile.ZipFile(path, "w") as zf:
        for label, box in (("bright", (0, 0, 160, 160)), ("dark", (160, 160, 320, 320))):
            for i in range(6):
                buf = io.BytesIO()
                photo.crop(box).rotate(i * 10).save(buf, "PNG")
                zf.writestr(f"{label}/{i}.png", buf.getvalue())
        zf.writestr("bright/notes.txt", "not an image")
        if evil:
            zf.writestr("../../escape.png", b"x")
    return path


def test_train_on_my_own_zip_and_refuse_a_hostile_one(server: str, context, tmp_path: Path) -> None:
    page, console = _open(context, server)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Live training", exact=True).click()
    page.wait_for_selector("h1:has-text('Live training')")
    wait_settled(page)
    page.get_by_text("Train on my own images (zip)").click()
    wait_settled(page)
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first

    uploader.set_input_files(str(_class_zip(tmp_path / "evil.zip", evil=True)))
    page.wait_for_selector("text=evil.zip")
    wait_settled(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() >= 1
    assert exceptions_on(page) == []

    uploader.set_input_files(str(_class_zip(tmp_path / "classes.zip")))
    page.wait_for_selector("text=classes.zip")
    wait_settled(page)
    page.wait_for_selector("text=1 file was skipped")
    set_number(page, "Epochs", 2)
    page.get_by_role("button", name="Start training").click()
    page.wait_for_selector("text=Confusion matrix (validation)", timeout=240_000)
    full_screenshot(page, SHOTS / "live_training-own-zip.png")
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()
