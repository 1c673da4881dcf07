"""The allocator thresholds the server sets for streamed bodies."""

from __future__ import annotations

import platform

import pytest

from openwan.kit.malloc import tune_for_streaming


def test_glibc_takes_the_streaming_thresholds():
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the thresholds are glibc's")
    assert tune_for_streaming() is True
    # Buffers of an upload's size are served and freed as usual afterwards.
    blocks = [bytes(256 * 1024) for _ in range(64)]
    assert sum(map(len, blocks)) == 16 * 1024 * 1024
