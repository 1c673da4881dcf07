from .conftest import logical_id, props, resources

BACKEND_ENV = {
    "OPENWAN_ENV",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "OPENWAN_DB_TLS",
    "OPENWAN_DB_TLS_CA",
    "REDIS_HOST",
    "REDIS_PORT",
    "OPENWAN_REDIS_TLS",
    "OPENWAN_REDIS_CLUSTER",
    "S3_BUCKET",
    "SQS_QUEUE_URL",
    "OPENWAN_DLQ_URL",
    "AWS_REGION",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OPENWAN_DATA_DIR",
}
COMMON_ENV = BACKEND_ENV
SECRETS = {"DB_PASSWORD", "JWT_SECRET", "OPENWAN_REDIS_AUTH_TOKEN"}


def _task(template, family):
    return props(template, "AWS::ECS::TaskDefinition", Family=family)


def _container(task, name):
    (container,) = [c for c in task["ContainerDefinitions"] if c["Name"] == name]
    return container


def _env(container):
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


def _log_group_ref(template, name):
    return {"Ref": logical_id(template, "AWS::Logs::LogGroup", LogGroupName=name)}


def test_backend_task(seed):
    task = _task(seed, "openwan-backend")
    assert (task["Cpu"], task["Memory"]) == ("2048", "4096")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["NetworkMode"] == "awsvpc"
    assert task["RuntimePlatform"]["CpuArchitecture"] == "X86_64"
    backend = _container(task, "backend")
    assert backend["Command"] == [
        "openwan",
        "serve",
        "--host",
        "0.0.0.0",  # noqa: S104
        "--port",
        "8080",
        "--metrics-port",
        "9090",
    ]
    assert [p["ContainerPort"] for p in backend["PortMappings"]] == [8080, 9090]
    env = _env(backend)
    assert set(env) == COMMON_ENV | {"OPENWAN_TRUSTED_PROXY_HOPS", "OPENWAN_WEB_PROCESSES"}
    assert env["OPENWAN_ENV"] == "production"
    assert env["OPENWAN_REDIS_TLS"] == "true"
    assert env["DB_NAME"] == "openwan"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4318"
    # CloudFront + ALB; trusted only on requests carrying the origin secret.
    assert env["OPENWAN_TRUSTED_PROXY_HOPS"] == "2"
    # One serve process per vCPU of the 2 vCPU task.
    assert env["OPENWAN_WEB_PROCESSES"] == "2"
    assert {s["Name"] for s in backend["Secrets"]} == SECRETS | {"OPENWAN_ORIGIN_SECRET"}
    origin = next(s for s in backend["Secrets"] if s["Name"] == "OPENWAN_ORIGIN_SECRET")
    origin_secret = logical_id(
        seed, "AWS::SecretsManager::Secret", Name="openwan/cloudfront/origin-secret"
    )
    assert origin["ValueFrom"]["Fn::Join"][1][0] == {"Ref": origin_secret}
    assert origin["ValueFrom"]["Fn::Join"][1][1] == ":value::"
    password = next(s for s in backend["Secrets"] if s["Name"] == "DB_PASSWORD")
    assert ":password::" in str(password["ValueFrom"])
    assert backend["HealthCheck"] == {
        "Command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"],
        "Interval": 30,
        "Timeout": 5,
        "Retries": 3,
        "StartPeriod": 60,
    }
    log = backend["LogConfiguration"]
    assert log["LogDriver"] == "awslogs"
    assert log["Options"]["awslogs-group"] == _log_group_ref(seed, "/ecs/openwan-backend")
    assert log["Options"]["awslogs-stream-prefix"] == "ecs"
    assert log["Options"]["awslogs-region"] == "us-east-1"
    assert backend["ReadonlyRootFilesystem"] is True
    collector = _container(task, "aws-otel-collector")
    assert collector["Essential"] is False
    assert collector["Image"].startswith("public.ecr.aws/aws-observability/aws-otel-collector")


def test_backend_image_comes_from_ecr(seed):
    image = _container(_task(seed, "openwan-backend"), "backend")["Image"]
    assert "openwan-backend:latest" in str(image)
    assert ".dkr.ecr." in str(image)


