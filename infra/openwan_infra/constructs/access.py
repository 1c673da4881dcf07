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

TASK_ROLE_NAME = "openwan-ecs-task-role"
EXECUTION_ROLE_NAME = "openwan-ecs-task-execution-role"
QUEUE_ACTIONS = [
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
]


class TaskRoles(Construct):
    """The seed's two roles, each statement narrowed to this deployment's resources.

    The seed grants by name pattern (``openwan-media-*``, ``arn:aws:sqs:*:*:openwan-*``,
    ``secret:openwan/*``) and ``kms:Decrypt`` on ``key/*``: patterns that match resources in
    any account and every key in the account. Here each statement names the exact ARNs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        media_bucket: s3.IBucket,
        media_key: kms.IKey,
        queues: list[sqs.IQueue],
        runtime_secrets: list[secretsmanager.ISecret],
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

        # One role for backend, worker and migration tasks, as in the seed (its queue policy
        # names exactly this role).
        self.task_role = iam.Role(
            self,
            "TaskRole",
            role_name=TASK_ROLE_NAME,
            assumed_by=tasks_principal,
            description="OpenWan application tasks (backend, worker, migrate)",
        )
        task_statements = [
            iam.PolicyStatement(
                sid="MediaObjects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
                         "s3:AbortMultipartUpload"],
                resources=[media_bucket.bucket_arn, media_bucket.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                sid="TranscodingQueues",
                actions=QUEUE_ACTIONS,
                resources=[queue.queue_arn for queue in queues],
            ),
            # The app may resolve *_SECRET_ARN settings itself at start-up.
            iam.PolicyStatement(
                sid="RuntimeSecrets",
                actions=["secretsmanager:GetSecretValue"],
                resources=secret_arns,
            ),
            # Narrowed from the seed's kms:Decrypt on arn:aws:kms:*:*:key/* to the media
            # bucket's key; GenerateDataKey added because PutObject into an SSE-KMS bucket
            # needs it (Decrypt alone only allows reads).
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
        task_policy = iam.Policy(
            self, "TaskPolicy", policy_name="openwan-task", statements=task_statements
        )
        task_policy.attach_to_role(self.task_role)
        skip_checks(
            task_policy,
            ("CKV_AWS_111", "X-Ray actions support no resource-level restriction"),
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
                    resources=secret_arns,
                ),
            ],
        )
        execution_policy.attach_to_role(self.execution_role)
        skip_checks(
            execution_policy,
            ("CKV_AWS_111", "ecr:GetAuthorizationToken supports no resource-level restriction"),
        )

        for queue in queues:
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowECSTasksToSendReceive",
                    principals=[iam.ArnPrincipal(self.task_role.role_arn)],
                    actions=QUEUE_ACTIONS,
                    resources=[queue.queue_arn],
                )
            )
