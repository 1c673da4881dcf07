"""Prometheus metrics (port 9090 ``/metrics``) and CloudWatch Embedded Metric Format lines.

Other domains record through the objects and helpers here, never by creating their own
registry entries for the same things:

- HTTP: recorded by ``openwan.middleware.edge`` (route template, not raw path).
- Uploads: ``record_upload(media_type, size)`` (Prometheus + the seed's ``FileUploadCount``).
- Jobs: ``with job_timer("transcode"):`` or ``JOBS.labels(job_type, outcome).inc()`` and
  ``JOB_SECONDS.labels(job_type).observe(s)``; outcome is ``succeeded``, ``failed``, ``retried``.
- FFmpeg: ``FFMPEG_SECONDS.labels(operation).observe(s)`` (or ``with ffmpeg_timer(op):``).
- Queue: ``QUEUE_DEPTH.labels(queue).set(n)``, ``QUEUE_OLDEST_AGE.labels(queue).set(s)``, or
  ``register_queue_probe(fn)`` so the values are read at scrape time.
- Database pool: collected at scrape time from the engines ``openwan.db`` holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily

# The *_created series double the exposition for no use on our dashboards.
disable_created_metrics()

NAMESPACE = "openwan"

# Request latency buckets: the API's interesting range is 5 ms … 10 s.
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Jobs and FFmpeg runs last seconds to hours.
_LONG = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800)

HTTP_REQUESTS = Counter(
    "http_requests", "HTTP requests by method, route template and status.",
    ["method", "route", "status"], namespace=NAMESPACE)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency by method and route template.",
    ["method", "route"], namespace=NAMESPACE, buckets=_LATENCY)
HTTP_IN_FLIGHT = Gauge(
    "http_requests_in_flight", "HTTP requests being served now.", namespace=NAMESPACE)
RATE_LIMITED = Counter(
    "http_rate_limited", "Requests refused with 429 by the rate limiter.", ["scope"],
    namespace=NAMESPACE)

UPLOADS = Counter("uploads", "Completed uploads by media type.", ["media_type"],
                  namespace=NAMESPACE)
UPLOAD_BYTES = Counter("upload_bytes", "Bytes of completed uploads by media type.",
                       ["media_type"], namespace=NAMESPACE)

JOBS = Counter("jobs", "Media jobs finished, by job type and outcome "
               "(succeeded, failed, retried).", ["job_type", "outcome"], namespace=NAMESPACE)
JOB_SECONDS = Histogram("job_duration_seconds", "Media job run time by job type.",
                        ["job_type"], namespace=NAMESPACE, buckets=_LONG)
JOBS_RUNNING = Gauge("jobs_running", "Media jobs running now, by job type.", ["job_type"],
                     namespace=NAMESPACE)
FFMPEG_SECONDS = Histogram("ffmpeg_duration_seconds", "FFmpeg/ffprobe run time by operation.",
                           ["operation"], namespace=NAMESPACE, buckets=_LONG)
# Collected by _ScrapeTimeCollector after the queue probes ran (so a scrape is never stale).
QUEUE_DEPTH = Gauge("queue_depth", "Messages waiting in the queue.", ["queue"],
                    namespace=NAMESPACE, registry=None)
QUEUE_OLDEST_AGE = Gauge("queue_oldest_message_age_seconds",
                         "Age of the oldest waiting message.", ["queue"], namespace=NAMESPACE,
                         registry=None)

CACHE_REQUESTS = Counter("cache_requests", "Cache lookups by cache and result (hit, miss).",
                         ["cache", "result"], namespace=NAMESPACE)
REDIS_AVAILABLE = Gauge("redis_available", "1 when the configured Redis answers, 0 while the "
                        "circuit breaker holds it off.", namespace=NAMESPACE)
REDIS_CLUSTER_MISMATCH = Gauge("redis_cluster_mismatch", "1 when Redis runs in cluster mode "
                               "but is used through a plain client (MOVED answers).",
                               namespace=NAMESPACE)
CACHE_DEGRADED = Gauge("cache_degraded", "1 while the shared cache (Redis) is configured but "
                       "not usable: counters and cache are per process meanwhile.",
                       namespace=NAMESPACE)
DB_SLOW_QUERIES = Counter("db_slow_queries", "Queries above the slow-query threshold.",
                          namespace=NAMESPACE)

log = logging.getLogger("openwan.metrics")
emf_log = logging.getLogger("openwan.metrics.emf")

CLOUDWATCH_NAMESPACE = "OpenWan/Application"
_emf_enabled = True


def configure(settings) -> None:
    """Apply settings (EMF on or off)."""
    global _emf_enabled
    _emf_enabled = settings.observability.emf


def emit_emf(metrics: dict[str, tuple[float, str]], dimensions: dict[str, str], *,
             namespace: str = CLOUDWATCH_NAMESPACE) -> None:
    """Write one CloudWatch Embedded Metric Format line to the log (no API call).

    ``metrics`` maps a metric name to ``(value, unit)``; CloudWatch extracts them from the
    log event into ``namespace`` with ``dimensions``.
    """
    if not _emf_enabled:
        return
    payload = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [sorted(dimensions)],
                "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()],
            }],
        },
        **dimensions,
        **{name: value for name, (value, _) in metrics.items()},
    }
    emf_log.info("metric %s", ",".join(metrics), extra=payload)


def record_upload(media_type: str, size: int) -> None:
    """Count a completed upload: Prometheus and the seed's ``FileUploadCount`` (``FileType``)."""
    UPLOADS.labels(media_type).inc()
    UPLOAD_BYTES.labels(media_type).inc(size)
    emit_emf({"FileUploadCount": (1, "Count"), "FileUploadBytes": (size, "Bytes")},
             {"FileType": media_type})


