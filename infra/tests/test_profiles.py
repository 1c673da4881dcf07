"""Profiles against their templates: the lean-ha profile keeps the seed's availability, and
the counts `openwan cost` prices (WAF rules, KMS keys) are the template's."""

from __future__ import annotations

import pytest
from openwan_infra.config import load_config

from .conftest import props, resources


@pytest.mark.parametrize("profile", ["seed", "optimized"])
def test_priced_counts_are_the_templates(profile, seed, optimized):
    template = {"seed": seed, "optimized": optimized}[profile]
    usage = load_config(profile).usage
    acl = props(template, "AWS::WAFv2::WebACL", Name="openwan-waf-webacl")
    assert len(acl["Rules"]) == usage.waf_rules
    assert len(resources(template, "AWS::KMS::Key")) == usage.kms_keys


def test_lean_ha_profile_keeps_the_seeds_availability(lean_ha):
    db = props(lean_ha, "AWS::RDS::DBInstance", DBInstanceIdentifier="openwan-db")
    assert db["MultiAZ"] is True
    cache = props(
        lean_ha, "AWS::ElastiCache::ReplicationGroup", ReplicationGroupId="openwan-redis"
    )
    assert cache["ReplicasPerNodeGroup"] >= 1
    assert cache["MultiAZEnabled"] is True and cache["AutomaticFailoverEnabled"] is True
    azs = {s["Properties"]["AvailabilityZone"]
           for s in resources(lean_ha, "AWS::EC2::Subnet").values()}
    assert azs == {"us-east-1a", "us-east-1b"}
    assert len(resources(lean_ha, "AWS::EC2::NatGateway")) == 2
    for name in ("openwan-backend", "openwan-worker"):
        service = props(lean_ha, "AWS::ECS::Service", ServiceName=name)
        assert service["DesiredCount"] >= 2
        assert len(service["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]) == 2
    usage = load_config("lean-ha").usage
    acl = props(lean_ha, "AWS::WAFv2::WebACL", Name="openwan-waf-webacl")
    assert len(acl["Rules"]) == usage.waf_rules
