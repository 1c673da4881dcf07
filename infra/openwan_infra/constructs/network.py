"""VPC: public / application / data tiers over the configured availability zones."""

from __future__ import annotations

from aws_cdk import Tags
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from ..config import NetworkConfig

PUBLIC, APP, DATA = "public", "app", "data"


class Network(Construct):
    """Three subnet tiers with the seed's exact CIDRs.

    * public: internet gateway route, one NAT gateway per AZ (an AZ outage must not cut the
      other AZs' egress);
    * app: default route through the NAT gateway of the same AZ;
    * data: isolated, no route to the internet at all (RDS and ElastiCache never dial out).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: NetworkConfig,
        availability_zones: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name="openwan-vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            # Explicit AZs: no context lookup, so synthesis needs no AWS account.
            availability_zones=availability_zones,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=PUBLIC, subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name=APP, subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name=DATA, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
            # The default security group is attached to nothing (every ENI gets an explicit
            # group); CDK's restriction would add a Lambda-backed custom resource for no gain.
            restrict_default_security_group=False,
        )
        # CDK allocates /24s contiguously from 10.0.0.0; the seed numbers its tiers 1-3,
        # 11-13 and 21-23 so a CIDR tells an operator which tier and AZ it belongs to.
        tiers = (
            (PUBLIC, self.vpc.public_subnets, config.public_subnet_cidrs),
            (APP, self.vpc.private_subnets, config.app_subnet_cidrs),
            (DATA, self.vpc.isolated_subnets, config.data_subnet_cidrs),
        )
        for tier, subnets, cidrs in tiers:
            for subnet, cidr, az in zip(subnets, cidrs, availability_zones, strict=True):
                cfn_subnet = subnet.node.default_child
                assert isinstance(cfn_subnet, ec2.CfnSubnet)
                cfn_subnet.cidr_block = cidr
                Tags.of(subnet).add("Name", f"openwan-{tier}-{az[-1]}")

        if config.s3_gateway_endpoint:
            # Free, and takes S3 traffic (media up/downloads, ECR layers) off NAT data
            # processing.
            self.vpc.add_gateway_endpoint(
                "S3Endpoint",
                service=ec2.GatewayVpcEndpointAwsService.S3,
                subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)],
            )
        for service in config.interface_endpoints:
            self.vpc.add_interface_endpoint(
                f"Endpoint-{service.replace('.', '-')}",
                service=ec2.InterfaceVpcEndpointAwsService(service),
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                private_dns_enabled=True,
            )

    @property
    def public_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)

    @property
    def app_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

    @property
    def data_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
