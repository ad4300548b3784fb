"""Shared fixtures: seeding, and the project root on sys.path for AppTest page runs."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
# A missing translation raises instead of showing its key (pages, and the app server the browser tests start).
os.environ["CNNVIZ_STRICT_I18N"] = "1"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# pytest-xdist runs two workers on the 2-core machine (pytest.ini): one torch thread each, and for the app
# servers they start, so that the workers do not oversubscribe the cores (2 × 2 threads run 5–20× slower).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    """Seed Python, NumPy and torch before every test so results are repeatable."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Run a module's training with one torch thread (two threads on a loaded 2-core box wait on each other)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A fresh `streamlit run app.py` for one browser-test module; yields its base URL."""
    from tests.browser import streamlit_server

    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def context() -> Iterator:
    """A headless Chromium context for one browser-test module (downloads allowed)."""
    from tests.browser import chromium_context

    with chromium_context(accept_downloads=True) as ctx:
        yield ctx
