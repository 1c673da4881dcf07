"""Amazon SQS (boto3): long polling, visibility heartbeats, the redrive policy's DLQ.

Messages go to the dead-letter queue by the queue's own RedrivePolicy (after
``maxReceiveCount`` receives), so a worker that dies mid-job never has to do it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from openwan.queue.base import Message, QueueError, QueueStats, ReceiptExpired, encode

_ERRORS = (BotoCoreError, ClientError)


class SQSQueue:
    def __init__(self, url: str, *, dlq_url: str | None = None, max_receive_count: int = 3,
                 visibility_timeout: int = 30, wait_seconds: float = 20,
                 client: Any = None) -> None:
        self.url = url
        self.visibility_timeout = visibility_timeout
        self.wait_seconds = wait_seconds
        self.client = client or boto3.client(
            "sqs", config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                 # a long poll holds the connection for up to 20 s
                                 read_timeout=max(60, int(wait_seconds) + 10)))
        self._dlq_url = dlq_url
        self._max_receive_count = max_receive_count
        self._policy_read = False

    def __repr__(self) -> str:
        return f"SQSQueue({self.url.rsplit('/', 1)[-1]})"

    def _read_policy(self) -> None:
        """The queue's RedrivePolicy is the truth for the DLQ and ``maxReceiveCount``."""
        if self._policy_read:
            return
        try:
            attrs = self.client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        except _ERRORS as exc:
            raise QueueError(f"SQS queue unreachable: {exc}") from exc
        if "RedrivePolicy" in attrs:
            policy = json.loads(attrs["RedrivePolicy"])
            self._max_receive_count = int(policy.get("maxReceiveCount", self._max_receive_count))
            if self._dlq_url is None and policy.get("deadLetterTargetArn"):
                name = policy["deadLetterTargetArn"].rsplit(":", 1)[-1]
                try:
                    self._dlq_url = self.client.get_queue_url(QueueName=name)["QueueUrl"]
                except _ERRORS as exc:
                    raise QueueError(f"dead-letter queue {name} unreachable: {exc}") from exc
        self._policy_read = True

    @property
    def max_receive_count(self) -> int:
        self._read_policy()
        return self._max_receive_count

    @property
    def dlq_url(self) -> str | None:
        self._read_policy()
        return self._dlq_url

    def send(self, body: dict[str, Any], *, delay: int = 0) -> str:
        text = encode(body)
        try:
            return self.client.send_message(QueueUrl=self.url, MessageBody=text,
                                            DelaySeconds=max(0, min(delay, 900)))["MessageId"]
        except _ERRORS as exc:
            raise QueueError(f"SQS send failed: {exc}") from exc

    def receive(self, *, max_messages: int = 1, wait_seconds: float | None = None,
                visibility_timeout: int | None = None, _url: str | None = None) -> list[Message]:
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        args: dict[str, Any] = {
            "QueueUrl": _url or self.url,
            "MaxNumberOfMessages": max(1, min(max_messages, 10)),
            "WaitTimeSeconds": int(max(0, min(wait, 20))),
            "AttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
        }
        # Always ours, never the queue's attribute: kept short, the heartbeat extends it.
        args["VisibilityTimeout"] = (self.visibility_timeout if visibility_timeout is None
                                     else visibility_timeout)
        try:
            response = self.client.receive_message(**args)
        except _ERRORS as exc:
            raise QueueError(f"SQS receive failed: {exc}") from exc
        out = []
        for raw in response.get("Messages", []):
            attrs = raw.get("Attributes", {})
            try:
                body = json.loads(raw["Body"])
            except ValueError:
                body = {"name": "invalid", "raw": raw["Body"][:1000]}
            out.append(Message(raw["MessageId"], body, raw["ReceiptHandle"],
                               int(attrs.get("ApproximateReceiveCount", 1)),
                               int(attrs.get("SentTimestamp", time.time() * 1000)) / 1000))
        return out

    def delete(self, receipt: str) -> None:
        try:
            self.client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)
        except _ERRORS as exc:
            raise QueueError(f"SQS delete failed: {exc}") from exc

    def change_visibility(self, receipt: str, seconds: int) -> None:
        try:
            self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt,
                                                  VisibilityTimeout=max(0, min(seconds, 43200)))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if "ReceiptHandle" in code or "MessageNotInflight" in code:
                raise ReceiptExpired(str(exc)) from exc
            raise QueueError(f"SQS change visibility failed: {exc}") from exc
        except BotoCoreError as exc:
            raise QueueError(f"SQS change visibility failed: {exc}") from exc

    def _counts(self, url: str) -> dict[str, str]:
        try:
            return self.client.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        except _ERRORS as exc:
            raise QueueError(f"SQS attributes unavailable: {exc}") from exc

    def stats(self) -> QueueStats:
        main = self._counts(self.url)
        dead = self._counts(self.dlq_url) if self.dlq_url else {}
        # The age of the oldest message is a CloudWatch metric (ApproximateAgeOfOldestMessage),
        # not a queue attribute; the production metrics read it there.
        return QueueStats(
            visible=int(main.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(main.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(main.get("ApproximateNumberOfMessagesDelayed", 0)),
            dead=int(dead.get("ApproximateNumberOfMessages", 0)),
            oldest_age=None)

    def ping(self) -> None:
        self._counts(self.url)

    def dead_letters(self, limit: int = 100) -> list[Message]:
        if not self.dlq_url:
            return []
        seen: dict[str, Message] = {}
        deadline = time.monotonic() + 10
        while len(seen) < limit and time.monotonic() < deadline:
            # A peek: held briefly so one pass sees each message once, then released.
            batch = self.receive(max_messages=min(10, limit - len(seen)), wait_seconds=0,
                                 visibility_timeout=30, _url=self.dlq_url)
            fresh = [m for m in batch if m.id not in seen]
            seen.update((m.id, m) for m in fresh)
            if not fresh:
                break
        for message in seen.values():  # peeked, not taken: visible again at once
            try:
                self.client.change_message_visibility(
                    QueueUrl=self.dlq_url, ReceiptHandle=message.receipt, VisibilityTimeout=0)
            except _ERRORS as exc:
                raise QueueError(f"SQS DLQ visibility change failed: {exc}") from exc
        return [Message(m.id, m.body, "", m.receive_count, m.sent_at) for m in seen.values()]

    def redrive(self, limit: int | None = None) -> list[Message]:
        if not self.dlq_url:
            return []
        moved: list[Message] = []
        deadline = time.monotonic() + 60
        while (limit is None or len(moved) < limit) and time.monotonic() < deadline:
            want = 10 if limit is None else min(10, limit - len(moved))
            batch = self.receive(max_messages=want, wait_seconds=0, visibility_timeout=60,
                                 _url=self.dlq_url)
            if not batch:
                break
            for message in batch:
                # Sent first, deleted second: a crash in between duplicates, never loses.
                self.send(message.body)
                try:
                    self.client.delete_message(QueueUrl=self.dlq_url,
                                               ReceiptHandle=message.receipt)
                except _ERRORS as exc:
                    raise QueueError(f"SQS: removing a message from the DLQ failed: {exc}") from exc
                moved.append(message)
        return moved

    def close(self) -> None:
        self.client.close()
