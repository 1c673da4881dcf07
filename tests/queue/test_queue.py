"""The queue contract, on the embedded queue and on SQS (a moto server on 127.0.0.1)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from openwan.queue import MessageTooLarge, ReceiptExpired, make_queue
from openwan.queue.embedded import EmbeddedQueue

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["embedded", "sqs"])
def queue_factory(request, tmp_path):
    """Make a queue with a given visibility timeout and maxReceiveCount on either backend."""
    made = []

    def make(visibility: int = 30, max_receives: int = 3):
        if request.param == "embedded":
            q = EmbeddedQueue(tmp_path / f"q-{uuid.uuid4().hex[:6]}.db",
                              visibility_timeout=visibility, max_receive_count=max_receives,
                              wait_seconds=1)
        else:
            request.getfixturevalue("aws_env")
            import boto3

            sqs = boto3.client("sqs")
            name = f"t-{uuid.uuid4().hex[:10]}"
            dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
            import json

            url = sqs.create_queue(QueueName=name, Attributes={
                "VisibilityTimeout": str(visibility),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn,
                                             "maxReceiveCount": str(max_receives)})})["QueueUrl"]
            # No DLQ URL given: it is found from the queue's RedrivePolicy.
            q = make_queue(url, data_dir=tmp_path, visibility_timeout=visibility,
                           wait_seconds=1)
        made.append(q)
        return q

    make.backend = request.param
    yield make
    for q in made:
        q.close()


def test_send_receive_delete(queue_factory):
    q = queue_factory()
    q.send({"name": "media.process", "job_id": 7, "title": "城市夜景"})
    [message] = q.receive(wait_seconds=1)
    assert message.body == {"name": "media.process", "job_id": 7, "title": "城市夜景"}
    assert message.receive_count == 1
    assert q.receive(wait_seconds=0) == []  # invisible while held
    q.delete(message.receipt)
    q.change_visibility  # noqa: B018 - the attribute exists on every backend
    assert q.stats().visible == 0


def test_visibility_timeout_redelivers_and_counts(queue_factory):
    q = queue_factory(visibility=1)
    q.send({"job_id": 1})
    first = q.receive(wait_seconds=1)[0]
    time.sleep(1.3)
    second = q.receive(wait_seconds=2)[0]
    assert second.id == first.id and second.receive_count == 2


def test_heartbeat_extends_and_zero_hands_back(queue_factory):
    q = queue_factory(visibility=1)
    q.send({"job_id": 2})
    message = q.receive(wait_seconds=1)[0]
    q.change_visibility(message.receipt, 30)
    time.sleep(1.3)
    assert q.receive(wait_seconds=0) == []  # still held thanks to the extension
    q.change_visibility(message.receipt, 0)
    assert q.receive(wait_seconds=2)[0].id == message.id


def test_dead_letter_after_max_receives_and_redrive(queue_factory):
    q = queue_factory(visibility=1, max_receives=2)
    q.send({"job_id": 3})
    for expected in (1, 2):
        message = q.receive(wait_seconds=2)[0]
        assert message.receive_count == expected
        q.change_visibility(message.receipt, 0)
    assert q.receive(wait_seconds=1) == []  # the third receive dead-letters it
    deadline = time.monotonic() + 5
    while q.stats().dead != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [m.body for m in q.dead_letters()] == [{"job_id": 3}]
    moved = q.redrive()
    assert [m.body for m in moved] == [{"job_id": 3}]
    again = q.receive(wait_seconds=3)
    assert again and again[0].body == {"job_id": 3} and again[0].receive_count == 1


def test_delayed_message(queue_factory):
    q = queue_factory()
    q.send({"job_id": 4}, delay=1)
    assert q.receive(wait_seconds=0) == []
    assert q.stats().delayed == 1
    assert q.receive(wait_seconds=3)[0].body == {"job_id": 4}


def test_long_poll_returns_when_a_message_arrives(queue_factory):
    import threading

    q = queue_factory()
    threading.Timer(0.3, lambda: q.send({"job_id": 5})).start()
    started = time.monotonic()
    messages = q.receive(wait_seconds=5)
    assert messages and time.monotonic() - started < 2.5


def test_message_size_limit(queue_factory):
    q = queue_factory()
    with pytest.raises(MessageTooLarge):
        q.send({"blob": "x" * (256 * 1024)})


def test_stats_and_ping(queue_factory):
    q = queue_factory()
    q.ping()
    q.send({"job_id": 6})
    q.send({"job_id": 7})
    q.receive(wait_seconds=1)
    stats = q.stats()
    assert (stats.visible, stats.in_flight) == (1, 1)
    if queue_factory.backend == "embedded":
        assert stats.oldest_age is not None and stats.oldest_age >= 0


def test_stale_receipt_cannot_extend(tmp_path):
    q = EmbeddedQueue(tmp_path / "q.db", visibility_timeout=30)
    q.send({"job_id": 8})
    message = q.receive(wait_seconds=1)[0]
    q.delete(message.receipt)
    with pytest.raises(ReceiptExpired):
        q.change_visibility(message.receipt, 30)


def _consume(path: str, count: int, results) -> None:
    q = EmbeddedQueue(Path(path), visibility_timeout=60, wait_seconds=1)
    got = []
    while True:
        messages = q.receive(wait_seconds=1)
        if not messages:
            break
        for m in messages:
            got.append(m.body["n"])
            q.delete(m.receipt)
    results.put(got)


def test_several_processes_share_the_queue_without_duplicates(tmp_path):
    path = tmp_path / "shared.db"
    q = EmbeddedQueue(path)
    for n in range(400):
        q.send({"n": n})
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_consume, args=(str(path), 400, results)) for _ in range(3)]
    for p in procs:
        p.start()
    got = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
    everything = sorted(n for part in got for n in part)
    assert everything == list(range(400))


def test_embedded_queue_survives_kill_9(tmp_path):
    path = tmp_path / "durable.db"
    script = (
        "import sys, os, signal\n"
        "from pathlib import Path\n"
        "from openwan.queue.embedded import EmbeddedQueue\n"
        "q = EmbeddedQueue(Path(sys.argv[1]), visibility_timeout=1)\n"
        "for n in range(50): q.send({'n': n})\n"
        "q.receive(wait_seconds=0)\n"  # one message in flight when the process dies
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(path)], timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == -signal.SIGKILL
    q = EmbeddedQueue(path, visibility_timeout=30)
    time.sleep(1.1)
    seen = set()
    while messages := q.receive(wait_seconds=0.2, max_messages=10):
        for m in messages:
            seen.add(m.body["n"])
            q.delete(m.receipt)
    assert seen == set(range(50))
