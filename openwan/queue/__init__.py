"""The job queue: an embedded SQLite queue by default, Amazon SQS in the cloud.

Imports no domain code; jobs are plain JSON bodies.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from openwan.config import Settings
from openwan.queue.base import (
    MAX_MESSAGE_BYTES,
    Message,
    MessageTooLarge,
    Queue,
    QueueError,
    QueueStats,
    ReceiptExpired,
)

__all__ = ["MAX_MESSAGE_BYTES", "Message", "MessageTooLarge", "Queue", "QueueError",
           "QueueStats", "ReceiptExpired", "get_queue", "make_queue", "reset_queues"]

_cache: dict[tuple, Queue] = {}


def make_queue(url: str | None, *, data_dir: Path, dlq_url: str | None = None,
               max_receive_count: int = 3, visibility_timeout: int = 30,
               wait_seconds: float = 20) -> Queue:
    """``None``/``embedded`` → ``data_dir/queue/queue.db``; ``sqlite:///file`` → that file;
    ``https://sqs…`` (any http(s) URL) → SQS."""
    common = {"max_receive_count": max_receive_count, "visibility_timeout": visibility_timeout,
              "wait_seconds": wait_seconds}
    if not url or url == "embedded":
        from openwan.queue.embedded import EmbeddedQueue

        return EmbeddedQueue(data_dir / "queue" / "queue.db", **common)
    parsed = urlparse(url)
    if parsed.scheme in ("sqlite", "file"):
        from openwan.queue.embedded import EmbeddedQueue

        return EmbeddedQueue(Path(unquote(parsed.path)), **common)
    if parsed.scheme in ("http", "https"):
        from openwan.queue.sqs import SQSQueue

        return SQSQueue(url, dlq_url=dlq_url, **common)
    raise ValueError(f"unsupported queue URL {url!r}: leave it unset for the embedded queue, "
                     "or give an SQS queue URL")


def get_queue(settings: Settings) -> Queue:
    """The process's queue for these settings (one per configuration)."""
    q = settings.queue
    key = (q.url, str(settings.data_dir), q.dlq_url, q.max_receive_count, q.visibility_timeout,
           q.wait_seconds)
    if key not in _cache:
        _cache[key] = make_queue(q.url, data_dir=settings.data_dir, dlq_url=q.dlq_url,
                                 max_receive_count=q.max_receive_count,
                                 visibility_timeout=q.visibility_timeout,
                                 wait_seconds=q.wait_seconds)
    return _cache[key]


def reset_queues() -> None:
    for queue in _cache.values():
        queue.close()
    _cache.clear()
