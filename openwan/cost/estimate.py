"""Monthly cost from unit prices and a sizing: a pure function, no I/O beyond loading prices."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .sizing import Sizing, SizingError, TaskSizing

SECTIONS = (
    "Compute (ECS Fargate)",
    "Database (RDS)",
    "Cache (ElastiCache)",
    "Storage (S3 + CloudFront)",
    "Networking",
    "Queue (SQS)",
    "Security & Monitoring",
    "Other Services",
)


@dataclass(frozen=True)
class LineItem:
    section: str
    name: str
    detail: str
    monthly: float
    # False for the charges the architecture document's cost table leaves out (NAT data
    # processing, WAF fixed fees, KMS, Container Insights, task storage, Extended Support).
    in_seed_table: bool = True


@dataclass
class Estimate:
    profile: str
    region: str
    prices_as_of: str
    lines: list[LineItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, section: str, name: str, detail: str, monthly: float, *, in_seed_table: bool = True
    ) -> None:
        self.lines.append(LineItem(section, name, detail, monthly, in_seed_table))

    def subtotal(self, section: str, *, seed_table_only: bool = False) -> float:
        return sum(
            line.monthly
            for line in self.lines
            if line.section == section and (line.in_seed_table or not seed_table_only)
        )

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    @property
    def seed_table_total(self) -> float:
        """The lines the architecture document's table prices; ``total`` adds the rest."""
        return sum(line.monthly for line in self.lines if line.in_seed_table)


def load_prices(region: str = "us-east-1") -> dict[str, Any]:
    name = f"prices-{region}.json"
    source = resources.files(__package__).joinpath(name)
    if not source.is_file():
        raise SizingError(f"no price list for region {region} (expected {name})")
    return json.loads(source.read_text(encoding="utf-8"))


def _hourly(table: dict[str, float], instance: str, service: str) -> float:
    try:
        return table[instance]
    except KeyError:
        raise SizingError(
            f"no {service} price for {instance}; priced: {', '.join(sorted(table))}"
        ) from None


def _fargate_task_month(task: TaskSizing, prices: dict[str, Any], hours: float) -> float:
    try:
        rate = prices["fargate"][task.architecture]
    except KeyError:
        raise SizingError(f"no Fargate price for architecture {task.architecture}") from None
    return (task.vcpu * rate["vcpu_hour"] + task.memory_gb * rate["gb_hour"]) * hours


def _task_label(task: TaskSizing) -> str:
    return f"{task.vcpu:g} vCPU, {task.memory_gb:g} GB x {task.desired_count} (baseline)"


