"""Stacks: the registry (deployed first, so images can be pushed) and the application."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Token
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from .config import DeploymentConfig
from .constructs.access import TaskRoles
from .constructs.data import Cache, Database
from .constructs.edge import WEB_ACL_NAME, Edge
from .constructs.logging import Logging
from .constructs.monitoring import MonitoredResources, Monitoring
from .constructs.network import Network
from .constructs.queue import TranscodingQueue
from .constructs.registry import Registry
from .constructs.security import EncryptionKeys, Secrets, SecurityGroups, ThreatDetection
from .constructs.services import AppEndpoints, AppSecrets, Services
from .constructs.storage import Storage


class RegistryStack(Stack):
    """ECR only: it must exist (and hold images) before the services can start."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.registry = Registry(self, "Registry", images=config.images)
        for role, repo in self.registry.repositories.items():
            CfnOutput(self, f"{role.title()}RepositoryUri", value=repo.repository_uri)


class OpenWanStack(Stack):
    """Everything else, in the seed's deployment order."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        cfg = config

        network = Network(
            self, "Network", config=cfg.network, availability_zones=cfg.availability_zones
        )
        groups = SecurityGroups(
            self,
            "SecurityGroups",
            vpc=network.vpc,
            cloudfront_prefix_list_id=cfg.edge.cloudfront_origin_prefix_list_id,
        )
        keys = EncryptionKeys(self, "Keys")
        secrets = Secrets(self, "Secrets", database_username=cfg.database.username)
        if cfg.security.guardduty:
            ThreatDetection(self, "ThreatDetection")

        storage = Storage(
            self,
            "Storage",
            config=cfg.storage,
            bucket_name=cfg.media_bucket_name,
            key=keys.s3,
            log_retention_days=cfg.observability.audit_log_retention_days,
        )
        logging = Logging(
            self,
            "Logging",
            config=cfg.observability,
            key=keys.observability,
            trail_bucket=storage.log_bucket,
        )
        queue = TranscodingQueue(self, "Queue", config=cfg.queue)

        data_subnets = network.vpc.select_subnets(**network.data_subnets._values)
        database = Database(
            self,
            "Database",
            config=cfg.database,
            vpc=network.vpc,
            subnets=network.data_subnets,
            security_group=groups.rds,
            key=keys.rds,
            password=secrets.database_password,
            log_groups=[logging.rds_error, logging.rds_slow_query],
        )
        cache = Cache(
            self,
            "Cache",
            config=cfg.cache,
            subnet_ids=data_subnets.subnet_ids,
            security_group=groups.cache,
            key=keys.elasticache,
            auth_token=secrets.redis_auth_token,
            log_group=logging.redis,
            events_key=keys.observability,
        )

        # Imported by name: the repositories live in the registry stack, deployed first.
        backend_repo = ecr.Repository.from_repository_name(
            self, "BackendRepository", cfg.images.backend_repository
        )
        worker_repo = ecr.Repository.from_repository_name(
            self, "WorkerRepository", cfg.images.worker_repository
        )
        roles = TaskRoles(
            self,
            "Roles",
            media_bucket=storage.media_bucket,
            media_key=keys.s3,
            queue=queue.queue,
            dead_letter_queue=queue.dead_letter_queue,
            runtime_secrets=secrets.runtime_secrets,
            injected_secrets=[
                *secrets.runtime_secrets,
                secrets.origin_secret,
                secrets.admin_password,
            ],
            repositories=[backend_repo, worker_repo],
            log_groups=[logging.backend, logging.worker],
        )

        services = Services(
            self,
            "Services",
            vpc=network.vpc,
            app_subnets=network.app_subnets,
            public_subnets=network.public_subnets,
            backend_config=cfg.backend,
            worker_config=cfg.worker,
            images=cfg.images,
            backend_repository=backend_repo,
            worker_repository=worker_repo,
            endpoints=AppEndpoints(
                db_host=database.instance.db_instance_endpoint_address,
                db_port=database.instance.db_instance_endpoint_port,
                db_name=cfg.database.database_name,
                db_user=cfg.database.username,
                redis_host=cache.endpoint,
                bucket_name=storage.media_bucket.bucket_name,
                queue_url=queue.queue.queue_url,
                dead_letter_queue_url=queue.dead_letter_queue.queue_url,
                region=self.region,
            ),
            secrets=AppSecrets(
                database_password=secrets.database_password,
                jwt_secret=secrets.jwt_secret,
                redis_auth_token=secrets.redis_auth_token,
                origin_secret=secrets.origin_secret,
                admin_password=secrets.admin_password,
            ),
            backend_role=roles.backend_role,
            worker_role=roles.worker_role,
            migrate_role=roles.migrate_role,
            execution_role=roles.execution_role,
            backend_log_group=logging.backend,
            worker_log_group=logging.worker,
            backend_security_group=groups.backend,
            worker_security_group=groups.worker,
            alb_security_group=groups.alb,
            certificate_arn=cfg.domain.certificate_arn,
            access_log_bucket=storage.log_bucket,
            queue=queue.queue,
        )

        edge = Edge(
            self,
            "Edge",
            config=cfg.edge,
            domain=cfg.domain,
            origin_secret=secrets.origin_secret,
            load_balancer=services.load_balancer,
            log_bucket=storage.log_bucket,
            waf_log_group_name=logging.waf.log_group_name,
        )

        Monitoring(
            self,
            "Monitoring",
            resources=MonitoredResources(
                cluster_name=services.cluster.cluster_name,
                backend_service_name=services.backend_service.service_name,
                db_instance_id=database.instance.instance_identifier,
                redis_member_cluster_ids=cache.member_cluster_ids(
                    shards=cfg.cache.shards, replicas_per_shard=cfg.cache.replicas_per_shard
                ),
                queue_name=queue.queue.queue_name,
                dead_letter_queue_name=queue.dead_letter_queue.queue_name,
                load_balancer_full_name=services.load_balancer.load_balancer_full_name,
                web_acl_name=WEB_ACL_NAME,
                region=self.region,
            ),
            key=keys.observability,
            alarm_email=cfg.observability.alarm_email,
        )

        # What scripts/run-migration.sh and the smoke test read back.
        outputs = {
            "ClusterName": services.cluster.cluster_name,
            "MigrateTaskDefinitionArn": services.migrate_task.task_definition_arn,
            "AppSubnetIds": Token.as_string(
                ",".join(network.vpc.select_subnets(**network.app_subnets._values).subnet_ids)
            ),
            "BackendSecurityGroupId": groups.backend.security_group_id,
            "LoadBalancerDnsName": services.load_balancer.load_balancer_dns_name,
            "DistributionDomainName": edge.distribution.distribution_domain_name,
            "MediaBucketName": storage.media_bucket.bucket_name,
            "QueueUrl": queue.queue.queue_url,
            "DeadLetterQueueUrl": queue.dead_letter_queue.queue_url,
            "WorkerTaskDefinitionArn": services.worker_task.task_definition_arn,
            "WorkerSecurityGroupId": groups.worker.security_group_id,
            "AdminPasswordSecretArn": secrets.admin_password.secret_arn,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
