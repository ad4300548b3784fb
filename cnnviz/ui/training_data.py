"""Live-training page: the procedural data set of the last run, kept for the next one, the default's drawn at start.

Drawing the default preset's 11,000 shapes takes about a second, most of the time to a first curve point.
So the page hands its jobs ``config_data``, which keeps the last procedural split it loaded (one at a time:
about 135 MB for the default preset), and ``start_data_warmup`` draws the default preset's split once per
server process, in the background, when a page first opens. Downloaded sets are read from their files
each time (they have their own cache on disk).
"""

from __future__ import annotations

import threading

from cnnviz.data import DataSplit, dataset_info
from cnnviz.train import PRESETS, TrainConfig, load_config_data

__all__ = ["DEFAULT_DATA_PRESET", "config_data", "start_data_warmup"]

DEFAULT_DATA_PRESET = "baseline"  # whose data set is drawn when the server starts (the page's default preset)
_LOCK = threading.Lock()  # one draw at a time: a second run asking for the same set waits for it, not draws it twice
_KEPT: dict[tuple, DataSplit] = {}  # at most one entry: (the settings that decide the images) → the split
_WARMUP: list[threading.Thread] = []


def _key(config: TrainConfig) -> tuple:
    """The settings that decide which images a run loads (nothing else of the config changes them)."""
    return config.dataset, config.n_train, config.n_val, config.val_fraction, config.seed, config.image_size


def config_data(config: TrainConfig) -> DataSplit:
    """Return the data set of ``config`` (as ``load_config_data``), the last procedural one kept for the next run.

    Runs in the job's thread. The split is shared by the runs that ask for it, which only read it (the
    Trainer normalises a copy). Raises ConfigError / DataError as ``load_config_data`` does.
    """
    if not dataset_info(config.dataset).procedural:
        return load_config_data(config)
    key = _key(config)
    with _LOCK:
        split = _KEPT.get(key)
        if split is None:
            _KEPT.clear()  # the previous split goes before the next is drawn: one at a time in memory
            split = _KEPT[key] = load_config_data(config)
    return split


def start_data_warmup() -> threading.Thread:
    """Draw the default preset's data set in a background thread, once per process; return the thread."""
    with _LOCK:
        if not _WARMUP:
            config = PRESETS[DEFAULT_DATA_PRESET]
            thread = threading.Thread(target=config_data, args=(config,), name="cnnviz-data-warmup", daemon=True)
            thread.start()
            _WARMUP.append(thread)
        return _WARMUP[0]