@contextmanager
def job_timer(job_type: str) -> Iterator[None]:
    """Time a job and count its outcome (``failed`` when the block raises)."""
    JOBS_RUNNING.labels(job_type).inc()
    start = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "succeeded"
    finally:
        JOBS_RUNNING.labels(job_type).dec()
        JOB_SECONDS.labels(job_type).observe(time.perf_counter() - start)
        JOBS.labels(job_type, outcome).inc()


@contextmanager
def ffmpeg_timer(operation: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        FFMPEG_SECONDS.labels(operation).observe(time.perf_counter() - start)


# --- values read at scrape time -----------------------------------------------------------

QueueProbe = Callable[[], dict[str, tuple[float, float | None]]]
_queue_probes: list[QueueProbe] = []
_probe_lock = threading.Lock()


def register_queue_probe(probe: QueueProbe) -> None:
    """``probe()`` returns ``{queue_name: (depth, oldest_age_seconds or None)}``; it is called
    on each scrape, so it must be cheap (SQS ``GetQueueAttributes`` is one call)."""
    with _probe_lock:
        _queue_probes.append(probe)


def clear_queue_probes() -> None:
    with _probe_lock:
        _queue_probes.clear()


def refresh_queue_gauges() -> None:
    with _probe_lock:
        probes = list(_queue_probes)
    for probe in probes:
        try:
            values = probe()
        except Exception as exc:  # a failing probe must not break the whole scrape
            log.warning("queue probe failed: %s", exc)
            continue
        for queue, (depth, age) in values.items():
            QUEUE_DEPTH.labels(queue).set(depth)
            if age is not None:
                QUEUE_OLDEST_AGE.labels(queue).set(age)


class _ScrapeTimeCollector:
    """Database pool use (per engine role) and queue probes, read when Prometheus scrapes."""

    def collect(self):
        refresh_queue_gauges()
        yield from QUEUE_DEPTH.collect()
        yield from QUEUE_OLDEST_AGE.collect()
        from openwan import db

        size = GaugeMetricFamily(f"{NAMESPACE}_db_pool_size", "Configured pool size.",
                                 labels=["role"])
        used = GaugeMetricFamily(f"{NAMESPACE}_db_pool_checked_out",
                                 "Connections in use.", labels=["role"])
        idle = GaugeMetricFamily(f"{NAMESPACE}_db_pool_idle",
                                 "Open connections waiting in the pool.", labels=["role"])
        overflow = GaugeMetricFamily(f"{NAMESPACE}_db_pool_overflow",
                                     "Connections beyond the pool size.", labels=["role"])
        for role, engine in db.engines_by_role().items():
            pool = engine.pool
            if not all(hasattr(pool, a) for a in ("size", "checkedout", "checkedin")):
                continue
            size.add_metric([role], pool.size())
            used.add_metric([role], pool.checkedout())
            idle.add_metric([role], pool.checkedin())
            overflow.add_metric([role], max(pool.overflow(), 0))
        yield from (size, used, idle, overflow)

    def describe(self):
        return []


_collector = _ScrapeTimeCollector()
REGISTRY.register(_collector)


def metrics_text() -> str:
    """The exposition text (what ``/metrics`` serves); used by tests and the worker."""
    from prometheus_client import generate_latest

    return generate_latest(REGISTRY).decode()

