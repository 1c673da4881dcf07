import json

import pytest
from openwan_infra.policies import POLICIES_DIR, ROLES, export_policies, placeholders_in

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


def _actions(statement):
    return sorted(_arns(statement["Action"]))


QUEUE = "openwan-transcoding-queue"
DLQ = "openwan-transcoding-dlq"


@pytest.mark.parametrize("role", ["backend", "worker"])
def test_task_roles_are_least_privilege(seed, role):
    statements = _statements(seed, f"openwan-{role}-task")
    bucket = logical_id(seed, "AWS::S3::Bucket", BucketName="openwan-media-123456789012-us-east-1")
    media = statements["MediaObjects"]
    assert _actions(media) == sorted(
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
         # tus termination and expiry abort the upload's S3 multipart upload.
         "s3:AbortMultipartUpload"]
    )
    assert media["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]}
    assert statements["MediaBucket"]["Action"] == "s3:ListBucket"
    assert statements["MediaBucket"]["Resource"] == {"Fn::GetAtt": [bucket, "Arn"]}
    queue = logical_id(seed, "AWS::SQS::Queue", QueueName=QUEUE)
    dlq = logical_id(seed, "AWS::SQS::Queue", QueueName=DLQ)
    assert statements["TranscodingQueue"]["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert statements["DeadLetterQueue"]["Resource"] == {"Fn::GetAtt": [dlq, "Arn"]}
    # Narrowed from the seed's kms:Decrypt on arn:aws:kms:*:*:key/*.
    key = statements["MediaKey"]
    assert _actions(key) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert key["Resource"]["Fn::GetAtt"][1] == "Arn"
    secrets = statements["RuntimeSecrets"]
    assert secrets["Action"] == "secretsmanager:GetSecretValue"
    assert len(_arns(secrets["Resource"])) == 3
    # Only X-Ray, which has no resource-level permissions, gets "*".
    wildcard = [sid for sid, s in statements.items() if s["Resource"] == "*"]
    assert wildcard == ["Tracing"]
    role_props = props(seed, "AWS::IAM::Role", RoleName=f"openwan-{role}-task-role")
    (trust,) = role_props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_worker_can_heartbeat_retry_and_redrive(seed):
    statements = _statements(seed, "openwan-worker-task")
    # Without ChangeMessageVisibility the first heartbeat or retry fails with AccessDenied
    # and the consumer stops; without GetQueueUrl the DLQ cannot be found from the policy.
    assert _actions(statements["TranscodingQueue"]) == sorted([
        "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
    ])
    # jobs dlq peeks (receive, visibility 0); jobs redrive receives and deletes.
    assert _actions(statements["DeadLetterQueue"]) == sorted([
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
    ])


def test_backend_only_enqueues(seed):
    statements = _statements(seed, "openwan-backend-task")
    assert _actions(statements["TranscodingQueue"]) == sorted(
        ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    )
    assert _actions(statements["DeadLetterQueue"]) == ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]


def test_each_task_runs_as_its_own_role(seed):
    tasks = {
        family: props(seed, "AWS::ECS::TaskDefinition", Family=f"openwan-{family}")
        for family in ("backend", "worker", "migrate")
    }
    for family, task in tasks.items():
        role = logical_id(seed, "AWS::IAM::Role", RoleName=f"openwan-{family}-task-role")
        assert task["TaskRoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
    migrate = logical_id(seed, "AWS::IAM::Role", RoleName="openwan-migrate-task-role")
    # The migration needs the database only: nothing attached to its role.
    attached = [
        r for r in seed.find_resources("AWS::IAM::Policy").values()
        if {"Ref": migrate} in r["Properties"].get("Roles", [])
    ]
    assert attached == []
    assert "Policies" not in props(seed, "AWS::IAM::Role", RoleName="openwan-migrate-task-role")


def test_committed_policy_files_are_what_the_stack_synthesizes(seed):
    exported = export_policies(seed.to_json())
    assert set(exported) == set(ROLES)
    for name, text in exported.items():
        committed = (POLICIES_DIR / name).read_text(encoding="utf-8")
        assert committed == text, (
            f"infra/policies/{name} is stale: run infra/scripts/export-policies.py"
        )
        document = json.loads(text)
        assert document["Version"] == "2012-10-17"
        assert "Fn::" not in text and '"Ref"' not in text
    readme = (POLICIES_DIR / "README.md").read_text(encoding="utf-8")
    used = set().union(*(placeholders_in(text) for text in exported.values()))
    assert used == placeholders_in(readme)


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
    injected = {
        logical_id(seed, "AWS::SecretsManager::Secret", Name=name)
        for name in (
            "openwan/database/password", "openwan/jwt/secret", "openwan/redis/auth-token",
            "openwan/cloudfront/origin-secret", "openwan/admin/password",
        )
    }
    assert {r["Ref"] for r in statements["InjectSecrets"]["Resource"]} == injected
    wildcard = [sid for sid, s in statements.items() if s["Resource"] == "*"]
    assert wildcard == ["RegistryLogin"]


REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
# boto3 client methods of the app's S3 storage and the IAM action each needs.
S3_ACTIONS = {
    "put_object": "s3:PutObject",
    "upload_file": "s3:PutObject",
    "create_multipart_upload": "s3:PutObject",
    "upload_part": "s3:PutObject",
    "complete_multipart_upload": "s3:PutObject",
    "abort_multipart_upload": "s3:AbortMultipartUpload",
    "get_object": "s3:GetObject",
    "download_file": "s3:GetObject",
    "head_object": "s3:GetObject",
    "generate_presigned_url": "s3:GetObject",  # a presigned GET acts as the signer
    "delete_object": "s3:DeleteObject",
    "delete_objects": "s3:DeleteObject",
    "get_paginator": "s3:ListBucket",  # list_objects_v2
    "head_bucket": "s3:ListBucket",
}
NOT_API_CALLS = {"close"}


def _client_calls(module: str) -> set[str]:
    import re

    source = (REPO / module).read_text(encoding="utf-8")
    return set(re.findall(r"client\.([a-z_]+)\(", source)) - NOT_API_CALLS


def _granted(template, role):
    statements = _statements(template, f"openwan-{role}-task")
    return {sid: set(_arns(s["Action"])) for sid, s in statements.items()}


def test_worker_role_covers_every_sqs_call_the_app_makes(seed):
    """A new boto3 call in openwan/queue/sqs.py fails here until the role grants it."""
    calls = _client_calls("openwan/queue/sqs.py")
    assert {"change_message_visibility", "get_queue_url"} <= calls
    needed = {"sqs:" + "".join(part.title() for part in call.split("_")) for call in calls}
    granted = _granted(seed, "worker")
    assert needed <= granted["TranscodingQueue"]
    # The DLQ: everything but sending (redrive sends to the main queue).
    assert needed - {"sqs:SendMessage"} <= granted["DeadLetterQueue"]


@pytest.mark.parametrize("role", ["backend", "worker"])
def test_task_roles_cover_every_s3_call_the_app_makes(seed, role):
    calls = _client_calls("openwan/storage/s3.py")
    unknown = calls - set(S3_ACTIONS)
    assert not unknown, f"map these S3 calls to IAM actions: {unknown}"
    granted = _granted(seed, role)
    assert {S3_ACTIONS[c] for c in calls} <= granted["MediaObjects"] | granted["MediaBucket"]
