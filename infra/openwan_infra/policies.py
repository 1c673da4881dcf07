"""The task roles' IAM policies as plain JSON documents, outside CloudFormation.

The application's IAM-enforced tests (moto with IAM enforcement) run each process under the
exact policy the stack gives its role. ``export_policies`` merges every policy attached to a
role in the synthesized template into one ``{"Version", "Statement"}`` document and replaces
each CloudFormation reference by a named placeholder (``${QueueArn}``, ``${MediaBucketArn}``,
...), which the tests fill in with their own resources' ARNs. ``infra/policies/`` holds the
result; ``infra/scripts/export-policies.py`` rewrites it and an infra test fails when it is
stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

POLICIES_DIR = Path(__file__).resolve().parent.parent / "policies"
# File name -> role name.
ROLES = {
    "backend-task-role.json": "openwan-backend-task-role",
    "worker-task-role.json": "openwan-worker-task-role",
}
# (resource type, identifying property, its value, attribute or "Ref") -> placeholder.
_NAMED: dict[tuple[str, str, str, str], str] = {
    ("AWS::SQS::Queue", "QueueName", "openwan-transcoding-queue", "Arn"): "QueueArn",
    ("AWS::SQS::Queue", "QueueName", "openwan-transcoding-queue", "Ref"): "QueueUrl",
    ("AWS::SQS::Queue", "QueueName", "openwan-transcoding-dlq", "Arn"): "DeadLetterQueueArn",
    ("AWS::SQS::Queue", "QueueName", "openwan-transcoding-dlq", "Ref"): "DeadLetterQueueUrl",
    ("AWS::SecretsManager::Secret", "Name", "openwan/database/password", "Ref"): "DbSecretArn",
    ("AWS::SecretsManager::Secret", "Name", "openwan/jwt/secret", "Ref"): "JwtSecretArn",
    (
        "AWS::SecretsManager::Secret",
        "Name",
        "openwan/redis/auth-token",
        "Ref",
    ): "RedisAuthTokenSecretArn",
}
PSEUDO = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix"}


class UnnamedReference(ValueError):
    """A policy refers to a resource that has no placeholder name yet."""


def _placeholders(resources: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(logical id, attribute) -> placeholder, for the resources task policies name."""
    found: dict[tuple[str, str], str] = {}
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        for (type_, prop, value, attribute), name in _NAMED.items():
            if kind == type_ and props.get(prop) == value:
                found[(logical_id, attribute)] = name
        if kind == "AWS::S3::Bucket" and str(props.get("BucketName", "")).startswith(
            "openwan-media-"
        ):
            found[(logical_id, "Arn")] = "MediaBucketArn"
            found[(logical_id, "Ref")] = "MediaBucketName"
        if kind == "AWS::KMS::Alias" and props.get("AliasName") == "alias/openwan-s3":
            key = props["TargetKeyId"]
            key_id = key["Fn::GetAtt"][0] if "Fn::GetAtt" in key else key["Ref"]
            found[(key_id, "Arn")] = "KmsKeyArn"
            found[(key_id, "Ref")] = "KmsKeyId"
    return found


def _resolve(node: Any, names: dict[tuple[str, str], str]) -> Any:
    if isinstance(node, list):
        return [_resolve(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        target = node["Ref"]
        if target in PSEUDO:
            return "${" + target + "}"
        return _placeholder(names, target, "Ref")
    if set(node) == {"Fn::GetAtt"}:
        target, attribute = node["Fn::GetAtt"]
        return _placeholder(names, target, attribute)
    if set(node) == {"Fn::Join"}:
        separator, parts = node["Fn::Join"]
        return separator.join(str(_resolve(part, names)) for part in parts)
    if any(key.startswith("Fn::") for key in node):
        raise UnnamedReference(f"unsupported intrinsic in a task policy: {node}")
    return {key: _resolve(value, names) for key, value in node.items()}


def _placeholder(names: dict[tuple[str, str], str], target: str, attribute: str) -> str:
    try:
        return "${" + names[(target, attribute)] + "}"
    except KeyError:
        raise UnnamedReference(
            f"{target}.{attribute} has no placeholder: name it in openwan_infra/policies.py"
        ) from None


def role_policy(template: dict[str, Any], role_name: str) -> dict[str, Any]:
    """Every statement of every policy attached to ``role_name``, references as placeholders."""
    resources = template["Resources"]
    (role_id,) = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Role"
        and resource.get("Properties", {}).get("RoleName") == role_name
    ]
    role = resources[role_id]["Properties"]
    if role.get("ManagedPolicyArns"):
        raise UnnamedReference(f"{role_name} has managed policies; export them too")
    statements: list[Any] = []
    for policy in role.get("Policies", []):
        statements.extend(policy["PolicyDocument"]["Statement"])
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in props.get("Roles", []):
            statements.extend(props["PolicyDocument"]["Statement"])
    names = _placeholders(resources)
    return {"Version": "2012-10-17", "Statement": _resolve(statements, names)}


def export_policies(template: dict[str, Any]) -> dict[str, str]:
    """File name -> file text, for each exported role."""
    return {
        filename: json.dumps(role_policy(template, role), indent=2) + "\n"
        for filename, role in ROLES.items()
    }


def placeholders_in(text: str) -> set[str]:
    import re

    return set(re.findall(r"\$\{([A-Za-z:]+)\}", text))
