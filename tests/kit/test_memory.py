"""The memory settings the server applies at start-up."""

from __future__ import annotations

import gc
import platform

import pytest

from openwan.kit.memory import freeze_startup_objects, tune_for_streaming


def test_glibc_takes_the_streaming_thresholds():
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the thresholds are glibc's")
    assert tune_for_streaming() is True


def test_start_up_objects_leave_the_collectors_reach_and_later_ones_do_not():
    try:
        frozen = freeze_startup_objects()
        # Frozen objects can still be freed (the count only falls), never collected.
        assert frozen > 1000 and 0 < gc.get_freeze_count() <= frozen
        later = [[i] for i in range(100)]  # new objects are still tracked and collected
        assert all(gc.is_tracked(x) for x in later)
        assert len(gc.get_objects()) < frozen
    finally:
        gc.unfreeze()
