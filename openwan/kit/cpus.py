"""How many CPUs this process may really use: its affinity mask, capped by a cgroup CPU
quota (a container's or an ECS task's ``cpu`` size), so defaults follow what is paid for."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def cgroup_quota(root: Path = CGROUP) -> float | None:
    """CPUs allowed by the cgroup's quota (v2 ``cpu.max``, else v1 ``cpu.cfs_quota_us``),
    or None when there is no quota."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota == "max":
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def available_cpus(root: Path = CGROUP) -> float:
    """The CPUs this process can use: affinity, capped by the cgroup quota (at least 1)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        count = os.cpu_count() or 1
    quota = cgroup_quota(root)
    return max(1.0, min(float(count), quota) if quota else float(count))


def web_processes(cpus: float) -> int:
    """One server process per whole CPU (at least one)."""
    return max(1, math.floor(cpus))


def worker_concurrency(cpus: float) -> int:
    """Media jobs at once: one per two CPUs (an encoder uses two threads well)."""
    return max(1, math.floor(cpus) // 2)


def ffmpeg_threads(cpus: float, concurrency: int) -> int:
    """FFmpeg threads per job: the CPUs shared among the jobs running at once."""
    return max(1, math.floor(cpus) // max(1, concurrency))
