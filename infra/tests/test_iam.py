from .conftest import logical_id, props


def _statements(template, policy_name):
    return {
        s["Sid"]: s
        for s in props(template, "AWS::IAM::Policy", PolicyName=policy_name)["PolicyDocument"][
            "Statement"
        ]
    }


def _arns(resource):
    return resource if isinstance(resource, list) else [resource]


def test_task_role_is_least_privilege(seed):
    statements = _statements(seed, "openwan-task")
    bucket = logical_id(seed, "AWS::S3::Bucket", BucketName="openwan-media-123456789012-us-east-1")
    media = statements["MediaObjects"]
    assert sorted(media["Action"]) == sorted(
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
         # tus termination and expiry abort the upload's S3 multipart upload.
         "s3:AbortMultipartUpload"]
    )
    assert all(bucket in str(arn) for arn in _arns(media["Resource"]))
    queues = statements["TranscodingQueues"]
    assert len(_arns(queues["Resource"])) == 2
    assert "*" not in str(queues["Resource"])
    # Narrowed from the seed's kms:Decrypt on arn:aws:kms:*:*:key/*.
    key = statements["MediaKey"]
    assert sorted(key["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert key["Resource"]["Fn::GetAtt"][1] == "Arn"
    secrets = statements["RuntimeSecrets"]
    assert secrets["Action"] == "secretsmanager:GetSecretValue"
    assert len(_arns(secrets["Resource"])) == 3
    # Only X-Ray, which has no resource-level permissions, gets "*".
    wildcard = [sid for sid, s in statements.items() if s["Resource"] == "*"]
    assert wildcard == ["Tracing"]
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= set(
        statements["Tracing"]["Action"]
    )
    role = props(seed, "AWS::IAM::Role", RoleName="openwan-ecs-task-role")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_execution_role(seed):
    statements = _statements(seed, "openwan-task-execution")
    assert statements["RegistryLogin"]["Resource"] == "*"
    assert statements["RegistryLogin"]["Action"] == "ecr:GetAuthorizationToken"
    assert "repository/openwan-backend" in str(statements["PullImages"]["Resource"])
    assert "repository/openwan-worker" in str(statements["PullImages"]["Resource"])
    log_refs = [
        {"Ref": logical_id(seed, "AWS::Logs::LogGroup", LogGroupName=name)}
        for name in ("/ecs/openwan-backend", "/ecs/openwan-worker")
    ]
    streams = [arn["Fn::Join"][1][-2:] for arn in statements["WriteLogs"]["Resource"]]
    assert streams == [[ref, ":log-stream:*"] for ref in log_refs]
    wildcard = [sid for sid, s in statements.items() if s["Resource"] == "*"]
    assert wildcard == ["RegistryLogin"]
