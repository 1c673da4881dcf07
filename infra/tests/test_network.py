from aws_cdk.assertions import Match

from .conftest import logical_id, resources

PUBLIC = ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]
APP = ["10.0.11.0/24", "10.0.12.0/24", "10.0.13.0/24"]
DATA = ["10.0.21.0/24", "10.0.22.0/24", "10.0.23.0/24"]
AZS = ["us-east-1a", "us-east-1b", "us-east-1c"]


def _subnets(template):
    return {
        name: res["Properties"] for name, res in resources(template, "AWS::EC2::Subnet").items()
    }


def test_vpc_cidr(seed):
    seed.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.0.0.0/16"})


def test_nine_subnets_with_the_seed_cidrs_over_three_azs(seed):
    subnets = _subnets(seed)
    by_cidr = {p["CidrBlock"]: p for p in subnets.values()}
    assert sorted(by_cidr) == sorted(PUBLIC + APP + DATA)
    for tier in (PUBLIC, APP, DATA):
        assert [by_cidr[cidr]["AvailabilityZone"] for cidr in tier] == AZS
    for cidr in PUBLIC:
        assert by_cidr[cidr]["MapPublicIpOnLaunch"] is True
    for cidr in APP + DATA:
        assert by_cidr[cidr]["MapPublicIpOnLaunch"] is False


def _route_targets_by_cidr(template):
    subnets = {name: p["CidrBlock"] for name, p in _subnets(template).items()}
    table_of = {
        a["Properties"]["SubnetId"]["Ref"]: a["Properties"]["RouteTableId"]["Ref"]
        for a in resources(template, "AWS::EC2::SubnetRouteTableAssociation").values()
    }
    routes = resources(template, "AWS::EC2::Route").values()
    result = {}
    for subnet, cidr in subnets.items():
        table = table_of[subnet]
        result[cidr] = [
            r["Properties"] for r in routes if r["Properties"]["RouteTableId"]["Ref"] == table
        ]
    return result


def test_three_nat_gateways_one_per_public_subnet(seed):
    nats = resources(seed, "AWS::EC2::NatGateway")
    assert len(nats) == 3
    public_ids = {logical_id(seed, "AWS::EC2::Subnet", CidrBlock=cidr) for cidr in PUBLIC}
    assert {n["Properties"]["SubnetId"]["Ref"] for n in nats.values()} == public_ids


def test_routes_per_tier(seed):
    routes = _route_targets_by_cidr(seed)
    for cidr in PUBLIC:
        (route,) = routes[cidr]
        assert route["DestinationCidrBlock"] == "0.0.0.0/0" and "GatewayId" in route
    nat_of = {}
    for cidr in APP:
        (route,) = routes[cidr]
        assert route["DestinationCidrBlock"] == "0.0.0.0/0"
        nat_of[cidr] = route["NatGatewayId"]["Ref"]
    assert len(set(nat_of.values())) == 3, "each app subnet egresses through its own AZ's NAT"
    for cidr in DATA:
        assert routes[cidr] == [], "data subnets have no route out of the VPC"


def test_no_endpoints_in_seed_and_optional_endpoints(seed, optimized, variant):
    seed.resource_count_is("AWS::EC2::VPCEndpoint", 0)
    optimized.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {"VpcEndpointType": "Gateway", "ServiceName": Match.object_like({})},
    )
    interface = [
        r
        for r in resources(variant, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"].get("VpcEndpointType") == "Interface"
    ]
    assert len(interface) == 3
    assert all(r["Properties"]["PrivateDnsEnabled"] for r in interface)
