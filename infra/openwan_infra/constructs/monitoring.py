"""Alert topics, the seed's alarms (+ DLQ), the dashboard and X-Ray sampling rules."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_xray as xray
from constructs import Construct

from .logging import BACKEND_LOG_GROUP

# The seed spells out period, statistic and evaluation periods for its first alarm only;
# the others inherit them.
DEFAULT_PERIOD = Duration.seconds(300)
DEFAULT_EVALUATION_PERIODS = 2
GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD


@dataclass(frozen=True, kw_only=True)
class MonitoredResources:
    cluster_name: str
    backend_service_name: str
    db_instance_id: str
    redis_member_cluster_ids: list[str]
    queue_name: str
    dead_letter_queue_name: str
    load_balancer_full_name: str
    web_acl_name: str
    region: str


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resources: MonitoredResources,
        key: kms.IKey,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        r = resources

        def topic(ident: str, name: str) -> sns.Topic:
            created = sns.Topic(self, ident, topic_name=name, master_key=key)
            if alarm_email:
                created.add_subscription(subscriptions.EmailSubscription(alarm_email))
            return created

        self.alerts = topic("Alerts", "openwan-alerts")
        self.critical = topic("Critical", "openwan-critical")
        self.security = topic("Security", "openwan-security")

        def alarm(
            name: str,
            metric: cloudwatch.IMetric,
            threshold: float,
            target: sns.ITopic,
            *,
            evaluation_periods: int = DEFAULT_EVALUATION_PERIODS,
            missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.MISSING,
            description: str,
        ) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self,
                name,
                alarm_name=name,
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=GT,
                evaluation_periods=evaluation_periods,
                treat_missing_data=missing,
            )
            created.add_alarm_action(cw_actions.SnsAction(target))
            return created

        backend_dims = {"ClusterName": r.cluster_name, "ServiceName": r.backend_service_name}
        ecs_cpu = cloudwatch.Metric(
            namespace="AWS/ECS",
            metric_name="CPUUtilization",
            dimensions_map=backend_dims,
            statistic="Average",
            period=DEFAULT_PERIOD,
        )
        ecs_memory = cloudwatch.Metric(
            namespace="AWS/ECS",
            metric_name="MemoryUtilization",
            dimensions_map=backend_dims,
            statistic="Average",
            period=DEFAULT_PERIOD,
        )
        db_connections = cloudwatch.Metric(
            namespace="AWS/RDS",
            metric_name="DatabaseConnections",
            dimensions_map={"DBInstanceIdentifier": r.db_instance_id},
            statistic="Average",
            period=DEFAULT_PERIOD,
        )
        self.alarms = [
            alarm(
                "openwan-backend-high-cpu",
                ecs_cpu,
                80,
                self.alerts,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
                description="Backend CPU above 80% for 10 minutes (scaling is not keeping up)",
            ),
            alarm(
                "openwan-backend-high-memory",
                ecs_memory,
                85,
                self.alerts,
                description="Backend memory above 85%",
            ),
            alarm(
                "openwan-db-connection-high",
                db_connections,
                450,
                self.critical,
                description="MySQL connections above 90% of max_connections (500)",
            ),
            alarm(
                "openwan-redis-memory-high",
                self._redis_memory(r),
                90,
                self.alerts,
                description="A Redis node above 90% of its memory",
            ),
            alarm(
                "openwan-sqs-queue-deep",
                cloudwatch.Metric(
                    namespace="AWS/SQS",
                    metric_name="ApproximateNumberOfMessagesVisible",
                    dimensions_map={"QueueName": r.queue_name},
                    statistic="Average",
                    period=DEFAULT_PERIOD,
                ),
                1000,
                self.alerts,
                description="Transcoding backlog above 1000 messages",
            ),
            alarm(
                "openwan-alb-5xx-errors",
                cloudwatch.Metric(
                    namespace="AWS/ApplicationELB",
                    metric_name="HTTPCode_Target_5XX_Count",
                    dimensions_map={"LoadBalancer": r.load_balancer_full_name},
                    statistic="Sum",
                    period=Duration.seconds(60),
                ),
                10,
                self.critical,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
                description="More than 10 backend 5xx responses a minute",
            ),
            alarm(
                "openwan-waf-blocked-high",
                cloudwatch.Metric(
                    namespace="AWS/WAFV2",
                    metric_name="BlockedRequests",
                    dimensions_map={"WebACL": r.web_acl_name, "Rule": "ALL"},
                    statistic="Sum",
                    period=DEFAULT_PERIOD,
                    # CloudFront-scope web ACLs publish their metrics in us-east-1.
                    region="us-east-1",
                ),
                100,
                self.security,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
                description="WAF blocking more than 100 requests in 5 minutes",
            ),
            # Not in the seed: a message in the DLQ is a job that failed three times and
            # will never run unless someone looks (openwan jobs dlq / redrive).
            alarm(
                "openwan-transcoding-dlq-not-empty",
                cloudwatch.Metric(
                    namespace="AWS/SQS",
                    metric_name="ApproximateNumberOfMessagesVisible",
                    dimensions_map={"QueueName": r.dead_letter_queue_name},
                    statistic="Maximum",
                    period=DEFAULT_PERIOD,
                ),
                0,
                self.alerts,
                evaluation_periods=1,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
                description="Transcoding jobs failed 3 times and sit in the DLQ",
            ),
        ]

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name="openwan")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="ECS Resource Utilization",
                left=[ecs_cpu, ecs_memory],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                period=DEFAULT_PERIOD,
                region=r.region,
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="RDS Performance",
                left=[
                    cloudwatch.Metric(
                        namespace="AWS/RDS",
                        metric_name=name,
                        dimensions_map={"DBInstanceIdentifier": r.db_instance_id},
                        statistic="Average",
                        period=DEFAULT_PERIOD,
                    )
                    for name in (
                        "CPUUtilization",
                        "DatabaseConnections",
                        "ReadLatency",
                        "WriteLatency",
                    )
                ],
                period=DEFAULT_PERIOD,
                region=r.region,
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.LogQueryWidget(
                title="Recent Errors",
                log_group_names=[BACKEND_LOG_GROUP],
                query_lines=[
                    "fields @timestamp, @message",
                    "filter @message like /ERROR/",
                    "sort @timestamp desc",
                    "limit 20",
                ],
                region=r.region,
                width=24,
            )
        )

        # The seed's sampling rules; its "default" (1 request/s + 5%) is X-Ray's built-in
        # Default rule, which CloudFormation cannot create and which already has those values.
        for ident, name, priority, method, path, reservoir, rate, attributes in (
            ("SampleErrors", "openwan-errors", 1, "*", "*", 1, 1.0, {"error": "true"}),
            ("SampleHealth", "openwan-health", 2, "GET", "/health", 0, 0.01, None),
            ("SampleOther", "openwan-other", 3, "*", "*", 1, 0.1, None),
        ):
            xray.CfnSamplingRule(
                self,
                ident,
                sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                    rule_name=name,
                    priority=priority,
                    host="*",
                    http_method=method,
                    url_path=path,
                    reservoir_size=reservoir,
                    fixed_rate=rate,
                    resource_arn="*",
                    service_name="*",
                    service_type="*",
                    version=1,
                    attributes=attributes,
                ),
            )

    @staticmethod
    def _redis_memory(r: MonitoredResources) -> cloudwatch.IMetric:
        """The fullest node: ElastiCache reports memory per node, not per replication group."""
        per_node = {
            f"m{index}": cloudwatch.Metric(
                namespace="AWS/ElastiCache",
                metric_name="DatabaseMemoryUsagePercentage",
                dimensions_map={"CacheClusterId": member},
                statistic="Average",
                period=DEFAULT_PERIOD,
            )
            for index, member in enumerate(r.redis_member_cluster_ids)
        }
        return cloudwatch.MathExpression(
            expression=f"MAX([{', '.join(per_node)}])",
            using_metrics=per_node,
            label="DatabaseMemoryUsagePercentage (fullest node)",
            period=DEFAULT_PERIOD,
        )
