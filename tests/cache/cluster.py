"""A real Redis Cluster on loopback for the tests: 3 masters + 3 replicas, as ElastiCache runs
the seed's cache (cluster mode enabled), started once per test session.

``redis_cluster`` (a session fixture, see ``tests/cache/conftest.py``) gives a
:class:`LocalCluster`; ``cluster.url`` is a ``redis://`` URL of one node, which a cluster client
uses to discover the others. Each node runs in its own directory under a temporary one, with
its client and bus ports taken from free loopback ports (``cluster-port``, so no port + 10000
arithmetic). Other test packages use it with ``from tests.cache.cluster import redis_cluster``
in their conftest; however many conftests import it, one cluster is started per session.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, service_missing

NODES = 6
START_SECONDS = 30


class LocalCluster:
    """Six ``redis-server`` processes in cluster mode and the ``redis-cli --cluster create``
    that joins them."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="openwan-redis-cluster-"))
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def start(self) -> LocalCluster:
        ports: set[int] = set()
        while len(ports) < 2 * NODES:  # a client port and a bus port per node
            ports.add(free_port())
        ordered = sorted(ports)
        self.ports, bus_ports = ordered[:NODES], ordered[NODES:]
        try:
            for port, bus in zip(self.ports, bus_ports, strict=True):
                node = self.dir / str(port)
                node.mkdir()
                self.processes.append(subprocess.Popen(
                    ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                     "--cluster-enabled", "yes", "--cluster-port", str(bus),
                     "--cluster-config-file", str(node / "nodes.conf"),
                     "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no",
                     "--dir", str(node), "--daemonize", "no", "--logfile", str(node / "log")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for port in self.ports:
                self._wait(lambda p=port: self.cli(p, "PING") == "PONG", "answer PING")
            subprocess.run(
                ["redis-cli", "--cluster", "create",
                 *(f"127.0.0.1:{p}" for p in self.ports),
                 "--cluster-replicas", "1", "--cluster-yes"],
                check=True, capture_output=True, timeout=START_SECONDS)
            for port in self.ports:
                self._wait(lambda p=port: "cluster_state:ok" in self.cli(p, "CLUSTER", "INFO"),
                           "reach cluster_state:ok")
            self._wait(self._replicas_attached, "attach its replicas")
        except BaseException:
            self.stop()
            raise
        return self

    def cli(self, port: int, *args: str) -> str:
        done = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                              capture_output=True, text=True, timeout=10)
        return done.stdout.strip()

    def masters(self) -> list[int]:
        return [p for p in self.ports if "role:master" in self.cli(p, "INFO", "replication")]

    def _replicas_attached(self) -> bool:
        masters = self.masters()
        return len(masters) == NODES // 2 and all(
            "connected_slaves:1" in self.cli(p, "INFO", "replication") for p in masters)

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"the local Redis Cluster did not {what} within {START_SECONDS} s")

    def flush(self) -> None:
        """Empty every master (replicas follow)."""
        for port in self.masters():
            self.cli(port, "FLUSHALL")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self.processes.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


_cluster: LocalCluster | None = None


def local_cluster() -> LocalCluster:
    """The session's cluster, started on first use."""
    global _cluster
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        service_missing("redis-server", "redis-server and redis-cli are not installed")
    if _cluster is None:
        _cluster = LocalCluster().start()
    return _cluster


def stop_local_cluster() -> None:
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """A Redis Cluster (3 masters, 3 replicas) on loopback, emptied for each test that asks."""
    cluster = local_cluster()
    try:
        yield cluster
    finally:
        stop_local_cluster()


@pytest.fixture
def cluster_url(redis_cluster: LocalCluster) -> str:
    """The URL of an emptied local Redis Cluster."""
    redis_cluster.flush()
    return redis_cluster.url
