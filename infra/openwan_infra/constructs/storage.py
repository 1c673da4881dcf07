"""The media bucket (seed layout original/, preview/, thumbnails/) and the log bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..checkov import skip_checks
from ..config import StorageConfig


class Storage(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StorageConfig,
        bucket_name: str,
        key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Access logs of the ALB, CloudFront and the media bucket, and the CloudTrail trail.
        # SSE-S3 because ALB access logging cannot write to SSE-KMS buckets; ACLs enabled
        # (BucketOwnerPreferred) because CloudFront standard logging still writes with ACLs.
        self.log_bucket = s3.Bucket(
            self,
            "LogBucket",
            bucket_name=f"openwan-logs-{stack.account}-{stack.region}",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(id="ExpireLogs", expiration=Duration.days(log_retention_days)),
                s3.LifecycleRule(
                    id="DeleteIncompleteUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        skip_checks(
            self.log_bucket,
            ("CKV_AWS_18", "this is the access-log target; logging it into itself would loop"),
            ("CKV_AWS_21", "write-once logs that expire: versioning would only double storage"),
        )

        self.media_bucket = s3.Bucket(
            self,
            "MediaBucket",
            bucket_name=bucket_name,
            versioned=True,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            # One data key per bucket rather than per object: cuts KMS requests (and cost)
            # by orders of magnitude for a bucket holding millions of renditions.
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/media/",
            cors=[
                s3.CorsRule(
                    allowed_origins=config.cors_allowed_origins,
                    allowed_methods=[
                        s3.HttpMethods.GET,
                        s3.HttpMethods.PUT,
                        s3.HttpMethods.POST,
                        s3.HttpMethods.DELETE,
                    ],
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3600,
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="TransitionOldVersions",
                    noncurrent_version_transitions=[
                        s3.NoncurrentVersionTransition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=Duration.days(config.noncurrent_to_glacier_days),
                        )
                    ],
                    noncurrent_version_expiration=Duration.days(config.noncurrent_expiration_days),
                ),
                s3.LifecycleRule(
                    id="DeleteIncompleteUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(
                        config.abort_incomplete_upload_days
                    ),
                ),
                s3.LifecycleRule(
                    id="TransitionPreviewToIA",
                    prefix="preview/",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(config.preview_to_ia_days),
                        )
                    ],
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
