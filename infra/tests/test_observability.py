import json

from .conftest import props, resources

LOG_GROUPS = {
    "/ecs/openwan-backend": 30,
    "/ecs/openwan-worker": 30,
    "/aws/rds/instance/openwan-db/error": 30,
    "/aws/elasticache/openwan-redis": 30,
    "/aws/alb/openwan": 90,
    # the seed's /aws/waf/openwan, in the name WAF accepts
    "aws-waf-logs-openwan": 90,
    "/aws/cloudtrail/openwan": 365,
}


def test_log_groups_and_retention(seed):
    groups = {
        r["Properties"]["LogGroupName"]: r for r in resources(seed, "AWS::Logs::LogGroup").values()
    }
    for name, days in LOG_GROUPS.items():
        assert groups[name]["Properties"]["RetentionInDays"] == days, name
        assert "KmsKeyId" in groups[name]["Properties"]
        assert groups[name]["DeletionPolicy"] == "Retain"


ALARMS = {
    # name: (namespace, metric, threshold, statistic, period, topic)
    "openwan-backend-high-cpu": ("AWS/ECS", "CPUUtilization", 80, "Average", 300, "openwan-alerts"),
    "openwan-backend-high-memory": (
        "AWS/ECS",
        "MemoryUtilization",
        85,
        "Average",
        300,
        "openwan-alerts",
    ),
    "openwan-db-connection-high": (
        "AWS/RDS",
        "DatabaseConnections",
        450,
        "Average",
        300,
        "openwan-critical",
    ),
    "openwan-sqs-queue-deep": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        1000,
        "Average",
        300,
        "openwan-alerts",
    ),
    "openwan-alb-5xx-errors": (
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        10,
        "Sum",
        60,
        "openwan-critical",
    ),
    "openwan-waf-blocked-high": (
        "AWS/WAFV2",
        "BlockedRequests",
        100,
        "Sum",
        300,
        "openwan-security",
    ),
    "openwan-transcoding-dlq-not-empty": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        0,
        "Maximum",
        300,
        "openwan-alerts",
    ),
}


def _topics(template):
    return {
        name: r["Properties"]["TopicName"]
        for name, r in resources(template, "AWS::SNS::Topic").items()
    }


def test_alarms(seed):
    topics = _topics(seed)
    alarms = {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in resources(seed, "AWS::CloudWatch::Alarm").values()
    }
    # The worker's step scaling alarm acts on the scaling policy, not on a topic.
    scaling = alarms.pop("openwan-worker-scale-out-oldest-message")
    assert "ScalingPolicy" in str(scaling["AlarmActions"]) or "Policy" in str(
        scaling["AlarmActions"]
    )
    assert set(alarms) == set(ALARMS) | {"openwan-redis-memory-high"}
    for name, (namespace, metric, threshold, stat, period, topic) in ALARMS.items():
        alarm = alarms[name]
        assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric), name
        assert alarm["Threshold"] == threshold, name
        assert alarm["Statistic"] == stat, name
        assert alarm["Period"] == period, name
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert [topics[a["Ref"]] for a in alarm["AlarmActions"]] == [topic], name
    assert alarms["openwan-backend-high-cpu"]["EvaluationPeriods"] == 2
    assert alarms["openwan-backend-high-cpu"]["TreatMissingData"] == "notBreaching"
    assert alarms["openwan-waf-blocked-high"]["TreatMissingData"] == "notBreaching"


def test_redis_memory_alarm_watches_every_node(seed):
    topics = _topics(seed)
    alarm = props(seed, "AWS::CloudWatch::Alarm", AlarmName="openwan-redis-memory-high")
    assert alarm["Threshold"] == 90
    assert [topics[a["Ref"]] for a in alarm["AlarmActions"]] == ["openwan-alerts"]
    nodes = [
        m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]
        for m in alarm["Metrics"]
        if "MetricStat" in m
    ]
    assert len(nodes) == 9
    assert "openwan-redis-0003-003" in nodes
    assert all(
        m["MetricStat"]["Metric"]["MetricName"] == "DatabaseMemoryUsagePercentage"
        for m in alarm["Metrics"]
        if "MetricStat" in m
    )


def test_alert_topics_encrypted_and_optionally_mailed(seed, variant):
    names = set(_topics(seed).values())
    assert {"openwan-alerts", "openwan-critical", "openwan-security"} <= names
    for topic in resources(seed, "AWS::SNS::Topic").values():
        assert "KmsMasterKeyId" in topic["Properties"]
    seed.resource_count_is("AWS::SNS::Subscription", 0)
    variant.resource_count_is("AWS::SNS::Subscription", 3)


def test_dashboard(seed):
    body = props(seed, "AWS::CloudWatch::Dashboard", DashboardName="openwan")["DashboardBody"]
    text = json.dumps(body)
    for title in ("ECS Resource Utilization", "RDS Performance", "Recent Errors"):
        assert title in text
    for metric in ("ReadLatency", "WriteLatency", "DatabaseConnections"):
        assert metric in text


def test_saved_queries(seed):
    queries = {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources(seed, "AWS::Logs::QueryDefinition").values()
    }
    assert set(queries) == {
        "openwan/error-rate",
        "openwan/slow-queries",
        "openwan/api-response-times",
    }
    assert "stats count() as error_count by bin(5m)" in queries["openwan/error-rate"]["QueryString"]
    assert "duration > 1000" in queries["openwan/slow-queries"]["QueryString"]
    assert "max(response_time)" in queries["openwan/api-response-times"]["QueryString"]
    for query in queries.values():
        assert query["LogGroupNames"] == ["/ecs/openwan-backend", "/ecs/openwan-worker"]


def test_xray_sampling_rules(seed):
    rules = {
        r["Properties"]["SamplingRule"]["RuleName"]: r["Properties"]["SamplingRule"]
        for r in resources(seed, "AWS::XRay::SamplingRule").values()
    }
    errors, health, other = (
        rules[n] for n in ("openwan-errors", "openwan-health", "openwan-other")
    )
    assert (errors["FixedRate"], errors["ReservoirSize"], errors["Attributes"]) == (
        1.0,
        1,
        {"error": "true"},
    )
    assert (
        health["HTTPMethod"],
        health["URLPath"],
        health["FixedRate"],
        health["ReservoirSize"],
    ) == ("GET", "/health", 0.01, 0)
    assert (other["FixedRate"], other["ReservoirSize"]) == (0.1, 1)
    assert errors["Priority"] < health["Priority"] < other["Priority"]


def test_cloudtrail(seed):
    trail = props(seed, "AWS::CloudTrail::Trail", TrailName="openwan")
    assert trail["IsMultiRegionTrail"] is True
    assert trail["EnableLogFileValidation"] is True
