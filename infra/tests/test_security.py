from aws_cdk.assertions import Match

from .conftest import logical_id, props, resources

SG = "AWS::EC2::SecurityGroup"


def _group(template, name):
    return logical_id(template, SG, GroupName=f"openwan-{name}-sg")


def _ingress(template, group):
    """(port, source) for every inbound rule of a group, inline and standalone."""
    gid = _group(template, group)
    rules = set()
    for rule in props(template, SG, GroupName=f"openwan-{group}-sg").get(
        "SecurityGroupIngress", []
    ):
        rules.add((rule["FromPort"], rule["ToPort"], rule.get("CidrIp")))
    for res in resources(template, "AWS::EC2::SecurityGroupIngress").values():
        p = res["Properties"]
        if p["GroupId"]["Fn::GetAtt"][0] == gid:
            source = (
                p["SourcePrefixListId"]
                if "SourcePrefixListId" in p
                else p["SourceSecurityGroupId"]["Fn::GetAtt"][0]
            )
            rules.add((p["FromPort"], p["ToPort"], source))
    return rules


def _egress(template, group):
    gid = _group(template, group)
    rules = set()
    for rule in props(template, SG, GroupName=f"openwan-{group}-sg").get("SecurityGroupEgress", []):
        rules.add((rule["FromPort"], rule.get("ToPort"), rule.get("CidrIp")))
    for res in resources(template, "AWS::EC2::SecurityGroupEgress").values():
        p = res["Properties"]
        if p["GroupId"]["Fn::GetAtt"][0] == gid:
            rules.add(
                (p["FromPort"], p["ToPort"], p["DestinationSecurityGroupId"]["Fn::GetAtt"][0])
            )
    return rules


# CDK's placeholder egress on groups that may send nothing (ICMP type 252 to an
# unroutable address).
NO_EGRESS = {(252, 86, "255.255.255.255/32")}


def test_alb_group(seed):
    backend = _group(seed, "backend")
    # CloudFront's origin-facing servers only (com.amazonaws.global.cloudfront.origin-facing
    # in us-east-1): the ALB cannot be reached around the WAF. HTTPS only; the prefix list
    # weighs ~55 rules of the group's 60, so there is no room (nor need) for port 80.
    assert _ingress(seed, "alb") == {(443, 443, "pl-3b927c52")}
    assert _egress(seed, "alb") == {(8080, 8080, backend)}


def test_backend_group(seed):
    alb, monitoring = _group(seed, "alb"), _group(seed, "monitoring")
    rds, cache = _group(seed, "rds"), _group(seed, "elasticache")
    assert _ingress(seed, "backend") == {(8080, 8080, alb), (9090, 9090, monitoring)}
    assert _egress(seed, "backend") == {
        (3306, 3306, rds),
        (6379, 6379, cache),
        (443, 443, "0.0.0.0/0"),
    }


def test_worker_group_accepts_nothing(seed):
    rds, cache = _group(seed, "rds"), _group(seed, "elasticache")
    assert _ingress(seed, "worker") == set()
    assert _egress(seed, "worker") == {
        (3306, 3306, rds),
        (6379, 6379, cache),
        (443, 443, "0.0.0.0/0"),
    }


def test_rds_group(seed):
    sources = {_group(seed, name) for name in ("backend", "worker", "bastion")}
    assert _ingress(seed, "rds") == {(3306, 3306, source) for source in sources}
    assert _egress(seed, "rds") == NO_EGRESS


def test_elasticache_group(seed):
    sources = {_group(seed, name) for name in ("backend", "worker")}
    assert _ingress(seed, "elasticache") == {(6379, 6379, source) for source in sources}
    assert _egress(seed, "elasticache") == NO_EGRESS


def test_three_seed_keys_with_rotation(seed):
    aliases = {r["Properties"]["AliasName"] for r in resources(seed, "AWS::KMS::Alias").values()}
    assert {"alias/openwan-rds", "alias/openwan-s3", "alias/openwan-elasticache"} <= aliases
    for key in resources(seed, "AWS::KMS::Key").values():
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == "Retain"
    seed.has_resource_properties(
        "AWS::KMS::Key",
        {
            "Description": "Encryption key for OpenWan RDS database",
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "rds.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                            }
                        )
                    ]
                )
            },
        },
    )


def test_generated_secrets(seed):
    secrets = {
        r["Properties"]["Name"]: r["Properties"]["GenerateSecretString"]
        for r in resources(seed, "AWS::SecretsManager::Secret").values()
    }
    assert {name: gen["GenerateStringKey"] for name, gen in secrets.items()} == {
        "openwan/database/password": "password",
        "openwan/jwt/secret": "secret",
        "openwan/redis/auth-token": "token",
        "openwan/s3/encryption-key": "key",
        "openwan/cloudfront/origin-secret": "value",
        "openwan/admin/password": "password",
    }
    # Header values and ALB conditions: letters and digits only (no * or ? wildcards).
    for name in ("openwan/cloudfront/origin-secret", "openwan/admin/password"):
        assert secrets[name]["ExcludePunctuation"] is True
        assert "ExcludeCharacters" not in secrets[name]
    assert secrets["openwan/cloudfront/origin-secret"]["PasswordLength"] >= 32
    # ElastiCache refuses @, " and / in AUTH tokens.
    for char in '@"/':
        assert char in secrets["openwan/redis/auth-token"]["ExcludeCharacters"]


def test_guardduty_is_optional(seed, variant):
    seed.has_resource_properties("AWS::GuardDuty::Detector", {"Enable": True})
    variant.resource_count_is("AWS::GuardDuty::Detector", 0)
