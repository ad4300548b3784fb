"""The device is chosen in one place; its name and its errors read in the learner's language."""

from __future__ import annotations

import pytest
import torch

from cnnviz.device import DEVICE_CHOICES, device_label, select_device
from cnnviz.errors import ConfigError
from cnnviz.i18n import translate


def test_auto_picks_cuda_then_mps_then_cpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and torch.backends.mps.is_available():
        expected = "mps"
    assert select_device("auto").type == expected
    assert select_device("CPU") == torch.device("cpu")


def test_unknown_and_missing_devices_say_what_to_choose() -> None:
    with pytest.raises(ConfigError, match="tpu") as info:
        select_device("tpu")
    assert all(choice in str(info.value) for choice in DEVICE_CHOICES)
    assert "연산 장치" in info.value.localized("ko")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU") as info:
            select_device("cuda")
        assert "CUDA GPU가 없습니다" in info.value.localized("ko")


def test_the_cpu_label_counts_threads_in_both_languages() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert device_label(torch.device("cpu")) == "CPU (1 thread)"
        torch.set_num_threads(2)
        assert device_label(torch.device("cpu")) == "CPU (2 threads)"
        assert device_label(torch.device("cpu"), "ko") == translate("device.cpu", "ko", n=2) == "CPU (스레드 2개)"
    finally:
        torch.set_num_threads(before)
