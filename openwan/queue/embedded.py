"""The embedded queue: one SQLite file on local disk, shared by every worker process.

WAL mode keeps committed messages across a crash of any process (``kill -9``) and lets
readers poll without taking the write lock; each state change is one short write
transaction, so several processes can send, receive and delete at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openwan.queue.base import Message, QueueError, QueueStats, ReceiptExpired, encode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS ix_messages_queue_visible ON messages (queue, visible_at);
"""

# Long polling inside one process is woken by ``send``; across processes it polls the file,
# starting fast (a message just sent is picked up within milliseconds) and backing off.
_POLL_MIN, _POLL_MAX = 0.005, 0.1


class EmbeddedQueue:
    def __init__(self, path: Path, name: str = "transcoding", *, max_receive_count: int = 3,
                 visibility_timeout: int = 30, wait_seconds: float = 20) -> None:
        self.path = Path(path)
        self.name = name
        self.dead_name = f"{name}-dlq"
        self.max_receive_count = max_receive_count
        self.visibility_timeout = visibility_timeout
        self.wait_seconds = wait_seconds
        self._local = threading.local()
        self._arrived = threading.Condition()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn().executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"EmbeddedQueue({self.path.name}:{self.name})"

    # -- connections --------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                # NORMAL in WAL mode survives any process crash; only a power loss could
                # lose the last transactions, as with the main database.
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as exc:
                raise QueueError(f"cannot open the embedded queue: {exc}") from exc
            self._local.conn = conn
            self._local.pid = os.getpid()
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise QueueError(f"embedded queue unavailable: {exc}") from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise QueueError(f"embedded queue commit failed: {exc}") from exc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- messages -------------------------------------------------------------------------
    def send(self, body: dict[str, Any], *, delay: int = 0) -> str:
        text = encode(body)
        message_id = uuid.uuid4().hex
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO messages (id, queue, body, sent_at, visible_at) VALUES (?,?,?,?,?)",
                (message_id, self.name, text, now, now + max(delay, 0)))
        with self._arrived:
            self._arrived.notify()
        return message_id

    def receive(self, *, max_messages: int = 1, wait_seconds: float | None = None,
                visibility_timeout: int | None = None) -> list[Message]:
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        deadline = time.monotonic() + wait
        pause = _POLL_MIN
        while True:
            messages = self._receive_now(max_messages, visibility_timeout)
            if messages:
                return messages
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            with self._arrived:
                self._arrived.wait(min(pause, left))
            pause = min(pause * 2, _POLL_MAX)

    def _receive_now(self, max_messages: int, visibility_timeout: int | None) -> list[Message]:
        conn = self._conn()
        now = time.time()
        # A read without the write lock first: idle pollers never contend with writers.
        probe = conn.execute("SELECT 1 FROM messages WHERE queue=? AND visible_at<=? LIMIT 1",
                             (self.name, now)).fetchone()
        if probe is None:
            return []
        vt = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        out: list[Message] = []
        with self._write() as conn:
            rows = conn.execute(
                "SELECT seq, id, body, sent_at, receive_count FROM messages "
                "WHERE queue=? AND visible_at<=? ORDER BY visible_at, seq LIMIT ?",
                (self.name, now, max(1, min(max_messages, 10)))).fetchall()
            for seq, message_id, body, sent_at, count in rows:
                if count >= self.max_receive_count:
                    # As SQS's redrive policy: received maxReceiveCount times, then dead.
                    conn.execute("UPDATE messages SET queue=?, receipt=NULL, visible_at=? "
                                 "WHERE seq=?", (self.dead_name, now, seq))
                    continue
                receipt = f"{message_id}:{uuid.uuid4().hex}"
                conn.execute("UPDATE messages SET receive_count=receive_count+1, visible_at=?, "
                             "receipt=? WHERE seq=?", (now + vt, receipt, seq))
                out.append(Message(message_id, json.loads(body), receipt, count + 1, sent_at))
        return out

    def delete(self, receipt: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM messages WHERE receipt=?", (receipt,))

    def change_visibility(self, receipt: str, seconds: int) -> None:
        with self._write() as conn:
            changed = conn.execute("UPDATE messages SET visible_at=? WHERE receipt=? AND queue=?",
                                   (time.time() + max(seconds, 0), receipt, self.name)).rowcount
        if not changed:
            raise ReceiptExpired("the message was deleted or received by another consumer")
        if seconds <= 0:
            with self._arrived:
                self._arrived.notify()

    # -- inspection -----------------------------------------------------------------------
    def stats(self) -> QueueStats:
        now = time.time()
        conn = self._conn()
        visible, in_flight, delayed, oldest = conn.execute(
            "SELECT "
            " COALESCE(SUM(visible_at<=?),0),"
            " COALESCE(SUM(visible_at>? AND receipt IS NOT NULL),0),"
            " COALESCE(SUM(visible_at>? AND receipt IS NULL),0),"
            " MIN(sent_at) FROM messages WHERE queue=?",
            (now, now, now, self.name)).fetchone()
        dead = conn.execute("SELECT COUNT(*) FROM messages WHERE queue=?",
                            (self.dead_name,)).fetchone()[0]
        return QueueStats(visible=visible, in_flight=in_flight, delayed=delayed, dead=dead,
                          oldest_age=None if oldest is None else max(0.0, now - oldest))

    def ping(self) -> None:
        try:
            self._conn().execute("SELECT 1 FROM messages LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise QueueError(f"embedded queue unavailable: {exc}") from exc

    def dead_letters(self, limit: int = 100) -> list[Message]:
        rows = self._conn().execute(
            "SELECT id, body, sent_at, receive_count FROM messages WHERE queue=? "
            "ORDER BY seq LIMIT ?", (self.dead_name, limit)).fetchall()
        return [Message(i, json.loads(b), "", c, s) for i, b, s, c in rows]

    def redrive(self, limit: int | None = None) -> list[Message]:
        now = time.time()
        with self._write() as conn:
            rows = conn.execute(
                "SELECT seq, id, body, sent_at FROM messages WHERE queue=? ORDER BY seq LIMIT ?",
                (self.dead_name, -1 if limit is None else limit)).fetchall()
            conn.executemany("UPDATE messages SET queue=?, receive_count=0, visible_at=?, "
                             "receipt=NULL WHERE seq=?", [(self.name, now, r[0]) for r in rows])
        with self._arrived:
            self._arrived.notify_all()
        return [Message(i, json.loads(b), "", 0, s) for _, i, b, s in rows]

    def purge(self) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM messages WHERE queue IN (?, ?)", (self.name, self.dead_name))
