from .conftest import logical_id, props, resources


def _distribution(template):
    (distribution,) = resources(template, "AWS::CloudFront::Distribution").values()
    return distribution["Properties"]["DistributionConfig"]


def _cache_policy(template, ref):
    return template.to_json()["Resources"][ref["Ref"]]["Properties"]["CachePolicyConfig"]


def test_distribution(seed):
    dist = _distribution(seed)
    assert dist["Aliases"] == ["openwan.example.com"]
    assert dist["PriceClass"] == "PriceClass_All"
    cert = dist["ViewerCertificate"]
    assert cert["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert cert["SslSupportMethod"] == "sni-only"
    assert cert["AcmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    waf = logical_id(seed, "AWS::WAFv2::WebACL", Name="openwan-waf-webacl")
    assert dist["WebACLId"] == {"Fn::GetAtt": [waf, "Arn"]}
    origins = {o["Id"]: o for o in dist["Origins"]}
    alb_origin = next(o for o in origins.values() if "CustomOriginConfig" in o)
    assert alb_origin["DomainName"] == "origin.openwan.example.com"
    assert alb_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    s3_origin = next(o for o in origins.values() if "S3OriginConfig" in o)
    assert "OriginAccessControlId" in s3_origin
    default = dist["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == alb_origin["Id"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"


def test_media_behaviours_and_ttls(seed):
    dist = _distribution(seed)
    behaviours = {b["PathPattern"]: b for b in dist["CacheBehaviors"]}
    assert set(behaviours) == {"/preview/*", "/thumbnails/*"}
    expected_default_ttl = {"/preview/*": 86400, "/thumbnails/*": 604800}
    for path, behaviour in behaviours.items():
        assert behaviour["AllowedMethods"] == ["GET", "HEAD", "OPTIONS"]
        assert behaviour["CachedMethods"] == ["GET", "HEAD"]
        assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behaviour["Compress"] is True
        policy = _cache_policy(seed, behaviour["CachePolicyId"])
        assert policy["MinTTL"] == 0
        assert policy["DefaultTTL"] == expected_default_ttl[path]
        assert policy["MaxTTL"] == 31536000
        params = policy["ParametersInCacheKeyAndForwardedToOrigin"]
        assert params["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
        assert params["HeadersConfig"]["Headers"] == [
            "Origin",
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers",
        ]


def test_web_acl(seed):
    acl = props(seed, "AWS::WAFv2::WebACL", Name="openwan-waf-webacl")
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in acl["Rules"]}
    assert {name: r["Priority"] for name, r in rules.items()} == {
        "AWSManagedRulesCommonRuleSet": 1,
        "AWSManagedRulesKnownBadInputsRuleSet": 2,
        "AWSManagedRulesSQLiRuleSet": 3,
        "RateLimitRule": 10,
        "GeoBlockRule": 11,
        "AWSManagedRulesAmazonIpReputationList": 12,
    }
    for name in (
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    ):
        statement = rules[name]["Statement"]["ManagedRuleGroupStatement"]
        assert statement == {"VendorName": "AWS", "Name": name}
        assert rules[name]["OverrideAction"] == {"None": {}}
    rate = rules["RateLimitRule"]
    assert rate["Statement"]["RateBasedStatement"] == {"Limit": 2000, "AggregateKeyType": "IP"}
    assert rate["Action"] == {"Block": {}}
    geo = rules["GeoBlockRule"]
    assert geo["Statement"]["NotStatement"]["Statement"]["GeoMatchStatement"]["CountryCodes"] == [
        "US",
        "CN",
        "JP",
        "KR",
        "SG",
    ]
    assert geo["Action"] == {"Block": {}}


def test_waf_logs_to_its_log_group(seed):
    logging = next(iter(resources(seed, "AWS::WAFv2::LoggingConfiguration").values()))
    group = logical_id(seed, "AWS::Logs::LogGroup", LogGroupName="aws-waf-logs-openwan")
    (destination,) = logging["Properties"]["LogDestinationConfigs"]
    # The bare log-group ARN (WAF rejects the ":*" form CDK's logGroupArn has).
    assert destination["Fn::Join"][1][-2:] == [
        ":logs:us-east-1:123456789012:log-group:",
        {"Ref": group},
    ]


def test_dns_records_only_with_a_hosted_zone(seed, variant):
    seed.resource_count_is("AWS::Route53::RecordSet", 0)
    records = [r["Properties"] for r in resources(variant, "AWS::Route53::RecordSet").values()]
    assert sorted((r["Name"], r["Type"]) for r in records) == [
        ("openwan.example.com.", "A"),
        ("openwan.example.com.", "AAAA"),
        ("origin.openwan.example.com.", "A"),
    ]
    assert all(r["HostedZoneId"] == "Z0123456789ABCDEFGHIJ" for r in records)
