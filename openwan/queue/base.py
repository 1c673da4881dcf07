"""The queue interface: SQS's semantics, whatever the backend.

A message is received by one consumer at a time and stays invisible for the visibility
timeout; unless deleted it reappears, and after ``max_receive_count`` receives the next
receive moves it to the dead-letter queue instead of delivering it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

MAX_MESSAGE_BYTES = 256 * 1024  # SQS's limit, kept by every backend


class QueueError(RuntimeError):
    """The queue backend failed (I/O, network, permissions)."""


class MessageTooLarge(QueueError):
    pass


class ReceiptExpired(QueueError):
    """The receipt no longer names a message in flight (deleted, or received again)."""


@dataclass(frozen=True)
class Message:
    id: str
    body: dict[str, Any]
    receipt: str
    receive_count: int
    sent_at: float  # Unix time


@dataclass(frozen=True)
class QueueStats:
    visible: int  # waiting to be received
    in_flight: int  # received, not yet deleted
    delayed: int
    dead: int  # in the dead-letter queue
    oldest_age: float | None  # seconds since the oldest waiting message was sent, if known


def encode(body: dict[str, Any]) -> str:
    """JSON only: jobs carry ids, never objects."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"message is larger than {MAX_MESSAGE_BYTES} bytes")
    return text


@runtime_checkable
class Queue(Protocol):
    max_receive_count: int
    visibility_timeout: int

    def send(self, body: dict[str, Any], *, delay: int = 0) -> str:
        """Enqueue a JSON body; returns the message id."""

    def receive(self, *, max_messages: int = 1, wait_seconds: float | None = None,
                visibility_timeout: int | None = None) -> list[Message]:
        """Long-poll for up to ``max_messages``; an empty list when nothing arrived in time."""

    def delete(self, receipt: str) -> None: ...

    def change_visibility(self, receipt: str, seconds: int) -> None:
        """Extend a message's invisibility (heartbeat) or hand it back (0) / delay a retry."""

    def stats(self) -> QueueStats: ...

    def ping(self) -> None:
        """Raise ``QueueError`` when the queue is unreachable."""

    def dead_letters(self, limit: int = 100) -> list[Message]:
        """Peek at messages in the dead-letter queue (they stay there)."""

    def redrive(self, limit: int | None = None) -> list[Message]:
        """Move dead letters back to the queue with a fresh receive count; returns them."""

    def close(self) -> None: ...
