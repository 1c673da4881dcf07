"""CPUs available to the process, and the defaults derived from them."""

from __future__ import annotations

import os

from openwan.kit.cpus import (
    available_cpus,
    cgroup_quota,
    ffmpeg_threads,
    web_processes,
    worker_concurrency,
)


def test_cgroup_v2_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_quota(tmp_path) is None


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("400000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_quota(tmp_path) == 4.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_quota(tmp_path) is None


def test_the_quota_caps_the_affinity(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    assert available_cpus(tmp_path) == affinity  # no cgroup files: the affinity
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a CPU: still one
    assert available_cpus(tmp_path) == 1.0
    (tmp_path / "cpu.max").write_text(f"{(affinity + 4) * 100000} 100000\n")
    assert available_cpus(tmp_path) == affinity  # a quota above the affinity changes nothing


def test_derived_sizes():
    # Fargate sizes: 0.5, 1, 2, 4, 8, 16 vCPUs.
    assert [web_processes(c) for c in (0.5, 1, 2, 4, 8, 16)] == [1, 1, 2, 4, 8, 16]
    assert [worker_concurrency(c) for c in (0.5, 1, 2, 4, 8, 16)] == [1, 1, 1, 2, 4, 8]
    assert [ffmpeg_threads(c, worker_concurrency(c)) for c in (0.5, 1, 2, 4, 8, 16)] == \
        [1, 1, 2, 2, 2, 2]
    assert ffmpeg_threads(8, 1) == 8  # one job at a time gets all of them


def test_settings_default_from_the_cpus_and_yield_to_the_environment(make_settings):
    cpus = available_cpus()
    settings = make_settings(OPENWAN_STORAGE_URL="s3://media")
    assert settings.http.processes == web_processes(cpus)
    # A local data dir is served by one process: it holds open tus uploads between PATCHes.
    assert make_settings().http.processes == 1
    assert settings.media.concurrency == worker_concurrency(cpus)
    assert settings.media.threads == ffmpeg_threads(cpus, settings.media.concurrency)
    given = make_settings(OPENWAN_WEB_PROCESSES="3", OPENWAN_WORKER_CONCURRENCY="2",
                          FFMPEG_THREADS="5")
    assert (given.http.processes, given.media.concurrency, given.media.threads) == (3, 2, 5)
    # Concurrency given alone: the threads share the CPUs among that many jobs.
    alone = make_settings(OPENWAN_WORKER_CONCURRENCY="2")
    assert alone.media.threads == ffmpeg_threads(cpus, 2)
