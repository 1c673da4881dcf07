"""The parts of a deployment configuration that cost money.

A deliberately small, dependency-free reader of ``infra/config/<profile>.json``: it takes
the sizes and usage assumptions it needs and ignores the rest (domains, windows, ARNs), so
the infrastructure model can grow without breaking the estimator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

PACKAGED_PROFILES = ("seed", "optimized", "lean-ha")


class SizingError(ValueError):
    """The deployment configuration lacks a value the estimate needs."""


@dataclass(frozen=True, kw_only=True)
class TaskSizing:
    cpu_units: int
    memory_mib: int
    architecture: str
    desired_count: int
    min_count: int
    max_count: int
    spot: bool = False
    ephemeral_storage_gib: int = 20

    @property
    def vcpu(self) -> float:
        return self.cpu_units / 1024

    @property
    def memory_gb(self) -> float:
        return self.memory_mib / 1024


@dataclass(frozen=True, kw_only=True)
class DatabaseSizing:
    instance_class: str
    engine_version: str
    multi_az: bool
    allocated_storage_gb: int
    iops: int
    storage_throughput_mbps: int
    read_replicas: int
    read_replica_instance_class: str


@dataclass(frozen=True, kw_only=True)
class CacheSizing:
    node_type: str
    shards: int
    replicas_per_shard: int

    @property
    def nodes(self) -> int:
        return self.shards * (1 + self.replicas_per_shard)


@dataclass(frozen=True, kw_only=True)
class NetworkSizing:
    availability_zones: int
    nat_gateways: int
    s3_gateway_endpoint: bool
    interface_endpoints: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Purchasing:
    fargate_savings_plan: bool
    rds_reserved_instances: bool
    elasticache_reserved_nodes: bool


@dataclass(frozen=True, kw_only=True)
class Usage:
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


@dataclass(frozen=True, kw_only=True)
class Sizing:
    profile: str
    region: str
    backend: TaskSizing
    worker: TaskSizing
    database: DatabaseSizing
    cache: CacheSizing
    network: NetworkSizing
    purchasing: Purchasing
    usage: Usage

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sizing:
        """Build from a parsed deployment configuration (the infra JSON schema)."""
        try:
            backend, worker = config["backend"], config["worker"]
            database, cache, network = config["database"], config["cache"], config["network"]
            return cls(
                profile=config["profile"],
                region=config["region"],
                backend=_task(backend),
                worker=_task(worker),
                database=DatabaseSizing(
                    instance_class=database["instance_class"],
                    engine_version=str(database["engine_version"]),
                    multi_az=bool(database["multi_az"]),
                    allocated_storage_gb=int(database["allocated_storage_gb"]),
                    iops=int(database["iops"]),
                    storage_throughput_mbps=int(database["storage_throughput_mbps"]),
                    read_replicas=int(database["read_replicas"]),
                    read_replica_instance_class=database["read_replica_instance_class"],
                ),
                cache=CacheSizing(
                    node_type=cache["node_type"],
                    shards=int(cache["shards"]),
                    replicas_per_shard=int(cache["replicas_per_shard"]),
                ),
                network=NetworkSizing(
                    availability_zones=len(config["availability_zones"]),
                    nat_gateways=int(network["nat_gateways"]),
                    s3_gateway_endpoint=bool(network.get("s3_gateway_endpoint", False)),
                    interface_endpoints=tuple(network.get("interface_endpoints", ())),
                ),
                purchasing=Purchasing(**_pick(Purchasing, config["purchasing"])),
                usage=Usage(**_pick(Usage, config["usage"])),
            )
        except KeyError as missing:
            raise SizingError(f"deployment configuration lacks {missing}") from None


def _task(section: dict[str, Any]) -> TaskSizing:
    return TaskSizing(
        cpu_units=int(section["cpu"]),
        memory_mib=int(section["memory_mib"]),
        architecture=section["architecture"],
        desired_count=int(section["desired_count"]),
        min_count=int(section["min_count"]),
        max_count=int(section["max_count"]),
        spot=bool(section.get("spot", False)),
        ephemeral_storage_gib=int(section.get("ephemeral_storage_gib", 20)),
    )


def _pick(model: type, section: dict[str, Any]) -> dict[str, Any]:
    wanted = {field.name for field in fields(model)}
    missing = wanted - section.keys()
    if missing:
        raise SizingError(f"deployment configuration lacks {sorted(missing)}")
    return {name: section[name] for name in wanted}


def load_sizing(profile: str) -> Sizing:
    """``seed`` / ``optimized`` / ``lean-ha`` (shipped with the package) or a config file."""
    if profile in PACKAGED_PROFILES:
        text = (
            resources.files(__package__)
            .joinpath(f"profiles/{profile}.json")
            .read_text(encoding="utf-8")
        )
    else:
        path = Path(profile)
        if not path.is_file():
            raise SizingError(
                f"unknown profile {profile!r}: use {' | '.join(PACKAGED_PROFILES)} or a file path"
            )
        text = path.read_text(encoding="utf-8")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise SizingError(f"{profile}: not valid JSON ({error})") from None
    return Sizing.from_config(config)