def test_common_environment(seed):
    for family, name in (("backend", "backend"), ("worker", "worker"), ("migrate", "migrate")):
        env = _env(_container(_task(seed, f"openwan-{family}"), name))
        # Both services find the DLQ without a GetQueueUrl round trip.
        dlq = logical_id(seed, "AWS::SQS::Queue", QueueName="openwan-transcoding-dlq")
        assert env["OPENWAN_DLQ_URL"] == {"Ref": dlq}
        # ElastiCache's cluster-mode configuration endpoint, TLS and AUTH: said explicitly.
        cache = logical_id(
            seed, "AWS::ElastiCache::ReplicationGroup", ReplicationGroupId="openwan-redis"
        )
        assert env["REDIS_HOST"] == {"Fn::GetAtt": [cache, "ConfigurationEndPoint.Address"]}
        assert env["OPENWAN_REDIS_CLUSTER"] == "true"
        assert env["OPENWAN_REDIS_TLS"] == "true"
        assert env["REDIS_PORT"] == "6379"
        # MySQL over TLS, verified against the RDS CA bundle the image carries.
        assert env["OPENWAN_DB_TLS"] == "true"
        assert env["OPENWAN_DB_TLS_CA"] == "/etc/ssl/rds/global-bundle.pem"


def test_dockerfile_installs_the_rds_ca_bundle():
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    assert (
        "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem \\\n"
        "    /etc/ssl/rds/global-bundle.pem" in dockerfile
    )


def test_worker_task(seed):
    task = _task(seed, "openwan-worker")
    assert (task["Cpu"], task["Memory"]) == ("4096", "8192")
    # Two jobs at once, each may hold a local 50 GiB master plus outputs (Fargate's default
    # is 20 GiB).
    assert task["EphemeralStorage"] == {"SizeInGiB": 200}
    worker = _container(task, "worker")
    assert worker["Command"] == ["openwan", "worker"]
    assert "PortMappings" not in worker
    env = _env(worker)
    # 4 vCPUs: two jobs at once, two FFmpeg threads each.
    assert env["OPENWAN_WORKER_CONCURRENCY"] == "2"
    assert env["FFMPEG_THREADS"] == "2"
    assert set(env) == COMMON_ENV | {"FFMPEG_THREADS", "OPENWAN_WORKER_CONCURRENCY"}
    # A worker whose consumer died or hangs is replaced.
    assert worker["HealthCheck"] == {
        "Command": ["CMD", "openwan", "worker", "--check"],
        "Interval": 30,
        "Timeout": 10,
        "Retries": 3,
        "StartPeriod": 120,
    }
    assert "EphemeralStorage" not in _task(seed, "openwan-backend")
    assert {s["Name"] for s in worker["Secrets"]} == SECRETS
    assert worker["LogConfiguration"]["Options"]["awslogs-group"] == _log_group_ref(
        seed, "/ecs/openwan-worker"
    )
    assert "openwan-worker:latest" in str(worker["Image"])


def test_migration_task(seed):
    task = _task(seed, "openwan-migrate")
    migrate = _container(task, "migrate")
    assert migrate["Command"] == ["openwan", "migrate"]
    assert "openwan-backend:latest" in str(migrate["Image"])
    # The first administrator's password, from Secrets Manager, never in a log.
    assert {s["Name"] for s in migrate["Secrets"]} == SECRETS | {"OPENWAN_ADMIN_PASSWORD"}
    admin = next(s for s in migrate["Secrets"] if s["Name"] == "OPENWAN_ADMIN_PASSWORD")
    admin_secret = logical_id(seed, "AWS::SecretsManager::Secret", Name="openwan/admin/password")
    assert admin["ValueFrom"]["Fn::Join"][1][0] == {"Ref": admin_secret}
    assert admin["ValueFrom"]["Fn::Join"][1][1] == ":password::"
    seed.has_output("MigrateTaskDefinitionArn", {})
    seed.has_output("AdminPasswordSecretArn", {"Value": {"Ref": admin_secret}})
    # A one-off task, not a service.
    families = {
        s["Properties"]["TaskDefinition"]["Ref"]
        for s in resources(seed, "AWS::ECS::Service").values()
    }
    assert logical_id(seed, "AWS::ECS::TaskDefinition", Family="openwan-migrate") not in families


def test_services(seed):
    backend = props(seed, "AWS::ECS::Service", ServiceName="openwan-backend")
    worker = props(seed, "AWS::ECS::Service", ServiceName="openwan-worker")
    for service in (backend, worker):
        assert service["DesiredCount"] == 2
        assert service["LaunchType"] == "FARGATE"
        vpc = service["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert vpc["AssignPublicIp"] == "DISABLED"
        assert len(vpc["Subnets"]) == 3
    app_subnets = {
        logical_id(seed, "AWS::EC2::Subnet", CidrBlock=c)
        for c in ("10.0.11.0/24", "10.0.12.0/24", "10.0.13.0/24")
    }
    subnets = backend["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    assert {s["Ref"] for s in subnets} == app_subnets
    (lb,) = backend["LoadBalancers"]
    assert (lb["ContainerName"], lb["ContainerPort"]) == ("backend", 8080)
    seed.has_resource_properties("AWS::ECS::Cluster", {"ClusterName": "openwan"})


def test_backend_scaling(seed):
    backend_id = logical_id(seed, "AWS::ECS::Service", ServiceName="openwan-backend")
    ((target_id, target),) = [
        (name, r["Properties"])
        for name, r in resources(seed, "AWS::ApplicationAutoScaling::ScalableTarget").items()
        if backend_id in str(r["Properties"]["ResourceId"])
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 20)
    policies = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]: p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "TargetValue"
        ]
        for p in resources(seed, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if p["Properties"].get("ScalingTargetId") == {"Ref": target_id}
    }
    assert policies == {
        "ECSServiceAverageCPUUtilization": 70,
        "ECSServiceAverageMemoryUtilization": 80,
    }


