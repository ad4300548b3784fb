"""Drive the real app in headless Chromium: start a server, open pages, wait until they settle."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"  # where the browser tests leave their screenshots
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Console noise that is not the app's fault: offline font/icon fetches and the browser's own 404 log lines.
# ("Image source error" is not noise: Live training's ticking pictures are data URLs, so none can go missing.)
KNOWN_NOISE = ("fonts.gstatic", "fonts.googleapis", "Failed to load resource", "net::ERR_", "favicon")


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is not None


def require_browser() -> None:
    """Skip the calling test module when Chromium or Playwright is missing; with CI=true fail instead."""
    import pytest

    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover - only without the dev requirements
        found = False
    else:
        found = chromium_available()
    if not found:
        if IN_CI:
            pytest.fail("CI=true but Chromium or Playwright is missing: run .ci/run (it installs them)", pytrace=False)
        pytest.skip("Chromium (/usr/bin/chromium) or Playwright missing", allow_module_level=True)


@contextmanager
def chromium_context(**options) -> Iterator:
    """A headless Chromium context (fresh profile, 1400×900, 90 s timeouts); ``options`` go to Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="cnnviz-chromium-"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
            **options,
        )
        ctx.set_default_timeout(90_000)
        try:
            yield ctx
        finally:
            ctx.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(timeout: float = 90.0) -> Iterator[str]:
    """Run `streamlit run app.py` on a free localhost port; yield its base URL."""
    port = free_port()
    log = tempfile.TemporaryFile()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log, timeout)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen, log, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"streamlit exited early:\n{log.read().decode(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy within {timeout} s")


@dataclass
class ConsoleLog:
    errors: list[str] = field(default_factory=list)

    def app_errors(self) -> list[str]:
        return [e for e in self.errors if not any(noise in e for noise in KNOWN_NOISE)]


def watch_console(page) -> ConsoleLog:
    log = ConsoleLog()
    page.on("console", lambda msg: log.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: log.errors.append(f"pageerror: {exc}"))
    return log


def wait_settled(page, timeout: float = 90.0, quiet: float = 1.0) -> None:
    """Wait until the script has finished, the socket is connected and no skeleton is left, for `quiet` s."""
    deadline = time.monotonic() + timeout
    settled_since = None
    while time.monotonic() < deadline:
        state = page.evaluate(
            """() => {
                const app = document.querySelector('[data-testid="stApp"]');
                return {
                    script: app ? app.getAttribute('data-test-script-state') : null,
                    conn: app ? app.getAttribute('data-test-connection-state') : null,
                    skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length,
                };
            }"""
        )
        ok = state["script"] == "notRunning" and state["conn"] in (None, "CONNECTED") and state["skeletons"] == 0
        if ok:
            settled_since = settled_since or time.monotonic()
            if time.monotonic() - settled_since >= quiet:
                return
        else:
            settled_since = None
        time.sleep(0.2)
    raise TimeoutError(f"page did not settle within {timeout} s: last state {state}")


def main_text(page) -> str:
    """What the main column says, the texts shown in its select boxes included.

    The file uploader's drop zone is left out: its "Drag and drop file here" is Streamlit's own text.
    """
    return page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]');
            const boxes = [...main.querySelectorAll('input[role="combobox"]')].map(i => i.value);
            const copy = main.cloneNode(true);
            copy.querySelectorAll('[data-testid="stFileUploaderDropzone"]').forEach(e => e.remove());
            return [copy.innerText, ...boxes].join('\\n');
        }"""
    )


def set_number(page, label: str, value: int) -> None:
    """Type ``value`` into the number input labelled ``label`` and wait for the rerun."""
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_settled(page)


def click_until_gone(page, name: str, tries: int = 3) -> None:
    """Click a button drawn in a ticking fragment until it goes away (a click can land mid-redraw)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    button = page.get_by_role("button", name=name)
    for _ in range(tries):
        button.click(timeout=60_000)
        try:
            button.wait_for(state="detached", timeout=10_000)
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError(f"the {name!r} button did not react to {tries} clicks")


def exceptions_on(page) -> list[str]:
    return [el.inner_text() for el in page.query_selector_all('[data-testid="stException"]')]


def full_screenshot(page, path: Path) -> None:
    """Screenshot the whole main area (it scrolls in its own container, so grow the viewport first)."""
    height = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]') || document.body;
            return Math.max(main.scrollHeight, document.body.scrollHeight);
        }"""
    )
    page.set_viewport_size({"width": 1400, "height": min(max(int(height) + 100, 900), 12000)})
    time.sleep(0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
