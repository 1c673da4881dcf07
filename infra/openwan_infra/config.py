"""Typed deployment configuration.

Every environment-specific value the stacks use (account, region, domain, certificate,
sizes) comes from one JSON file under ``config/``. JSON rather than YAML so the runtime
package's cost estimator (``openwan cost``) can read the very same files with the standard
library only. ``extra="forbid"`` turns a typo in a profile into an error at synth time
instead of a silently ignored setting.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULT_PROFILE = "seed"
PROFILE_ENV_VAR = "OPENWAN_DEPLOY_PROFILE"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DomainConfig(_Model):
    name: str
    origin_name: str = Field(
        description="DNS name CloudFront uses to reach the ALB over TLS (the ALB certificate "
        "must cover it)."
    )
    certificate_arn: str = Field(description="Regional ACM certificate for the ALB.")
    cloudfront_certificate_arn: str = Field(description="ACM certificate in us-east-1.")
    hosted_zone_id: str | None = None
    hosted_zone_name: str | None = None


class NetworkConfig(_Model):
    vpc_cidr: str
    public_subnet_cidrs: list[str]
    app_subnet_cidrs: list[str]
    data_subnet_cidrs: list[str]
    nat_gateways: int = Field(ge=1)
    s3_gateway_endpoint: bool = False
    interface_endpoints: list[str] = Field(
        default_factory=list,
        description="Service names such as 'ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'sqs'.",
    )

    @model_validator(mode="after")
    def _subnets_inside_vpc(self) -> NetworkConfig:
        vpc = ipaddress.ip_network(self.vpc_cidr)
        for cidr in self.public_subnet_cidrs + self.app_subnet_cidrs + self.data_subnet_cidrs:
            if not ipaddress.ip_network(cidr).subnet_of(vpc):  # type: ignore[arg-type]
                raise ValueError(f"subnet {cidr} is outside the VPC {self.vpc_cidr}")
        return self


class ImagesConfig(_Model):
    tag: str
    backend_repository: str
    worker_repository: str
    adot_collector_image: str


Architecture = Literal["x86_64", "arm64"]


class BackendConfig(_Model):
    cpu: int
    memory_mib: int
    architecture: Architecture
    desired_count: int
    min_count: int
    max_count: int
    cpu_target_percent: int = Field(gt=0, le=100)
    memory_target_percent: int = Field(gt=0, le=100)

    @property
    def web_processes(self) -> int:
        """``openwan serve`` processes per task (OPENWAN_WEB_PROCESSES): one per vCPU.

        Each process runs its own event loop and thread pool; a second process per vCPU
        would only contend for the same core.
        """
        return max(1, self.cpu // 1024)


# The largest master the application accepts (OPENWAN_MAX_UPLOAD_SIZE, 50 GiB) and what one
# job writes next to it at most (proxy, previews, sprites, FFmpeg's temporary files).
MAX_MASTER_GIB, JOB_OUTPUT_GIB = 50, 25
FARGATE_DEFAULT_EPHEMERAL_GIB = 20


class WorkerConfig(_Model):
    cpu: int
    memory_mib: int
    architecture: Architecture
    desired_count: int
    min_count: int
    max_count: int
    queue_depth_target: int
    scale_in_cooldown_seconds: int
    scale_out_cooldown_seconds: int
    # Fargate task storage, 21-200 GiB (20 when unset). Sized so every job the task runs at
    # once can hold a local copy of a 50 GiB master (when FFmpeg cannot read it through a
    # presigned URL) plus its outputs.
    ephemeral_storage_gib: int = Field(FARGATE_DEFAULT_EPHEMERAL_GIB, ge=20, le=200)
    # Backlog age (seconds) at which the step policy adds workers on top of the backlog-per-
    # task target tracking, before a long queue builds.
    oldest_message_age_seconds: int = Field(300, gt=0)
    spot: bool = False

    @property
    def concurrency(self) -> int:
        """Jobs one task runs at once (OPENWAN_WORKER_CONCURRENCY): one per 2 vCPUs."""
        return max(1, self.cpu // 2048)

    @property
    def ffmpeg_threads(self) -> int:
        """FFMPEG_THREADS: the task's vCPUs shared between its concurrent jobs."""
        return max(1, (self.cpu // 1024) // self.concurrency)

    @property
    def scratch_needed_gib(self) -> int:
        return self.concurrency * (MAX_MASTER_GIB + JOB_OUTPUT_GIB)

    @model_validator(mode="after")
    def _spot_is_x86(self) -> WorkerConfig:
        # Fargate Spot offers no arm64 capacity: such a service would never place a task.
        if self.spot and self.architecture != "x86_64":
            raise ValueError("Fargate Spot workers must be x86_64")
        if self.ephemeral_storage_gib < self.scratch_needed_gib:
            raise ValueError(
                f"worker ephemeral_storage_gib {self.ephemeral_storage_gib} cannot hold "
                f"{self.concurrency} job(s) of a {MAX_MASTER_GIB} GiB master plus "
                f"{JOB_OUTPUT_GIB} GiB of outputs each ({self.scratch_needed_gib} GiB)"
            )
        return self


class DatabaseConfig(_Model):
    instance_class: str
    engine_version: str
    multi_az: bool
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    iops: int
    storage_throughput_mbps: int
    backup_retention_days: int
    backup_window: str
    maintenance_window: str
    monitoring_interval_seconds: int
    performance_insights: bool
    read_replicas: int = Field(ge=0, le=2)
    read_replica_instance_class: str
    read_replica_azs: list[str]
    deletion_protection: bool
    database_name: str
    username: str

    @field_validator("engine_version")
    @classmethod
    def _mysql_8(cls, value: str) -> str:
        # 8.4 is the LTS release on standard support; 8.0 left standard support on
        # 2026-07-31 and bills RDS Extended Support per vCPU-hour (`openwan cost` adds it).
        if not value.startswith(("8.4.", "8.0.")):
            raise ValueError("the parameter groups are written for MySQL 8.4 (or 8.0)")
        return value

    @property
    def major_version(self) -> str:
        return ".".join(self.engine_version.split(".")[:2])


class CacheConfig(_Model):
    node_type: str
    engine_version: str
    shards: int
    replicas_per_shard: int
    snapshot_retention_days: int
    snapshot_window: str
    maintenance_window: str


class QueueConfig(_Model):
    visibility_timeout_seconds: int
    retention_days: int
    receive_wait_seconds: int = Field(le=20)
    max_message_bytes: int
    max_receive_count: int
    dlq_retention_days: int
    kms_data_key_reuse_seconds: int


class StorageConfig(_Model):
    cors_allowed_origins: list[str]
    noncurrent_to_glacier_days: int
    noncurrent_expiration_days: int
    abort_incomplete_upload_days: int
    preview_to_ia_days: int


class EdgeConfig(_Model):
    price_class: Literal["PriceClass_All", "PriceClass_200", "PriceClass_100"]
    waf_rate_limit: int
    waf_allowed_countries: list[str]
    # The managed prefix list com.amazonaws.global.cloudfront.origin-facing in the stack's
    # region (the only addresses the ALB accepts). Per region, so no lookup at synth time:
    # aws ec2 describe-managed-prefix-lists \
    #   --filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing
    cloudfront_origin_prefix_list_id: str = Field(pattern=r"^pl-[0-9a-f]{8,17}$")


class SecurityConfig(_Model):
    guardduty: bool


class ObservabilityConfig(_Model):
    alarm_email: str | None = None
    app_log_retention_days: int
    access_log_retention_days: int
    audit_log_retention_days: int


class PurchasingConfig(_Model):
    """Pricing commitments: no effect on the template, only on ``openwan cost``."""

    fargate_savings_plan: bool
    rds_reserved_instances: bool
    elasticache_reserved_nodes: bool


class UsageConfig(_Model):
    """Traffic and volume assumptions behind the cost estimate (the template ignores them)."""

    autoscaling_extra_fraction: float
    rds_backup_billable_gb: float
    s3_standard_gb: float
    s3_put_requests_million: float
    s3_get_requests_million: float
    cloudfront_transfer_gb: float
    alb_average_lcu: float
    internet_transfer_gb: float
    nat_processed_gb: float
    sqs_requests_million: float
    waf_requests_million: float
    waf_rules: int
    kms_keys: int
    kms_requests_million: float
    container_insights_metrics: int
    container_insights_logs_gb: float
    cloudwatch_logs_ingested_gb: float
    cloudwatch_custom_metrics: int
    xray_traces_million: float
    secrets: int
    guardduty_cloudtrail_events_million: float
    guardduty_flow_dns_logs_gb: float
    route53_hosted_zones: int
    ecr_storage_gb: float


class DeploymentConfig(_Model):
    profile: str
    description: str
    account: str = Field(pattern=r"^\d{12}$")
    region: str
    availability_zones: list[str] = Field(min_length=2)
    domain: DomainConfig
    network: NetworkConfig
    images: ImagesConfig
    backend: BackendConfig
    worker: WorkerConfig
    database: DatabaseConfig
    cache: CacheConfig
    queue: QueueConfig
    storage: StorageConfig
    edge: EdgeConfig
    security: SecurityConfig
    observability: ObservabilityConfig
    purchasing: PurchasingConfig
    usage: UsageConfig

    @model_validator(mode="after")
    def _one_subnet_per_az(self) -> DeploymentConfig:
        azs = len(self.availability_zones)
        net = self.network
        for tier, cidrs in (
            ("public", net.public_subnet_cidrs),
            ("app", net.app_subnet_cidrs),
            ("data", net.data_subnet_cidrs),
        ):
            if len(cidrs) != azs:
                raise ValueError(f"{tier} subnets: {len(cidrs)} CIDRs for {azs} AZs")
        if net.nat_gateways > azs:
            raise ValueError("more NAT gateways than public subnets")
        # CloudFront only accepts WAF web ACLs and certificates from us-east-1; a stack in
        # another region would need a separate us-east-1 edge stack, which we do not build yet.
        if self.region != "us-east-1":
            raise ValueError(
                "the edge (CloudFront + WAF) is built in the main stack: use us-east-1"
            )
        return self

    @property
    def media_bucket_name(self) -> str:
        return f"openwan-media-{self.account}-{self.region}"


def resolve_profile_path(profile: str) -> Path:
    """A profile is a name under ``config/`` (``seed``) or a path to a JSON file."""
    candidate = Path(profile)
    if candidate.suffix == ".json" or candidate.exists():
        return candidate
    return CONFIG_DIR / f"{profile}.json"


def load_config(profile: str | None = None) -> DeploymentConfig:
    name = profile or os.environ.get(PROFILE_ENV_VAR) or DEFAULT_PROFILE
    path = resolve_profile_path(name)
    return DeploymentConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
