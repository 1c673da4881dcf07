"""ECS cluster, Fargate backend behind the ALB, Fargate workers, and the migration task."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..config import BackendConfig, ImagesConfig, WorkerConfig

APP_PORT, METRICS_PORT, REDIS_PORT = 8080, 9090, 6379
# OTLP over HTTP: what the application exports to the ADOT sidecar.
OTLP_ENDPOINT = "http://localhost:4318"
BACKEND_COMMAND = [
    "openwan",
    "serve",
    "--host",
    "0.0.0.0",  # noqa: S104 (inside the task network namespace)
    "--port",
    str(APP_PORT),
    "--metrics-port",
    str(METRICS_PORT),
]
WORKER_COMMAND = ["openwan", "worker"]
MIGRATE_COMMAND = ["openwan", "migrate"]
HEALTH_CHECK_COMMAND = ["CMD-SHELL", f"curl -f http://localhost:{APP_PORT}/health || exit 1"]
# Exits 0 while the worker's consumer heartbeat is fresh: a worker whose consumer thread
# died or hangs is replaced by ECS instead of idling with the process still alive.
WORKER_HEALTH_CHECK_COMMAND = ["CMD", "openwan", "worker", "--check"]
ORIGIN_HEADER = "X-OpenWan-Origin"
WORKER_AGE_ALARM_NAME = "openwan-worker-scale-out-oldest-message"
# The RDS certificate bundle the Dockerfile installs: the app verifies the database's TLS
# certificate against it (the parameter group sets require_secure_transport=ON).
RDS_CA_BUNDLE = "/etc/ssl/rds/global-bundle.pem"
# With a read-only root filesystem, uploads in flight and FFmpeg's scratch files need a
# writable task-local volume.
SCRATCH_VOLUME, SCRATCH_PATH = "scratch", "/tmp"  # noqa: S108 (task-private volume)

_ARCHITECTURES = {"x86_64": ecs.CpuArchitecture.X86_64, "arm64": ecs.CpuArchitecture.ARM64}


@dataclass(frozen=True, kw_only=True)
class AppEndpoints:
    """Where the application finds its dependencies (becomes the container environment)."""

    db_host: str
    db_port: str
    db_name: str
    db_user: str
    redis_host: str
    bucket_name: str
    queue_url: str
    dead_letter_queue_url: str
    region: str


@dataclass(frozen=True, kw_only=True)
class AppSecrets:
    database_password: secretsmanager.ISecret
    jwt_secret: secretsmanager.ISecret
    redis_auth_token: secretsmanager.ISecret
    origin_secret: secretsmanager.ISecret
    admin_password: secretsmanager.ISecret


class Services(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        app_subnets: ec2.SubnetSelection,
        public_subnets: ec2.SubnetSelection,
        backend_config: BackendConfig,
        worker_config: WorkerConfig,
        images: ImagesConfig,
        backend_repository: ecr.IRepository,
        worker_repository: ecr.IRepository,
        endpoints: AppEndpoints,
        secrets: AppSecrets,
        backend_role: iam.IRole,
        worker_role: iam.IRole,
        migrate_role: iam.IRole,
        execution_role: iam.IRole,
        backend_log_group: logs.ILogGroup,
        worker_log_group: logs.ILogGroup,
        backend_security_group: ec2.ISecurityGroup,
        worker_security_group: ec2.ISecurityGroup,
        alb_security_group: ec2.ISecurityGroup,
        certificate_arn: str,
        access_log_bucket: s3.IBucket,
        queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self._images = images
        self._secrets = secrets
        self._execution_role = execution_role

        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name="openwan",
            vpc=vpc,
            # Container Insights publishes RunningTaskCount, which the worker scaling uses.
            container_insights_v2=ecs.ContainerInsights.ENABLED,
            enable_fargate_capacity_providers=True,
        )

        environment = {
            "OPENWAN_ENV": "production",
            "DB_PORT": endpoints.db_port,
            "DB_NAME": endpoints.db_name,
            "DB_USER": endpoints.db_user,
            "DB_HOST": endpoints.db_host,
            "OPENWAN_DB_TLS": "true",
            "OPENWAN_DB_TLS_CA": RDS_CA_BUNDLE,
            "REDIS_HOST": endpoints.redis_host,
            "REDIS_PORT": str(REDIS_PORT),
            "OPENWAN_REDIS_TLS": "true",
            # The configuration endpoint of a cluster-mode replication group: said, not
            # guessed from the host name.
            "OPENWAN_REDIS_CLUSTER": "true",
            "S3_BUCKET": endpoints.bucket_name,
            "SQS_QUEUE_URL": endpoints.queue_url,
            "OPENWAN_DLQ_URL": endpoints.dead_letter_queue_url,
            "AWS_REGION": endpoints.region,
            "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT,
            "OPENWAN_DATA_DIR": f"{SCRATCH_PATH}/openwan",
        }
        self.environment = environment

        # --- backend -------------------------------------------------------------------
        self.backend_task = self._task_definition(
            "Backend",
            family="openwan-backend",
            cpu=backend_config.cpu,
            memory_mib=backend_config.memory_mib,
            architecture=backend_config.architecture,
            role=backend_role,
        )
        backend = self.backend_task.add_container(
            "backend",
            container_name="backend",
            image=ecs.ContainerImage.from_ecr_repository(backend_repository, images.tag),
            command=BACKEND_COMMAND,
            environment={
                **environment,
                # CloudFront and the ALB each add an X-Forwarded-For hop; the app trusts them
                # only on requests that carry the origin secret.
                "OPENWAN_TRUSTED_PROXY_HOPS": "2",
                "OPENWAN_WEB_PROCESSES": str(backend_config.web_processes),
            },
            secrets={
                **self._container_secrets(),
                "OPENWAN_ORIGIN_SECRET": ecs.Secret.from_secrets_manager(
                    secrets.origin_secret, "value"
                ),
            },
            port_mappings=[
                ecs.PortMapping(container_port=APP_PORT, name="http"),
                ecs.PortMapping(container_port=METRICS_PORT, name="metrics"),
            ],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="ecs", log_group=backend_log_group),
            health_check=ecs.HealthCheck(
                command=HEALTH_CHECK_COMMAND,
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(60),
            ),
            readonly_root_filesystem=True,
        )
        self._mount_scratch(self.backend_task, backend)
        self._add_otel_collector(self.backend_task, backend_log_group)

        self.backend_service = ecs.FargateService(
            self,
            "BackendService",
            service_name="openwan-backend",
            cluster=self.cluster,
            task_definition=self.backend_task,
            desired_count=backend_config.desired_count,
            vpc_subnets=app_subnets,
            security_groups=[backend_security_group],
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
            health_check_grace_period=Duration.seconds(120),
        )

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            load_balancer_name="openwan-alb",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=public_subnets,
            security_group=alb_security_group,
            drop_invalid_header_fields=True,
            deletion_protection=False,
        )
        self.load_balancer.log_access_logs(access_log_bucket, prefix="alb")
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "BackendTargets",
            target_group_name="openwan-backend",
            vpc=vpc,
            port=APP_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path="/health",
                healthy_http_codes="200",
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        self.backend_service.attach_to_application_target_group(self.target_group)
        self.https_listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            # Only requests that came through CloudFront (and so through the WAF) carry the
            # origin secret; anything else that reaches the ALB gets a bare 403.
            default_action=elbv2.ListenerAction.fixed_response(
                403, content_type="text/plain", message_body="Forbidden"
            ),
            open=False,  # the ALB security group admits CloudFront's origin-facing addresses
        )
        self.https_listener.add_action(
            "FromCloudFront",
            priority=1,
            conditions=[
                elbv2.ListenerCondition.http_header(
                    ORIGIN_HEADER,
                    [
                        secrets.origin_secret.secret_value_from_json("value").unsafe_unwrap()
                    ],
                )
            ],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )
        # No port 80 listener: viewers reach CloudFront, which redirects HTTP to HTTPS and
        # talks to this origin over HTTPS only.

        backend_scaling = self.backend_service.auto_scale_task_count(
            min_capacity=backend_config.min_count, max_capacity=backend_config.max_count
        )
        backend_scaling.scale_on_cpu_utilization(
            "CpuScaling", target_utilization_percent=backend_config.cpu_target_percent
        )
        backend_scaling.scale_on_memory_utilization(
            "MemoryScaling", target_utilization_percent=backend_config.memory_target_percent
        )

        # --- worker --------------------------------------------------------------------
        self.worker_task = self._task_definition(
            "Worker",
            family="openwan-worker",
            cpu=worker_config.cpu,
            memory_mib=worker_config.memory_mib,
            architecture=worker_config.architecture,
            role=worker_role,
            # A 50 GiB master copied locally (when FFmpeg cannot stream it from a presigned
            # URL) plus its outputs, for each job the task runs at once (config.py).
            ephemeral_storage_gib=worker_config.ephemeral_storage_gib,
        )
        worker = self.worker_task.add_container(
            "worker",
            container_name="worker",
            image=ecs.ContainerImage.from_ecr_repository(worker_repository, images.tag),
            command=WORKER_COMMAND,
            environment={
                **environment,
                # The task's vCPUs: jobs at once, and FFmpeg threads per job.
                "OPENWAN_WORKER_CONCURRENCY": str(worker_config.concurrency),
                "FFMPEG_THREADS": str(worker_config.ffmpeg_threads),
            },
            secrets=self._container_secrets(),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="ecs", log_group=worker_log_group),
            health_check=ecs.HealthCheck(
                command=WORKER_HEALTH_CHECK_COMMAND,
                interval=Duration.seconds(30),
                timeout=Duration.seconds(10),
                retries=3,
                start_period=Duration.seconds(120),
            ),
            readonly_root_filesystem=True,
            # SIGTERM lets the worker put its message back; two minutes is the longest
            # Fargate (and Spot reclamation) allows before SIGKILL.
            stop_timeout=Duration.seconds(120),
        )
        self._mount_scratch(self.worker_task, worker)
        self._add_otel_collector(self.worker_task, worker_log_group)

        capacity = (
            [ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1)]
            if worker_config.spot
            else None
        )
        self.worker_service = ecs.FargateService(
            self,
            "WorkerService",
            service_name="openwan-worker",
            cluster=self.cluster,
            task_definition=self.worker_task,
            desired_count=worker_config.desired_count,
            vpc_subnets=app_subnets,
            security_groups=[worker_security_group],
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
            capacity_provider_strategies=capacity,
        )
        self._scale_workers_on_backlog(config=worker_config, queue=queue)

        # --- migration (deployment step 19) ---------------------------------------------
        # Not a service: run once per release with scripts/run-migration.sh, which starts
        # this task in the application subnets and fails unless it exits 0.
        self.migrate_task = self._task_definition(
            "Migrate",
            family="openwan-migrate",
            cpu=512,
            memory_mib=1024,
            architecture=backend_config.architecture,
            role=migrate_role,
        )
        migrate = self.migrate_task.add_container(
            "migrate",
            container_name="migrate",
            image=ecs.ContainerImage.from_ecr_repository(backend_repository, images.tag),
            command=MIGRATE_COMMAND,
            environment=environment,
            secrets={
                **self._container_secrets(),
                # The first administrator is created from it, and it is never printed.
                "OPENWAN_ADMIN_PASSWORD": ecs.Secret.from_secrets_manager(
                    secrets.admin_password, "password"
                ),
            },
            logging=ecs.LogDrivers.aws_logs(stream_prefix="migrate", log_group=backend_log_group),
            readonly_root_filesystem=True,
        )
        self._mount_scratch(self.migrate_task, migrate)

    # ---------------------------------------------------------------------------------
    def _task_definition(
        self,
        ident: str,
        *,
        family: str,
        cpu: int,
        memory_mib: int,
        architecture: str,
        role: iam.IRole,
        ephemeral_storage_gib: int | None = None,
    ) -> ecs.FargateTaskDefinition:
        return ecs.FargateTaskDefinition(
            self,
            f"{ident}Task",
            family=family,
            cpu=cpu,
            memory_limit_mib=memory_mib,
            # 20 GiB is Fargate's default: leave the property out rather than restate it.
            ephemeral_storage_gib=ephemeral_storage_gib
            if ephemeral_storage_gib and ephemeral_storage_gib > 20
            else None,
            task_role=role,
            execution_role=self._execution_role,
            runtime_platform=ecs.RuntimePlatform(
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
                cpu_architecture=_ARCHITECTURES[architecture],
            ),
        )

    def _container_secrets(self) -> dict[str, ecs.Secret]:
        # JWT and Redis secrets go to the worker and migration too: the settings object
        # refuses to start in production with a placeholder secret, whatever the command.
        return {
            "DB_PASSWORD": ecs.Secret.from_secrets_manager(
                self._secrets.database_password, "password"
            ),
            "JWT_SECRET": ecs.Secret.from_secrets_manager(self._secrets.jwt_secret, "secret"),
            "OPENWAN_REDIS_AUTH_TOKEN": ecs.Secret.from_secrets_manager(
                self._secrets.redis_auth_token, "token"
            ),
        }

    @staticmethod
    def _mount_scratch(task: ecs.FargateTaskDefinition, container: ecs.ContainerDefinition) -> None:
        task.add_volume(name=SCRATCH_VOLUME)
        container.add_mount_points(
            ecs.MountPoint(
                container_path=SCRATCH_PATH, source_volume=SCRATCH_VOLUME, read_only=False
            )
        )

    def _add_otel_collector(
        self, task: ecs.FargateTaskDefinition, log_group: logs.ILogGroup
    ) -> None:
        """ADOT sidecar: receives OTLP/HTTP on localhost:4318 and forwards traces to X-Ray."""
        task.add_container(
            "otel-collector",
            container_name="aws-otel-collector",
            image=ecs.ContainerImage.from_registry(self._images.adot_collector_image),
            command=["--config=/etc/ecs/ecs-default-config.yaml"],
            # Losing traces must not take the application down with it.
            essential=False,
            memory_reservation_mib=256,
            logging=ecs.LogDrivers.aws_logs(stream_prefix="otel", log_group=log_group),
            readonly_root_filesystem=True,
        )

    def _scale_workers_on_backlog(self, *, config: WorkerConfig, queue: sqs.IQueue) -> None:
        """Target tracking on backlog per task, plus a step on the oldest message's age.

        Tracking the raw queue depth (the seed's "SQSQueueDepth") assumes the metric falls in
        proportion to added capacity, which a queue's depth does not; dividing by the running
        task count gives the AWS-recommended "backlog per instance" that does. The target is
        a few waiting jobs per task (``queue_depth_target``, not the seed's 100: at minutes
        per transcode, 100 waiting jobs per task is hours of queue). Few long jobs keep the
        backlog low while one waits for long, so the age of the oldest message adds tasks in
        steps too, before a long queue builds.
        """
        target = appscaling.ScalableTarget(
            self,
            "WorkerScalingTarget",
            service_namespace=appscaling.ServiceNamespace.ECS,
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{self.cluster.cluster_name}/{self.worker_service.service_name}",
            min_capacity=config.min_count,
            max_capacity=config.max_count,
        )
        queue_name = queue.queue_name
        age = config.oldest_message_age_seconds
        age_scaling = target.scale_on_metric(
            "OldestMessageAgeScaling",
            metric=cloudwatch.Metric(
                namespace="AWS/SQS",
                metric_name="ApproximateAgeOfOldestMessage",
                dimensions_map={"QueueName": queue_name},
                statistic="Maximum",
                period=Duration.minutes(1),
            ),
            # Scale-out only: below the threshold the target tracking above decides.
            scaling_steps=[
                appscaling.ScalingInterval(upper=age, change=0),
                appscaling.ScalingInterval(lower=age, change=1),
                appscaling.ScalingInterval(lower=3 * age, change=3),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.seconds(config.scale_out_cooldown_seconds),
            evaluation_periods=2,
            datapoints_to_alarm=2,
        )
        alarm = age_scaling.node.find_child("UpperAlarm").node.default_child
        assert isinstance(alarm, cloudwatch.CfnAlarm)
        alarm.alarm_name = WORKER_AGE_ALARM_NAME
        appscaling.CfnScalingPolicy(
            self,
            "WorkerBacklogScaling",
            policy_name="openwan-worker-backlog-per-task",
            policy_type="TargetTrackingScaling",
            scaling_target_id=target.scalable_target_id,
            target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=config.queue_depth_target,
                scale_in_cooldown=config.scale_in_cooldown_seconds,
                scale_out_cooldown=config.scale_out_cooldown_seconds,
                customized_metric_specification=appscaling.CfnScalingPolicy.CustomizedMetricSpecificationProperty(
                    metrics=[
                        _metric_stat(
                            "visible",
                            "AWS/SQS",
                            "ApproximateNumberOfMessagesVisible",
                            {"QueueName": queue_name},
                            "Sum",
                        ),
                        _metric_stat(
                            "tasks",
                            "ECS/ContainerInsights",
                            "RunningTaskCount",
                            {
                                "ClusterName": self.cluster.cluster_name,
                                "ServiceName": self.worker_service.service_name,
                            },
                            "Average",
                        ),
                        appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty(
                            id="backlog_per_task",
                            expression="visible / tasks",
                            label="Visible messages per running worker task",
                            return_data=True,
                        ),
                    ]
                ),
            ),
        )


def _metric_stat(
    ident: str, namespace: str, name: str, dimensions: dict[str, str], stat: str
) -> appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty:
    cls = appscaling.CfnScalingPolicy
    return cls.TargetTrackingMetricDataQueryProperty(
        id=ident,
        return_data=False,
        metric_stat=cls.TargetTrackingMetricStatProperty(
            stat=stat,
            metric=cls.TargetTrackingMetricProperty(
                namespace=namespace,
                metric_name=name,
                dimensions=[
                    cls.TargetTrackingMetricDimensionProperty(name=key, value=value)
                    for key, value in dimensions.items()
                ],
            ),
        ),
    )
