import pytest

from .conftest import logical_id, props, resources

BUCKET = "openwan-media-123456789012-us-east-1"


def test_media_bucket(seed):
    bucket = props(seed, "AWS::S3::Bucket", BucketName=BUCKET)
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (sse,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert sse["BucketKeyEnabled"] is True
    (cors,) = bucket["CorsConfiguration"]["CorsRules"]
    assert cors == {
        "AllowedOrigins": ["https://openwan.example.com"],
        "AllowedMethods": ["GET", "PUT", "POST", "DELETE"],
        "AllowedHeaders": ["*"],
        "ExposedHeaders": ["ETag"],
        "MaxAge": 3600,
    }


def test_media_lifecycle_rules(seed):
    rules = {
        rule["Id"]: rule
        for rule in props(seed, "AWS::S3::Bucket", BucketName=BUCKET)["LifecycleConfiguration"][
            "Rules"
        ]
    }
    assert set(rules) == {
        "TransitionOldVersions",
        "DeleteIncompleteUploads",
        "TransitionPreviewToIA",
    }
    old = rules["TransitionOldVersions"]
    assert old["NoncurrentVersionTransitions"] == [
        {"StorageClass": "GLACIER", "TransitionInDays": 30}
    ]
    assert old["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert rules["DeleteIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }
    preview = rules["TransitionPreviewToIA"]
    assert preview["Prefix"] == "preview/"
    assert preview["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 90}]
    assert all(rule["Status"] == "Enabled" for rule in rules.values())


def test_media_bucket_grants_nobody_and_is_tls_only(seed):
    """Media leaves the bucket through presigned URLs only: no CloudFront (OAC) grant.

    The seed let CloudFront read the whole bucket, original/* included, and served
    /preview/* and /thumbnails/* publicly; the tasks' own roles are the only readers now.
    """
    bucket_id = logical_id(seed, "AWS::S3::Bucket", BucketName=BUCKET)
    (policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in resources(seed, "AWS::S3::BucketPolicy").values()
        if r["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert [s for s in policy if s["Effect"] == "Allow"] == []
    assert "cloudfront" not in str(policy)
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy
    )
    # Nor may CloudFront use the bucket's key.
    key = props(seed, "AWS::KMS::Key", Description="Encryption key for OpenWan S3 bucket")
    assert "cloudfront" not in str(key["KeyPolicy"])
    seed.resource_count_is("AWS::CloudFront::OriginAccessControl", 0)


def test_transcoding_queue(seed):
    queue = props(seed, "AWS::SQS::Queue", QueueName="openwan-transcoding-queue")
    assert queue["VisibilityTimeout"] == 3600
    assert queue["MessageRetentionPeriod"] == 1209600
    assert queue["ReceiveMessageWaitTimeSeconds"] == 20
    assert queue["MaximumMessageSize"] == 262144
    assert queue["DelaySeconds"] == 0
    assert queue["KmsMasterKeyId"] == "alias/aws/sqs"
    assert queue["KmsDataKeyReusePeriodSeconds"] == 300
    dlq_id = logical_id(seed, "AWS::SQS::Queue", QueueName="openwan-transcoding-dlq")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 3,
    }
    dlq = props(seed, "AWS::SQS::Queue", QueueName="openwan-transcoding-dlq")
    assert dlq["MessageRetentionPeriod"] == 1209600


@pytest.mark.parametrize("queue_name", ["openwan-transcoding-queue", "openwan-transcoding-dlq"])
def test_queue_policies_match_the_roles(seed, queue_name):
    queue_id = logical_id(seed, "AWS::SQS::Queue", QueueName=queue_name)
    (statements,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in resources(seed, "AWS::SQS::QueuePolicy").values()
        if r["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    sid = "TranscodingQueue" if queue_name.endswith("queue") else "DeadLetterQueue"
    for role in ("backend", "worker"):
        role_id = logical_id(seed, "AWS::IAM::Role", RoleName=f"openwan-{role}-task-role")
        (allow,) = [
            s for s in statements if s["Principal"] == {"AWS": {"Fn::GetAtt": [role_id, "Arn"]}}
        ]
        granted = props(seed, "AWS::IAM::Policy", PolicyName=f"openwan-{role}-task")
        (same,) = [s for s in granted["PolicyDocument"]["Statement"] if s["Sid"] == sid]
        assert sorted(allow["Action"]) == sorted(same["Action"])
        assert allow["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    worker_dlq = "sqs:ChangeMessageVisibility"
    assert any(worker_dlq in s["Action"] for s in statements)


def test_registry_stack(registry):
    repos = {
        r["Properties"]["RepositoryName"]: r["Properties"]
        for r in resources(registry, "AWS::ECR::Repository").values()
    }
    assert set(repos) == {"openwan-backend", "openwan-worker"}
    for repo in repos.values():
        assert repo["ImageScanningConfiguration"] == {"ScanOnPush": True}
