from aws_cdk.assertions import Match

from .conftest import props, resources


def test_rds_primary(seed):
    db = props(seed, "AWS::RDS::DBInstance", DBInstanceIdentifier="openwan-db")
    assert db["Engine"] == "mysql"
    # 8.4 LTS: standard support until 2029; 8.0 bills Extended Support since 2026-07-31.
    assert db["EngineVersion"].startswith("8.4.")
    # So that a deployment created on 8.0 can be moved to 8.4 by `cdk deploy`.
    assert db["AllowMajorVersionUpgrade"] is True
    assert db["DBInstanceClass"] == "db.r6g.xlarge"
    assert db["MultiAZ"] is True
    assert db["StorageType"] == "gp3"
    assert db["AllocatedStorage"] == "500"
    assert db["Iops"] == 12000
    assert db["StorageThroughput"] == 500
    assert db["MaxAllocatedStorage"] == 2000
    assert db["BackupRetentionPeriod"] == 7
    assert db["PreferredBackupWindow"] == "03:00-04:00"
    assert db["PreferredMaintenanceWindow"] == "mon:04:00-mon:05:00"
    assert db["StorageEncrypted"] is True
    assert "KmsKeyId" in db
    assert db["MonitoringInterval"] == 60
    assert db["EnablePerformanceInsights"] is True
    assert db["PubliclyAccessible"] is False
    assert db["DeletionProtection"] is True
    assert db["DBName"] == "openwan"
    assert set(db["EnableCloudwatchLogsExports"]) == {"error", "slowquery"}
    # The password comes from Secrets Manager, never from the template.
    assert "resolve:secretsmanager" in str(db["MasterUserPassword"])
    seed.has_resource_properties(
        "AWS::RDS::DBSubnetGroup", {"DBSubnetGroupName": "openwan-db-subnet-group"}
    )


def test_rds_parameter_group(seed):
    group = props(seed, "AWS::RDS::DBParameterGroup", Family="mysql8.4")
    params = group["Parameters"]
    # Clients must use TLS (the app sets OPENWAN_DB_TLS and verifies the RDS CA bundle).
    assert params["require_secure_transport"] == "1"
    assert params["max_connections"] == "500"
    assert params["max_connect_errors"] == "1000"
    assert params["connect_timeout"] == "10"
    assert params["innodb_buffer_pool_size"] == "{DBInstanceClassMemory*3/4}"
    # The seed's 2 x 1 GiB redo log files, as 8.4 sizes them.
    assert params["innodb_redo_log_capacity"] == str(2 * 1024**3)
    assert "innodb_log_file_size" not in params
    assert params["innodb_flush_log_at_trx_commit"] == "2"
    assert params["innodb_flush_method"] == "O_DIRECT"
    assert params["character_set_server"] == "utf8mb4"
    assert params["collation_server"] == "utf8mb4_unicode_ci"
    assert params["slow_query_log"] == "1"
    assert params["long_query_time"] == "2"
    assert params["log_queries_not_using_indexes"] == "1"
    assert params["binlog_format"] == "ROW"
    assert params["binlog_row_image"] == "MINIMAL"
    assert not any(name.startswith("query_cache") for name in params), "removed in MySQL 8"


def test_read_replicas_are_optional(seed, variant):
    assert len(resources(seed, "AWS::RDS::DBInstance")) == 1
    replicas = [
        r["Properties"]
        for r in resources(variant, "AWS::RDS::DBInstance").values()
        if "SourceDBInstanceIdentifier" in r["Properties"]
    ]
    assert sorted((r["DBInstanceIdentifier"], r["AvailabilityZone"]) for r in replicas) == [
        ("openwan-db-replica-1", "us-east-1b"),
        ("openwan-db-replica-2", "us-east-1c"),
    ]
    assert {r["DBInstanceClass"] for r in replicas} == {"db.r6g.large"}
    assert all(r["StorageEncrypted"] for r in replicas)


def test_redis_cluster(seed):
    rg = props(seed, "AWS::ElastiCache::ReplicationGroup", ReplicationGroupId="openwan-redis")
    assert rg["Engine"] == "redis"
    assert rg["EngineVersion"].startswith("7.")
    assert rg["CacheNodeType"] == "cache.r6g.large"
    assert rg["NumNodeGroups"] == 3
    assert rg["ReplicasPerNodeGroup"] == 2
    assert rg["AutomaticFailoverEnabled"] is True
    assert rg["MultiAZEnabled"] is True
    assert rg["AtRestEncryptionEnabled"] is True
    assert rg["TransitEncryptionEnabled"] is True
    assert "KmsKeyId" in rg
    assert "resolve:secretsmanager" in str(rg["AuthToken"])
    assert rg["SnapshotRetentionLimit"] == 5
    assert rg["SnapshotWindow"] == "03:00-05:00"
    assert rg["PreferredMaintenanceWindow"] == "sun:05:00-sun:07:00"
    assert rg["Port"] == 6379
    assert "NotificationTopicArn" in rg
    seed.has_resource_properties("AWS::SNS::Topic", {"TopicName": "openwan-redis-events"})
    seed.has_resource_properties(
        "AWS::ElastiCache::SubnetGroup",
        {"CacheSubnetGroupName": "openwan-redis-subnet-group", "SubnetIds": Match.any_value()},
    )
    subnets = props(
        seed, "AWS::ElastiCache::SubnetGroup", CacheSubnetGroupName="openwan-redis-subnet-group"
    )["SubnetIds"]
    assert len(subnets) == 3


def test_redis_parameter_group(seed):
    group = props(seed, "AWS::ElastiCache::ParameterGroup", CacheParameterGroupFamily="redis7")
    assert group["Properties"] == {
        "cluster-enabled": "yes",
        "maxmemory-policy": "allkeys-lru",
        "maxmemory-samples": "5",
        "tcp-keepalive": "300",
        "timeout": "300",
    }
