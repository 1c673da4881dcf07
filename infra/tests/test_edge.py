from .conftest import logical_id, props, resources


def _distribution(template):
    (distribution,) = resources(template, "AWS::CloudFront::Distribution").values()
    return distribution["Properties"]["DistributionConfig"]


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
    (alb_origin,) = dist["Origins"]
    assert alb_origin["DomainName"] == "origin.openwan.example.com"
    assert alb_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    default = dist["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == alb_origin["Id"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"


def test_cloudfront_sends_the_origin_secret(seed):
    (alb_origin,) = _distribution(seed)["Origins"]
    (header,) = alb_origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-OpenWan-Origin"
    secret = logical_id(
        seed, "AWS::SecretsManager::Secret", Name="openwan/cloudfront/origin-secret"
    )
    # A dynamic reference: the value stays in Secrets Manager, not in the template.
    assert header["HeaderValue"] == {"Fn::Join": ["", [
        "{{resolve:secretsmanager:", {"Ref": secret}, ":SecretString:value::}}"]]}


def test_no_public_media_behaviours(seed):
    """Previews and thumbnails only through presigned URLs the app signs per request."""
    dist = _distribution(seed)
    assert "CacheBehaviors" not in dist
    assert all("S3OriginConfig" not in origin for origin in dist["Origins"])
    seed.resource_count_is("AWS::CloudFront::OriginAccessControl", 0)
    seed.resource_count_is("AWS::CloudFront::CachePolicy", 0)


def _rules(template):
    acl = props(template, "AWS::WAFv2::WebACL", Name="openwan-waf-webacl")
    return acl, {r["Name"]: r for r in acl["Rules"]}


def test_web_acl(seed):
    acl, rules = _rules(seed)
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert {name: r["Priority"] for name, r in rules.items()} == {
        "AWSManagedRulesCommonRuleSet": 1,
        "AWSManagedRulesKnownBadInputsRuleSet": 2,
        "AWSManagedRulesSQLiRuleSet": 3,
        "BodyRulesOutsideUploads": 4,
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
        assert (statement["VendorName"], statement["Name"]) == ("AWS", name)
        assert rules[name]["OverrideAction"] == {"None": {}}
    rate = rules["RateLimitRule"]["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["AggregateKeyType"]) == (2000, "IP")
    assert rules["RateLimitRule"]["Action"] == {"Block": {}}
    geo = rules["GeoBlockRule"]
    assert geo["Statement"]["NotStatement"]["Statement"]["GeoMatchStatement"]["CountryCodes"] == [
        "US",
        "CN",
        "JP",
        "KR",
        "SG",
    ]
    assert geo["Action"] == {"Block": {}}


# A small evaluator of the WAF statements used here, so the tests ask what happens to a
# request rather than how the JSON is spelled.
def _matches(statement, request):
    (kind, body), = statement.items()
    if kind == "AndStatement":
        return all(_matches(s, request) for s in body["Statements"])
    if kind == "OrStatement":
        return any(_matches(s, request) for s in body["Statements"])
    if kind == "NotStatement":
        return not _matches(body["Statement"], request)
    if kind == "LabelMatchStatement":
        assert body["Scope"] == "LABEL"
        return body["Key"] in request["labels"]
    if kind == "ByteMatchStatement":
        (field,) = body["FieldToMatch"]
        value = {"Method": request["method"], "UriPath": request["path"]}[field]
        assert body["TextTransformations"] == [{"Priority": 0, "Type": "NONE"}]
        target, position = body["SearchString"], body["PositionalConstraint"]
        return {
            "EXACTLY": value == target,
            "STARTS_WITH": value.startswith(target),
        }[position]
    raise AssertionError(f"unexpected statement {kind}")


SIZE_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
UPLOADS = [
    ("POST", "/api/v1/assets"),  # multipart upload
    ("POST", "/api/v1/uploads"),  # tus creation (creation-with-upload carries bytes)
    ("PATCH", "/api/v1/uploads/3f2c1ab4d5"),  # tus chunk
]
NOT_UPLOADS = [
    ("PATCH", "/api/v1/assets/12"),
    ("POST", "/api/v1/assets/bulk"),
    ("POST", "/api/v1/auth/login"),
    ("PUT", "/api/v1/uploads/3f2c1ab4d5"),
    ("POST", "/api/v1/users"),
]


def _blocked_by_body_rules(rules, method, path, labels):
    rule = rules["BodyRulesOutsideUploads"]
    assert rule["Action"] == {"Block": {}}
    return _matches(rule["Statement"], {"method": method, "path": path, "labels": labels})


def test_size_restriction_counts_in_the_managed_group(seed):
    _, rules = _rules(seed)
    crs = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    overrides = {o["Name"]: o["ActionToUse"] for o in crs["RuleActionOverrides"]}
    # Inside the group it only labels the request: the group would block every upload.
    assert overrides["SizeRestrictions_BODY"] == {"Count": {}}
    assert all(action == {"Count": {}} for action in overrides.values())
    # The other rules of the group keep their own action.
    assert "NoUserAgent_HEADER" not in overrides
    assert rules["AWSManagedRulesAmazonIpReputationList"]["Statement"][
        "ManagedRuleGroupStatement"].get("RuleActionOverrides") is None


def test_uploads_pass_oversized_bodies_everything_else_does_not(seed):
    _, rules = _rules(seed)
    for method, path in UPLOADS:
        assert not _blocked_by_body_rules(rules, method, path, {SIZE_LABEL}), (method, path)
    for method, path in NOT_UPLOADS:
        assert _blocked_by_body_rules(rules, method, path, {SIZE_LABEL}), (method, path)
    # A request no body rule labelled passes, upload or not.
    assert not _blocked_by_body_rules(rules, "POST", "/api/v1/users", set())


def test_every_counted_body_rule_is_blocked_again_outside_uploads(seed):
    _, rules = _rules(seed)
    namespaces = {
        "AWSManagedRulesCommonRuleSet": "core-rule-set",
        "AWSManagedRulesKnownBadInputsRuleSet": "known-bad-inputs",
        "AWSManagedRulesSQLiRuleSet": "sql-database",
    }
    for group, namespace in namespaces.items():
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        for override in statement["RuleActionOverrides"]:
            name = override["Name"]
            assert name.endswith("_BODY"), "only body rules are relaxed"
            label = f"awswaf:managed:aws:{namespace}:{name[:-5]}_Body"
            assert _blocked_by_body_rules(rules, "POST", "/api/v1/users", {label}), label
            assert not _blocked_by_body_rules(rules, "PATCH", "/api/v1/uploads/x", {label})


def test_rate_limit_does_not_count_tus_patches(seed):
    _, rules = _rules(seed)
    scope = rules["RateLimitRule"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]

    def counted(method, path):
        return _matches(scope, {"method": method, "path": path, "labels": set()})

    assert not counted("PATCH", "/api/v1/uploads/3f2c1ab4d5")
    for method, path in [("POST", "/api/v1/uploads"), ("HEAD", "/api/v1/uploads/3f2c1ab4d5"),
                         ("POST", "/api/v1/assets"), ("GET", "/api/v1/assets"),
                         ("POST", "/api/v1/auth/login"), ("PATCH", "/api/v1/assets/12")]:
        assert counted(method, path), (method, path)


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
