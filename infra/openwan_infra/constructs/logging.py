"""Log groups, saved Logs Insights queries and the CloudTrail trail."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..checkov import skip_checks
from ..config import ObservabilityConfig

BACKEND_LOG_GROUP = "/ecs/openwan-backend"
WORKER_LOG_GROUP = "/ecs/openwan-worker"
RDS_INSTANCE_ID = "openwan-db"
REDIS_REPLICATION_GROUP_ID = "openwan-redis"
# WAF only delivers to log groups whose name starts with "aws-waf-logs-"; the seed's
# "/aws/waf/openwan" would be rejected, so the group carries the accepted form of that name.
WAF_LOG_GROUP = "aws-waf-logs-openwan"

ERROR_RATE_QUERY = """fields @timestamp, @message
| filter @message like /ERROR/
| stats count() as error_count by bin(5m)"""
SLOW_QUERIES_QUERY = """fields @timestamp, duration, query
| filter operation = "database.query" and duration > 1000
| sort duration desc
| limit 20"""
API_RESPONSE_TIMES_QUERY = """fields @timestamp, api_endpoint, response_time
| stats avg(response_time) as avg_response, max(response_time) as max_response by api_endpoint
| sort avg_response desc"""


# CloudWatch Logs accepts only these retention periods; a profile asking for another
# fails at synth time with the list.
_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def _retention(days: int) -> logs.RetentionDays:
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(f"log retention {days} days: choose one of {sorted(_RETENTION)}") from None


class Logging(Construct):
    """The seed's seven log groups (plus RDS slow-query export) and three saved queries."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ObservabilityConfig,
        key: kms.IKey,
        trail_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)

        def group(ident: str, name: str, days: int) -> logs.LogGroup:
            return logs.LogGroup(
                self,
                ident,
                log_group_name=name,
                retention=_retention(days),
                encryption_key=key,
                # Logs are evidence: keep them when the stack goes away.
                removal_policy=RemovalPolicy.RETAIN,
            )

        app_days = config.app_log_retention_days
        access_days = config.access_log_retention_days
        self.backend = group("Backend", BACKEND_LOG_GROUP, app_days)
        self.worker = group("Worker", WORKER_LOG_GROUP, app_days)
        # Created before the database so RDS exports into a group with a retention policy
        # instead of creating one that never expires.
        self.rds_error = group("RdsError", f"/aws/rds/instance/{RDS_INSTANCE_ID}/error", app_days)
        self.rds_slow_query = group(
            "RdsSlowQuery", f"/aws/rds/instance/{RDS_INSTANCE_ID}/slowquery", app_days
        )
        self.redis = group("Redis", f"/aws/elasticache/{REDIS_REPLICATION_GROUP_ID}", app_days)
        # ALB access logs can only go to S3 (the log bucket's alb/ prefix); this group keeps
        # the seed's name for anything shipped from there (e.g. a log forwarder).
        self.alb = group("Alb", "/aws/alb/openwan", access_days)
        self.waf = group("Waf", WAF_LOG_GROUP, access_days)
        self.cloudtrail = group(
            "CloudTrail", "/aws/cloudtrail/openwan", config.audit_log_retention_days
        )

        app_groups = [BACKEND_LOG_GROUP, WORKER_LOG_GROUP]
        for ident, name, query in (
            ("ErrorRateQuery", "openwan/error-rate", ERROR_RATE_QUERY),
            ("SlowQueriesQuery", "openwan/slow-queries", SLOW_QUERIES_QUERY),
            ("ApiResponseTimesQuery", "openwan/api-response-times", API_RESPONSE_TIMES_QUERY),
        ):
            definition = logs.CfnQueryDefinition(
                self, ident, name=name, query_string=query, log_group_names=app_groups
            )
            for group in (self.backend, self.worker):
                definition.node.add_dependency(group)

        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            trail_name="openwan",
            bucket=trail_bucket,
            s3_key_prefix="cloudtrail",
            send_to_cloud_watch_logs=True,
            cloud_watch_log_group=self.cloudtrail,
            enable_file_validation=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
        )
        skip_checks(
            self.trail,
            (
                "CKV_AWS_35",
                "trail files sit in the SSE-S3 log bucket; SSE-KMS would bill every event",
            ),
        )