def estimate(sizing: Sizing, prices: dict[str, Any]) -> Estimate:
    """The monthly bill of ``sizing`` at ``prices``, line by line, as in the seed's table."""
    hours = prices["hours_per_month"]
    usage = sizing.usage
    buy = sizing.purchasing
    result = Estimate(sizing.profile, sizing.region, prices["as_of"])

    # --- compute --------------------------------------------------------------------------
    section = SECTIONS[0]
    fargate = prices["fargate"]
    savings_plan = fargate["compute_savings_plan_discount"]["value"]
    spot = fargate["spot_discount"]["value"]
    compute = 0.0
    for role, task in (("Backend", sizing.backend), ("Worker", sizing.worker)):
        monthly = _fargate_task_month(task, prices, hours) * task.desired_count
        detail = _task_label(task)
        if task.architecture == "arm64":
            detail += ", Graviton"
        # Spot and Savings Plans do not stack: Savings Plans cover on-demand usage only.
        if task.spot:
            monthly *= 1 - spot
            detail += f", Spot -{spot:.0%}"
        elif buy.fargate_savings_plan:
            monthly *= 1 - savings_plan
            detail += f", Savings Plan -{savings_plan:.0%}"
        compute += monthly
        result.add(section, f"{role} ({task.min_count}-{task.max_count} tasks)", detail, monthly)
    result.add(
        section,
        f"Auto Scaling (average +{usage.autoscaling_extra_fraction:.0%})",
        "",
        compute * usage.autoscaling_extra_fraction,
    )
    included = fargate["ephemeral_storage_included_gb"]
    for role, task in (("Backend", sizing.backend), ("Worker", sizing.worker)):
        extra_gb = max(0, task.ephemeral_storage_gib - included)
        if extra_gb:
            tasks = task.desired_count * (1 + usage.autoscaling_extra_fraction)
            result.add(
                section,
                f"{role} task storage (+{extra_gb} GB)",
                f"{task.ephemeral_storage_gib} GB per task, {tasks:g} tasks on average",
                extra_gb * fargate["ephemeral_storage_gb_hour"] * hours * tasks,
                in_seed_table=False,
            )

    # --- database -------------------------------------------------------------------------
    section = SECTIONS[1]
    rds = prices["rds_mysql"]
    db = sizing.database
    rds_discount = rds["reserved_discount"]["value"] if buy.rds_reserved_instances else 0.0
    reserved = f", reserved -{rds_discount:.0%}" if rds_discount else ""
    copies = rds["multi_az_factor"] if db.multi_az else 1
    primary = _hourly(rds["instance_hour"], db.instance_class, "RDS") * copies * hours
    result.add(
        section,
        "Primary (Multi-AZ)" if db.multi_az else "Primary (single-AZ)",
        db.instance_class + reserved,
        primary * (1 - rds_discount),
    )
    # gp3 on RDS includes 12,000 IOPS and 500 MB/s from 400 GB up (3,000 / 125 below).
    large = db.allocated_storage_gb >= rds["gp3_included_from_gb"]
    included_iops = rds["gp3_included_iops"] if large else 3000
    included_mbps = rds["gp3_included_throughput_mbps"] if large else 125
    storage = (
        db.allocated_storage_gb * rds["gp3_gb_month"]
        + max(0, db.iops - included_iops) * rds["gp3_extra_iops_month"]
        + max(0, db.storage_throughput_mbps - included_mbps)
        * rds["gp3_extra_throughput_mbps_month"]
    ) * copies
    result.add(
        section,
        f"Storage ({db.allocated_storage_gb}GB gp3)",
        f"{db.iops:,} IOPS, {db.storage_throughput_mbps} MB/s",
        storage,
    )
    result.add(
        section,
        f"Backup Storage ({usage.rds_backup_billable_gb:g} GB)",
        "",
        usage.rds_backup_billable_gb * rds["backup_gb_month"],
    )
    support = rds["extended_support"]
    major = ".".join(db.engine_version.split(".")[:2])
    if major not in support["standard_support_majors"]:
        vcpus = _hourly(rds["instance_vcpus"], db.instance_class, "RDS vCPU")
        instances = copies
        replica_vcpus = 0
        if db.read_replicas:
            replica_vcpus = db.read_replicas * _hourly(
                rds["instance_vcpus"], db.read_replica_instance_class, "RDS vCPU"
            )
        result.add(
            section,
            f"Extended Support (MySQL {major})",
            f"{vcpus * instances + replica_vcpus} vCPU x ${support['vcpu_hour']}/vCPU-hr",
            (vcpus * instances + replica_vcpus) * support["vcpu_hour"] * hours,
            in_seed_table=False,
        )
    if db.read_replicas:
        replica = _hourly(rds["instance_hour"], db.read_replica_instance_class, "RDS") * hours
        replica_storage = db.allocated_storage_gb * rds["gp3_gb_month"]
        result.add(
            section,
            f"Read replicas (x{db.read_replicas})",
            db.read_replica_instance_class + reserved,
            db.read_replicas * (replica * (1 - rds_discount) + replica_storage),
        )

    # --- cache ----------------------------------------------------------------------------
    section = SECTIONS[2]
    cache = sizing.cache
    node_hour = _hourly(prices["elasticache"]["node_hour"], cache.node_type, "ElastiCache")
    cache_discount = (
        prices["elasticache"]["reserved_discount"]["value"]
        if buy.elasticache_reserved_nodes
        else 0.0
    )
    result.add(
        section,
        f"Redis Cluster ({cache.nodes} nodes)",
        f"{cache.node_type} x {cache.nodes} @ ${node_hour}/hr"
        + (f", reserved -{cache_discount:.0%}" if cache_discount else ""),
        node_hour * cache.nodes * hours * (1 - cache_discount),
    )

    # --- storage and CDN ------------------------------------------------------------------
    section = SECTIONS[3]
    s3 = prices["s3"]
    result.add(
        section,
        f"S3 Standard ({usage.s3_standard_gb / 1024:g} TB)",
        f"${s3['standard_gb_month']}/GB",
        usage.s3_standard_gb * s3["standard_gb_month"],
    )
    requests = usage.s3_put_requests_million + usage.s3_get_requests_million
    result.add(
        section,
        f"S3 Requests ({requests:g}M requests)",
        f"{usage.s3_put_requests_million:g}M PUT, {usage.s3_get_requests_million:g}M GET",
        usage.s3_put_requests_million * s3["put_per_million"]
        + usage.s3_get_requests_million * s3["get_per_million"],
    )
    result.add(
        section,
        f"CloudFront ({usage.cloudfront_transfer_gb:g} GB transfer)",
        f"${prices['cloudfront']['transfer_gb']}/GB",
        usage.cloudfront_transfer_gb * prices["cloudfront"]["transfer_gb"],
    )

    # --- networking -----------------------------------------------------------------------
    section = SECTIONS[4]
    alb = prices["alb"]
    result.add(
        section,
        "ALB (730 hrs + LCU)",
        f"{usage.alb_average_lcu:g} LCU average",
        alb["hour"] * hours + alb["lcu_hour"] * usage.alb_average_lcu * hours,
    )
    nat = prices["nat_gateway"]
    result.add(
        section,
        f"NAT Gateway ({sizing.network.nat_gateways} AZs)",
        f"${nat['hour']}/hr x {sizing.network.nat_gateways} x {hours}",
        nat["hour"] * sizing.network.nat_gateways * hours,
    )
    result.add(
        section,
        f"NAT data processing ({usage.nat_processed_gb:g} GB)",
        f"${nat['processed_gb']}/GB"
        + (", S3 via the gateway endpoint" if sizing.network.s3_gateway_endpoint else ""),
        nat["processed_gb"] * usage.nat_processed_gb,
        in_seed_table=False,
    )
    if sizing.network.s3_gateway_endpoint:
        result.add(section, "S3 Gateway Endpoint", "free; S3 traffic skips NAT processing", 0.0)
        result.notes.append(
            "The S3 gateway endpoint's saving is NAT data processing "
            f"(${nat['processed_gb']}/GB): S3 uploads and media reads skip the NAT gateways."
        )
    if sizing.network.interface_endpoints:
        endpoint = prices["vpc_interface_endpoint"]
        count = len(sizing.network.interface_endpoints)
        result.add(
            section,
            f"Interface Endpoints ({count})",
            ", ".join(sizing.network.interface_endpoints),
            endpoint["az_hour"] * count * sizing.network.availability_zones * hours,
        )
    result.add(
        section,
        f"Data Transfer ({usage.internet_transfer_gb:g}GB out)",
        f"${prices['data_transfer_out']['gb']}/GB",
        usage.internet_transfer_gb * prices["data_transfer_out"]["gb"],
    )

    # --- queue ----------------------------------------------------------------------------
    result.add(
        SECTIONS[5],
        f"Standard Queue ({usage.sqs_requests_million:g}M requests)",
        f"${prices['sqs']['per_million']}/M",
        usage.sqs_requests_million * prices["sqs"]["per_million"],
    )

    # --- security and monitoring ----------------------------------------------------------
    section = SECTIONS[6]
    cw = prices["cloudwatch"]
    guardduty = prices["guardduty"]
    for name, monthly in (
        (
            f"WAF ({usage.waf_requests_million:g}M requests)",
            usage.waf_requests_million * prices["waf"]["per_million_requests"],
        ),
        (
            f"CloudWatch Logs ({usage.cloudwatch_logs_ingested_gb:g}GB)",
            usage.cloudwatch_logs_ingested_gb * cw["logs_ingested_gb"],
        ),
        (
            f"CloudWatch Metrics ({usage.cloudwatch_custom_metrics} custom)",
            usage.cloudwatch_custom_metrics * cw["custom_metric_month"],
        ),
        (
            f"X-Ray ({usage.xray_traces_million:g}M traces)",
            usage.xray_traces_million * prices["xray"]["per_million_traces"],
        ),
        (
            f"Secrets Manager ({usage.secrets} secrets)",
            usage.secrets * prices["secrets_manager"]["secret_month"],
        ),
        (
            "GuardDuty",
            usage.guardduty_cloudtrail_events_million * guardduty["cloudtrail_events_per_million"]
            + usage.guardduty_flow_dns_logs_gb * guardduty["flow_dns_logs_gb"],
        ),
    ):
        result.add(section, name, "", monthly)
    waf = prices["waf"]
    result.add(
        section,
        f"WAF web ACL + {usage.waf_rules} rules",
        f"${waf['web_acl_month']:g} + ${waf['rule_month']:g}/rule a month",
        waf["web_acl_month"] + waf["rule_month"] * usage.waf_rules,
        in_seed_table=False,
    )
    kms = prices["kms"]
    result.add(
        section,
        f"KMS ({usage.kms_keys} keys, {usage.kms_requests_million:g}M requests)",
        f"${kms['key_month']:g}/key, ${kms['per_million_requests']:g}/M",
        usage.kms_keys * kms["key_month"]
        + usage.kms_requests_million * kms["per_million_requests"],
        in_seed_table=False,
    )
    result.add(
        section,
        "Container Insights",
        f"{usage.container_insights_metrics} metrics, "
        f"{usage.container_insights_logs_gb:g} GB events",
        usage.container_insights_metrics * cw["custom_metric_month"]
        + usage.container_insights_logs_gb * cw["logs_ingested_gb"],
        in_seed_table=False,
    )

    # --- other ----------------------------------------------------------------------------
    section = SECTIONS[7]
    result.add(
        section,
        f"Route 53 ({usage.route53_hosted_zones} hosted zone)",
        "",
        usage.route53_hosted_zones * prices["route53"]["hosted_zone_month"],
    )
    result.add(section, "ACM (SSL certificate)", "FREE", 0.0)
    result.add(
        section,
        f"ECR ({usage.ecr_storage_gb:g}GB)",
        "",
        usage.ecr_storage_gb * prices["ecr"]["storage_gb_month"],
    )
    return result
