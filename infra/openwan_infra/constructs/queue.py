"""The transcoding queue and its dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..config import QueueConfig


class TranscodingQueue(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: QueueConfig) -> None:
        super().__init__(scope, construct_id)
        # SSE with the AWS managed key (alias/aws/sqs) as in the seed: no key policy to keep
        # in step with every producer and consumer.
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name="openwan-transcoding-dlq",
            retention_period=Duration.days(config.dlq_retention_days),
            encryption=sqs.QueueEncryption.KMS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name="openwan-transcoding-queue",
            delivery_delay=Duration.seconds(0),
            retention_period=Duration.days(config.retention_days),
            # One hour: a long transcode must finish before the message reappears and a
            # second worker starts the same job.
            visibility_timeout=Duration.seconds(config.visibility_timeout_seconds),
            receive_message_wait_time=Duration.seconds(config.receive_wait_seconds),
            max_message_size_bytes=config.max_message_bytes,
            encryption=sqs.QueueEncryption.KMS_MANAGED,
            data_key_reuse=Duration.seconds(config.kms_data_key_reuse_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=config.max_receive_count, queue=self.dead_letter_queue
            ),
            enforce_ssl=True,
        )
