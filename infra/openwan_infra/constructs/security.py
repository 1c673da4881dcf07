"""Security groups, KMS keys, Secrets Manager secrets and GuardDuty."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from ..checkov import skip_checks

HTTPS, APP_PORT, METRICS_PORT, MYSQL_PORT, REDIS_PORT = 443, 8080, 9090, 3306, 6379

# Characters that break a MySQL URL or that ElastiCache refuses in an AUTH token.
_EXCLUDED_SECRET_CHARACTERS = "\"'@/\\ :?#[]%&+=,;`{}<>|^~$!*()"  # noqa: S105 (a character set, not a secret)


class SecurityGroups(Construct):
    """The seed's five groups, plus the monitoring and bastion groups it references.

    Every group is created with ``allow_all_outbound=False`` so its egress is exactly the
    list below; CDK leaves a placeholder rule on groups that get no egress at all.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        cloudfront_prefix_list_id: str,
    ) -> None:
        super().__init__(scope, construct_id)

        def group(name: str, description: str) -> ec2.SecurityGroup:
            return ec2.SecurityGroup(
                self,
                name.title().replace("-", ""),
                vpc=vpc,
                security_group_name=f"openwan-{name}-sg",
                description=description,
                allow_all_outbound=False,
            )

        self.alb = group("alb", "OpenWan ALB: HTTPS from CloudFront origin-facing addresses")
        self.backend = group("backend", "OpenWan backend tasks: API on 8080, metrics on 9090")
        self.worker = group("worker", "OpenWan media workers: no inbound")
        self.rds = group("rds", "OpenWan RDS MySQL")
        self.cache = group("elasticache", "OpenWan ElastiCache Redis")
        # Referenced by the seed's rules; whatever scrapes metrics or administers the
        # database joins these groups (an SSM-managed bastion needs no inbound rule).
        self.monitoring = group("monitoring", "Prometheus scrapers allowed to reach :9090")
        self.bastion = group("bastion", "Database administration hosts")

        any_ipv4 = ec2.Peer.any_ipv4()
        # Only CloudFront reaches the ALB, so nothing bypasses the WAF (the listener also
        # wants the origin secret header). One rule: the prefix list counts as its ~55
        # entries against the group's 60-rule quota, so there is no port 80 rule (CloudFront
        # redirects HTTP itself and reaches this origin over HTTPS only).
        self.alb.add_ingress_rule(
            ec2.Peer.prefix_list(cloudfront_prefix_list_id),
            ec2.Port.tcp(HTTPS),
            "HTTPS from CloudFront origin-facing servers",
        )
        self.alb.add_egress_rule(self.backend, ec2.Port.tcp(APP_PORT), "to the backend API")

        self.backend.add_ingress_rule(self.alb, ec2.Port.tcp(APP_PORT), "API from the ALB")
        self.backend.add_ingress_rule(
            self.monitoring, ec2.Port.tcp(METRICS_PORT), "Prometheus metrics"
        )
        self.monitoring.add_egress_rule(
            self.backend, ec2.Port.tcp(METRICS_PORT), "scrape backend metrics"
        )
        for tasks in (self.backend, self.worker):
            tasks.add_egress_rule(self.rds, ec2.Port.tcp(MYSQL_PORT), "MySQL")
            tasks.add_egress_rule(self.cache, ec2.Port.tcp(REDIS_PORT), "Redis")
            tasks.add_egress_rule(any_ipv4, ec2.Port.tcp(HTTPS), "AWS APIs, S3, SQS, ECR")
            self.rds.add_ingress_rule(tasks, ec2.Port.tcp(MYSQL_PORT), "MySQL from tasks")
            self.cache.add_ingress_rule(tasks, ec2.Port.tcp(REDIS_PORT), "Redis from tasks")
        self.rds.add_ingress_rule(self.bastion, ec2.Port.tcp(MYSQL_PORT), "MySQL from bastion")
        self.bastion.add_egress_rule(self.rds, ec2.Port.tcp(MYSQL_PORT), "MySQL administration")


