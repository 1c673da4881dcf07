"""IAM: the task role the application runs as and the execution role ECS pulls and logs with."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..checkov import skip_checks

BACKEND_ROLE_NAME = "openwan-backend-task-role"
WORKER_ROLE_NAME = "openwan-worker-task-role"
MIGRATE_ROLE_NAME = "openwan-migrate-task-role"
EXECUTION_ROLE_NAME = "openwan-ecs-task-execution-role"

# What openwan/queue/sqs.py calls, per role and queue. GetQueueUrl: the DLQ's URL is looked
# up from the RedrivePolicy when OPENWAN_DLQ_URL is unset. ChangeMessageVisibility: the
# worker's heartbeat and its hand-back on SIGTERM; on the DLQ, `openwan jobs dlq` peeks
# (receive, then visibility 0) and `openwan jobs redrive` moves (receive, send to the main
# queue, delete). The backend only enqueues and reads the counts (/ready, metrics).
BACKEND_QUEUE_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
BACKEND_DLQ_ACTIONS = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
WORKER_QUEUE_ACTIONS = [
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
WORKER_DLQ_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
# openwan/storage/s3.py: put_object and the multipart calls (s3:PutObject), get/head/download
# (s3:GetObject), delete_object(s) (s3:DeleteObject), abort_multipart_upload; list_objects_v2
# and head_bucket are s3:ListBucket on the bucket itself.
MEDIA_OBJECT_ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
]


class TaskRoles(Construct):
    """One role per kind of task, each statement narrowed to this deployment's resources.

    The seed has one task role for everything and grants by name pattern
    (``openwan-media-*``, ``arn:aws:sqs:*:*:openwan-*``, ``secret:openwan/*``) and
    ``kms:Decrypt`` on ``key/*``: patterns that match resources in any account and every key
    in the account. Here the backend, the worker and the migration each get their own role,
    and each statement names the exact ARNs. ``infra/policies/`` holds the synthesized
    documents (``openwan_infra.policies``), which the application's IAM-enforced tests use.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        media_bucket: s3.IBucket,
        media_key: kms.IKey,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        runtime_secrets: list[secretsmanager.ISecret],
        injected_secrets: list[secretsmanager.ISecret],
        repositories: list[ecr.IRepository],
        log_groups: list[logs.ILogGroup],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        tasks_principal = iam.ServicePrincipal(
            "ecs-tasks.amazonaws.com",
            conditions={
                "ArnLike": {"aws:SourceArn": stack.format_arn(service="ecs", resource="*")},
                "StringEquals": {"aws:SourceAccount": stack.account},
            },
        )
        secret_arns = [secret.secret_arn for secret in runtime_secrets]

        def common_statements() -> list[iam.PolicyStatement]:
            return [
                iam.PolicyStatement(
                    sid="MediaObjects",
                    actions=MEDIA_OBJECT_ACTIONS,
                    resources=[media_bucket.arn_for_objects("*")],
                ),
                iam.PolicyStatement(
                    sid="MediaBucket",
                    actions=["s3:ListBucket"],
                    resources=[media_bucket.bucket_arn],
                ),
                # The app may resolve *_SECRET_ARN settings itself at start-up.
                iam.PolicyStatement(
                    sid="RuntimeSecrets",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=secret_arns,
                ),
                # Narrowed from the seed's kms:Decrypt on arn:aws:kms:*:*:key/* to the media
                # bucket's key; GenerateDataKey added because PutObject into an SSE-KMS
                # bucket needs it (Decrypt alone only allows reads).
                iam.PolicyStatement(
                    sid="MediaKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[media_key.key_arn],
                ),
                # X-Ray takes no resource-level permissions; the sampling reads let the ADOT
                # collector apply the sampling rules defined in this stack.
                iam.PolicyStatement(
                    sid="Tracing",
                    actions=[
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                        "xray:GetSamplingStatisticSummaries",
                    ],
                    resources=["*"],
                ),
            ]

        def task_role(
            ident: str, name: str, description: str, queue_actions: list[str],
            dlq_actions: list[str],
        ) -> iam.Role:
            role = iam.Role(
                self, ident, role_name=name, assumed_by=tasks_principal, description=description
            )
            statements = common_statements()
            statements[1:1] = [
                iam.PolicyStatement(
                    sid="TranscodingQueue", actions=queue_actions, resources=[queue.queue_arn]
                ),
                iam.PolicyStatement(
                    sid="DeadLetterQueue",
                    actions=dlq_actions,
                    resources=[dead_letter_queue.queue_arn],
                ),
            ]
            policy = iam.Policy(
                self,
                f"{ident}Policy",
                policy_name=name.removesuffix("-role"),
                statements=statements,
            )
            policy.attach_to_role(role)
            skip_checks(
                policy, ("CKV_AWS_111", "X-Ray actions support no resource-level restriction")
            )
            return role

        self.backend_role = task_role(
            "BackendTaskRole",
            BACKEND_ROLE_NAME,
            "OpenWan backend tasks (API and web)",
            BACKEND_QUEUE_ACTIONS,
            BACKEND_DLQ_ACTIONS,
        )
        self.worker_role = task_role(
            "WorkerTaskRole",
            WORKER_ROLE_NAME,
            "OpenWan media workers, and one-off `openwan jobs dlq|redrive` tasks",
            WORKER_QUEUE_ACTIONS,
            WORKER_DLQ_ACTIONS,
        )
        # `openwan migrate` talks to the database only (its password and the first
        # admin's are injected by the execution role): a role with no permissions at all.
        self.migrate_role = iam.Role(
            self,
            "MigrateTaskRole",
            role_name=MIGRATE_ROLE_NAME,
            assumed_by=tasks_principal,
            description="OpenWan one-off migration task: database only, no AWS API access",
        )

        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            role_name=EXECUTION_ROLE_NAME,
            assumed_by=tasks_principal,
            description="ECS agent: pull OpenWan images, write logs, inject secrets",
        )
        execution_policy = iam.Policy(
            self,
            "ExecutionPolicy",
            policy_name="openwan-task-execution",
            statements=[
                # GetAuthorizationToken is account-wide by design; the image reads are
                # narrowed from the seed's "*" to the two repositories.
                iam.PolicyStatement(
                    sid="RegistryLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="PullImages",
                    actions=[
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchGetImage",
                    ],
                    resources=[repo.repository_arn for repo in repositories],
                ),
                # The stack creates the groups, so CreateLogGroup is not needed; streams and
                # events only in the application's groups (the seed had "*").
                iam.PolicyStatement(
                    sid="WriteLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[
                        stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name=f"{group.log_group_name}:log-stream:*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                        for group in log_groups
                    ],
                ),
                iam.PolicyStatement(
                    sid="InjectSecrets",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[secret.secret_arn for secret in injected_secrets],
                ),
            ],
        )
        execution_policy.attach_to_role(self.execution_role)
        skip_checks(
            execution_policy,
            ("CKV_AWS_111", "ecr:GetAuthorizationToken supports no resource-level restriction"),
        )

        # The queues' resource policies say the same as the roles' policies, statement for
        # statement, so neither side grants what the other withholds.
        backend, worker = self.backend_role, self.worker_role
        for target, grants in (
            (queue, ((backend, BACKEND_QUEUE_ACTIONS), (worker, WORKER_QUEUE_ACTIONS))),
            (dead_letter_queue, ((backend, BACKEND_DLQ_ACTIONS), (worker, WORKER_DLQ_ACTIONS))),
        ):
            for role, actions in grants:
                target.add_to_resource_policy(
                    iam.PolicyStatement(
                        sid="Backend" if role is self.backend_role else "Worker",
                        principals=[iam.ArnPrincipal(role.role_arn)],
                        actions=actions,
                        resources=[target.queue_arn],
                    )
                )