def test_worker_scales_on_queue_backlog(seed):
    policy = props(
        seed,
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        PolicyName="openwan-worker-backlog-per-task",
    )
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    # A few waiting jobs per task, not the seed's 100 (hours of transcoding).
    assert config["TargetValue"] == 4
    assert config["ScaleInCooldown"] == 300
    assert config["ScaleOutCooldown"] == 60
    metrics = {m["Id"]: m for m in config["CustomizedMetricSpecification"]["Metrics"]}
    visible = metrics["visible"]["MetricStat"]["Metric"]
    assert (visible["Namespace"], visible["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    queue_id = logical_id(seed, "AWS::SQS::Queue", QueueName="openwan-transcoding-queue")
    assert visible["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    ]
    assert metrics["backlog_per_task"]["Expression"] == "visible / tasks"
    assert metrics["backlog_per_task"]["ReturnData"] is True
    target_id = policy["ScalingTargetId"]["Ref"]
    target = seed.to_json()["Resources"][target_id]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    # A job waiting 5 minutes adds a task, 15 minutes three, whatever the backlog per task.
    (step,) = [
        p["Properties"]
        for p in resources(seed, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if p["Properties"]["PolicyType"] == "StepScaling"
        and p["Properties"]["ScalingTargetId"] == {"Ref": target_id}
    ]
    steps = step["StepScalingPolicyConfiguration"]["StepAdjustments"]
    assert [s["ScalingAdjustment"] for s in steps] == [1, 3]
    assert all(s["ScalingAdjustment"] > 0 for s in steps), "scale-out only"
    (alarm,) = [
        a["Properties"]
        for a in resources(seed, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateAgeOfOldestMessage"
        and a["Properties"].get("AlarmActions")
        and "OldestMessageAge" in str(a["Properties"]["AlarmActions"])
    ]
    assert alarm["Threshold"] == 300
    assert alarm["Dimensions"] == visible["Dimensions"]


def test_load_balancer(seed):
    alb = props(seed, "AWS::ElasticLoadBalancingV2::LoadBalancer", Name="openwan-alb")
    assert alb["Scheme"] == "internet-facing"
    public = {
        logical_id(seed, "AWS::EC2::Subnet", CidrBlock=c)
        for c in ("10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24")
    }
    assert {s["Ref"] for s in alb["Subnets"]} == public
    (listener_id, listener), = resources(
        seed, "AWS::ElasticLoadBalancingV2::Listener"
    ).items()
    https = listener["Properties"]
    assert https["Port"] == 443
    assert https["Protocol"] == "HTTPS"
    assert https["Certificates"][0]["CertificateArn"].startswith("arn:aws:acm:us-east-1:")
    # Without the origin secret: 403. Only CloudFront (through the WAF) sends it.
    (default,) = https["DefaultActions"]
    assert default["Type"] == "fixed-response"
    assert default["FixedResponseConfig"]["StatusCode"] == "403"
    (rule,) = [r["Properties"] for r in resources(
        seed, "AWS::ElasticLoadBalancingV2::ListenerRule").values()]
    assert rule["ListenerArn"] == {"Ref": listener_id}
    (condition,) = rule["Conditions"]
    assert condition["Field"] == "http-header"
    header = condition["HttpHeaderConfig"]
    assert header["HttpHeaderName"] == "X-OpenWan-Origin"
    secret = logical_id(
        seed, "AWS::SecretsManager::Secret", Name="openwan/cloudfront/origin-secret"
    )
    (value,) = header["Values"]
    assert value == {"Fn::Join": ["", [
        "{{resolve:secretsmanager:", {"Ref": secret}, ":SecretString:value::}}"]]}
    (forward,) = rule["Actions"]
    assert forward["Type"] == "forward"
    group = props(seed, "AWS::ElasticLoadBalancingV2::TargetGroup", Name="openwan-backend")
    assert (group["Port"], group["TargetType"]) == (8080, "ip")
    assert group["HealthCheckPath"] == "/health"


def test_optimized_profile_uses_spot_workers_and_graviton_backend(optimized):
    worker = props(optimized, "AWS::ECS::Service", ServiceName="openwan-worker")
    assert worker["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    assert "LaunchType" not in worker
    backend = _task(optimized, "openwan-backend")
    assert backend["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