class EncryptionKeys(Construct):
    """The seed's three customer managed keys, plus one for logs, alarms' topics and trails.

    CloudWatch Logs and CloudWatch alarms cannot use AWS managed keys for an encrypted log
    group or SNS topic, so observability gets its own key instead of reusing a data key.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        same_account = {"StringEquals": {"aws:SourceAccount": stack.account}}

        def key(name: str, description: str) -> kms.Key:
            return kms.Key(
                self,
                name.title(),
                alias=f"alias/openwan-{name}",
                description=description,
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN,
            )

        self.rds = key("rds", "Encryption key for OpenWan RDS database")
        self.rds.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowRdsService",
                principals=[iam.ServicePrincipal("rds.amazonaws.com")],
                actions=["kms:Decrypt", "kms:DescribeKey"],
                resources=["*"],
                conditions=same_account,
            )
        )
        self.s3 = key("s3", "Encryption key for OpenWan S3 bucket")
        self.s3.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowS3Service",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
                resources=["*"],
                conditions=same_account,
            )
        )
        self.elasticache = key("elasticache", "Encryption key for OpenWan ElastiCache")
        self.observability = key(
            "observability", "Encryption key for OpenWan log groups and alert topics"
        )
        self.observability.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        self.observability.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmAndEventPublishers",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("elasticache.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=same_account,
            )
        )


class Secrets(Construct):
    """The seed's four secrets, generated at deploy time so no value lives in the template."""

    def __init__(self, scope: Construct, construct_id: str, *, database_username: str) -> None:
        super().__init__(scope, construct_id)

        def secret(
            ident: str, name: str, template: str, key: str, length: int, *,
            alphanumeric: bool = False,
        ) -> secretsmanager.Secret:
            created = secretsmanager.Secret(
                self,
                ident,
                secret_name=name,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    secret_string_template=template,
                    generate_string_key=key,
                    password_length=length,
                    exclude_characters=None if alphanumeric else _EXCLUDED_SECRET_CHARACTERS,
                    exclude_punctuation=alphanumeric or None,
                ),
                removal_policy=RemovalPolicy.RETAIN,
            )
            skip_checks(
                created,
                (
                    "CKV_AWS_149",
                    "aws/secretsmanager key: only the task and execution roles read it",
                ),
            )
            return created

        self.database_password = secret(
            "DatabasePassword",
            "openwan/database/password",
            f'{{"username":"{database_username}"}}',
            "password",
            32,
        )
        self.jwt_secret = secret("JwtSecret", "openwan/jwt/secret", "{}", "secret", 64)
        # ElastiCache AUTH tokens: 16-128 printable characters, no @ " / (excluded above).
        self.redis_auth_token = secret(
            "RedisAuthToken", "openwan/redis/auth-token", "{}", "token", 64
        )
        # The seed keeps an application-level key for client-side encryption; SSE-KMS on
        # the bucket does not need it, so no task receives it until a feature does.
        self.s3_encryption_key = secret(
            "S3EncryptionKey", "openwan/s3/encryption-key", "{}", "key", 64
        )

        # The value CloudFront sends as X-OpenWan-Origin and the ALB and the backend
        # require. Letters and digits only: the ALB's header condition treats * and ? as
        # wildcards. Rotating it means a new value and `cdk deploy` (CloudFront, the listener
        # rule and the tasks all read it at deploy time).
        self.origin_secret = secret(
            "OriginSecret", "openwan/cloudfront/origin-secret", "{}", "value", 48,
            alphanumeric=True,
        )
        # The first administrator's password: `openwan migrate` creates the account "admin"
        # from it when the database has no administrator yet, and never prints it. The
        # operator reads it with `aws secretsmanager get-secret-value`.
        self.admin_password = secret(
            "AdminPassword", "openwan/admin/password", '{"username":"admin"}', "password", 24,
            alphanumeric=True,
        )

    @property
    def runtime_secrets(self) -> list[secretsmanager.ISecret]:
        return [self.database_password, self.jwt_secret, self.redis_auth_token]


class ThreatDetection(Construct):
    """GuardDuty detector (one per account and region: disable it where one exists)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.detector = guardduty.CfnDetector(
            self,
            "Detector",
            enable=True,
            finding_publishing_frequency="FIFTEEN_MINUTES",
        )
