"""RDS MySQL 8.4 LTS (Multi-AZ, optional read replicas) and ElastiCache Redis 7 (cluster mode)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, SecretValue
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..config import CacheConfig, DatabaseConfig
from .logging import RDS_INSTANCE_ID, REDIS_REPLICATION_GROUP_ID

# The seed's [mysqld] section. Dropped on purpose:
# * query_cache_type / query_cache_size: MySQL 8.0 removed the query cache, and RDS rejects
#   parameter groups that name parameters the engine does not have;
# * slow_query_log_file: RDS fixes the log path itself (and exports it to CloudWatch Logs).
# Added: require_secure_transport, so no client (the app sets OPENWAN_DB_TLS) talks to the
# database in clear text.
MYSQL_PARAMETERS = {
    "require_secure_transport": "1",
    "max_connections": "500",
    "max_connect_errors": "1000",
    "connect_timeout": "10",
    # The seed's "24G" is 75% of a db.r6g.xlarge's 32 GiB; the formula keeps that ratio
    # if the instance class changes.
    "innodb_buffer_pool_size": "{DBInstanceClassMemory*3/4}",
    # Flush the redo log once a second instead of at every commit: up to a second of
    # transactions at risk on a crash, accepted by the seed for write throughput.
    "innodb_flush_log_at_trx_commit": "2",
    "innodb_flush_method": "O_DIRECT",
    "character_set_server": "utf8mb4",
    "collation_server": "utf8mb4_unicode_ci",
    "slow_query_log": "1",
    "long_query_time": "2",
    "log_queries_not_using_indexes": "1",
    "binlog_format": "ROW",
    "binlog_row_image": "MINIMAL",
}
# The seed's innodb_log_file_size=1G with the default two log files, in the form each
# version takes: 8.4 sizes the redo log as a whole (innodb_log_file_size is deprecated).
REDO_LOG_PARAMETERS = {
    "8.4": {"innodb_redo_log_capacity": str(2 * 1024**3)},
    "8.0": {"innodb_log_file_size": str(1024**3)},
}

# The seed's Redis parameters that ElastiCache lets a parameter group set. Not settable, and
# covered otherwise: `save` (RDB is ElastiCache's snapshot schedule: snapshot window and
# retention below), `appendonly`/`appendfsync` (ElastiCache offers no AOF on Redis 7; Multi-AZ
# replicas with automatic failover give the durability), `cluster-node-timeout` (managed by
# ElastiCache's failover).
REDIS_PARAMETERS = {
    "cluster-enabled": "yes",
    "maxmemory-policy": "allkeys-lru",
    "maxmemory-samples": "5",
    "tcp-keepalive": "300",
    "timeout": "300",
}
REDIS_PORT = 6379


class Database(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DatabaseConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        password: secretsmanager.ISecret,
        log_groups: list[logs.ILogGroup],
    ) -> None:
        super().__init__(scope, construct_id)
        major = config.major_version
        engine = rds.DatabaseInstanceEngine.mysql(
            version=rds.MysqlEngineVersion.of(config.engine_version, major)
        )
        self.parameter_group = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            name=f"openwan-mysql{major.replace('.', '')}",
            description=f"OpenWan MySQL {major} parameters (seed, TLS required, no query cache)",
            parameters={**MYSQL_PARAMETERS, **REDO_LOG_PARAMETERS[major]},
        )
        subnet_group = rds.SubnetGroup(
            self,
            "SubnetGroup",
            subnet_group_name="openwan-db-subnet-group",
            description="OpenWan data subnets",
            vpc=vpc,
            vpc_subnets=subnets,
            removal_policy=RemovalPolicy.DESTROY,
        )
        monitoring_interval = Duration.seconds(config.monitoring_interval_seconds)
        self.instance = rds.DatabaseInstance(
            self,
            "Primary",
            instance_identifier=RDS_INSTANCE_ID,
            engine=engine,
            instance_type=ec2.InstanceType(config.instance_class.removeprefix("db.")),
            vpc=vpc,
            subnet_group=subnet_group,
            security_groups=[security_group],
            multi_az=config.multi_az,
            storage_type=rds.StorageType.GP3,
            allocated_storage=config.allocated_storage_gb,
            max_allocated_storage=config.max_allocated_storage_gb,
            iops=config.iops,
            storage_throughput=config.storage_throughput_mbps,
            storage_encrypted=True,
            storage_encryption_key=key,
            credentials=rds.Credentials.from_password(
                config.username,
                SecretValue.secrets_manager(password.secret_arn, json_field="password"),
            ),
            database_name=config.database_name,
            parameter_group=self.parameter_group,
            backup_retention=Duration.days(config.backup_retention_days),
            preferred_backup_window=config.backup_window,
            preferred_maintenance_window=config.maintenance_window,
            copy_tags_to_snapshot=True,
            monitoring_interval=monitoring_interval,
            enable_performance_insights=config.performance_insights,
            performance_insight_encryption_key=key if config.performance_insights else None,
            cloudwatch_logs_exports=["error", "slowquery"],
            iam_authentication=True,
            auto_minor_version_upgrade=True,
            # A stack created on 8.0 moves to 8.4 by changing engine_version: CloudFormation
            # refuses a major version change unless it is allowed here.
            allow_major_version_upgrade=True,
            publicly_accessible=False,
            deletion_protection=config.deletion_protection,
            removal_policy=RemovalPolicy.SNAPSHOT,
        )
        for group in log_groups:
            self.instance.node.add_dependency(group)

        self.replicas: list[rds.DatabaseInstanceReadReplica] = []
        for index in range(config.read_replicas):
            replica = rds.DatabaseInstanceReadReplica(
                self,
                f"Replica{index + 1}",
                instance_identifier=f"{RDS_INSTANCE_ID}-replica-{index + 1}",
                source_database_instance=self.instance,
                instance_type=ec2.InstanceType(
                    config.read_replica_instance_class.removeprefix("db.")
                ),
                availability_zone=config.read_replica_azs[index],
                vpc=vpc,
                subnet_group=subnet_group,
                security_groups=[security_group],
                storage_encrypted=True,
                storage_encryption_key=key,
                parameter_group=self.parameter_group,
                monitoring_interval=monitoring_interval,
                enable_performance_insights=config.performance_insights,
                performance_insight_encryption_key=key if config.performance_insights else None,
                auto_minor_version_upgrade=True,
                publicly_accessible=False,
                deletion_protection=config.deletion_protection,
                removal_policy=RemovalPolicy.DESTROY,
            )
            self.replicas.append(replica)


class Cache(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: CacheConfig,
        subnet_ids: list[str],
        security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        auth_token: secretsmanager.ISecret,
        log_group: logs.ILogGroup,
        events_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.events_topic = sns.Topic(
            self, "Events", topic_name="openwan-redis-events", master_key=events_key
        )
        subnet_group = elasticache.CfnSubnetGroup(
            self,
            "SubnetGroup",
            cache_subnet_group_name="openwan-redis-subnet-group",
            description="OpenWan data subnets",
            subnet_ids=subnet_ids,
        )
        parameter_group = elasticache.CfnParameterGroup(
            self,
            "Parameters",
            cache_parameter_group_family="redis7",
            description="OpenWan Redis 7 cluster-mode parameters",
            properties=REDIS_PARAMETERS,
        )
        self.replication_group = elasticache.CfnReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_id=REDIS_REPLICATION_GROUP_ID,
            replication_group_description="OpenWan cache, sessions and rate limits",
            engine="redis",
            # The seed says 7.0; 7.1 is the current Redis 7 minor in the same redis7 family.
            engine_version=config.engine_version,
            cache_node_type=config.node_type,
            num_node_groups=config.shards,
            replicas_per_node_group=config.replicas_per_shard,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            at_rest_encryption_enabled=True,
            kms_key_id=key.key_arn,
            transit_encryption_enabled=True,
            auth_token=SecretValue.secrets_manager(
                auth_token.secret_arn, json_field="token"
            ).unsafe_unwrap(),
            port=REDIS_PORT,
            cache_subnet_group_name=subnet_group.ref,
            cache_parameter_group_name=parameter_group.ref,
            security_group_ids=[security_group.security_group_id],
            snapshot_retention_limit=config.snapshot_retention_days,
            snapshot_window=config.snapshot_window,
            preferred_maintenance_window=config.maintenance_window,
            notification_topic_arn=self.events_topic.topic_arn,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty(
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type="slow-log",
                    destination_details=elasticache.CfnReplicationGroup.DestinationDetailsProperty(
                        cloud_watch_logs_details=elasticache.CfnReplicationGroup.CloudWatchLogsDestinationDetailsProperty(
                            log_group=log_group.log_group_name
                        )
                    ),
                )
            ],
        )

    @property
    def endpoint(self) -> str:
        """Cluster-mode configuration endpoint: the one address clients need."""
        return self.replication_group.attr_configuration_end_point_address

    def member_cluster_ids(self, *, shards: int, replicas_per_shard: int) -> list[str]:
        """ElastiCache names cluster-mode nodes <group>-<shard:04>-<node:03>."""
        return [
            f"{REDIS_REPLICATION_GROUP_ID}-{shard:04d}-{node:03d}"
            for shard in range(1, shards + 1)
            for node in range(1, replicas_per_shard + 2)
        ]
