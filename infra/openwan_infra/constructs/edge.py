"""CloudFront in front of the ALB, the WAF, DNS.

Media never goes through CloudFront: the application hands out short-lived presigned S3 URLs
for originals and renditions alike, after checking the caller's level, groups and the asset's
workflow state. The seed's public ``/preview/*`` and ``/thumbnails/*`` behaviours (S3 through
an origin access control, keys with sequential asset ids) bypassed all three, so there are
none, and CloudFront has no grant on the bucket at all.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from ..config import DomainConfig, EdgeConfig

WEB_ACL_NAME = "openwan-waf-webacl"
ORIGIN_HEADER = "X-OpenWan-Origin"
# Managed rules that look at the request body, by group, with the label each adds to a
# request it matches. Inside their groups they only count (the label is still added); the
# rule "BodyRulesOutsideUploads" blocks on those labels unless the request is an upload.
# A master's bytes are not a form: SizeRestrictions_BODY (over 8 KB) refuses every
# multipart POST and tus PATCH, and the pattern rules would refuse the odd video or
# document whose bytes happen to look like script, SQL or a path.
BODY_RULES = {
    "AWSManagedRulesCommonRuleSet": (
        "core-rule-set",
        (
            "SizeRestrictions_BODY",
            "CrossSiteScripting_BODY",
            "GenericLFI_BODY",
            "GenericRFI_BODY",
            "EC2MetaDataSSRF_BODY",
        ),
    ),
    "AWSManagedRulesKnownBadInputsRuleSet": (
        "known-bad-inputs",
        ("JavaDeserializationRCE_BODY", "Log4JRCE_BODY", "ReactJSRCE_BODY"),
    ),
    "AWSManagedRulesSQLiRuleSet": ("sql-database", ("SQLi_BODY", "SQLiExtendedPatterns_BODY")),
}
MANAGED_RULE_GROUPS = (
    # (priority, name): the seed's order. Managed groups run in their own action ("None"
    # override) so their block decisions stand, but for the body rules above.
    (1, "AWSManagedRulesCommonRuleSet"),
    (2, "AWSManagedRulesKnownBadInputsRuleSet"),
    (3, "AWSManagedRulesSQLiRuleSet"),
    (12, "AWSManagedRulesAmazonIpReputationList"),
)
BODY_RULES_PRIORITY, RATE_LIMIT_PRIORITY, GEO_BLOCK_PRIORITY = 4, 10, 11
# The upload routes: multipart POST /api/v1/assets, tus POST /api/v1/uploads (creation) and
# PATCH /api/v1/uploads/<id> (the bytes).
ASSETS_PATH, UPLOADS_PATH = "/api/v1/assets", "/api/v1/uploads"
_PRICE_CLASSES = {
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
}


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


class Edge(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EdgeConfig,
        domain: DomainConfig,
        origin_secret: secretsmanager.ISecret,
        load_balancer: elbv2.IApplicationLoadBalancer,
        log_bucket: s3.IBucket,
        waf_log_group_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.web_acl = self._web_acl(config)
        stack = Stack.of(self)
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            # WAF wants the bare log-group ARN (no ":*" suffix).
            log_destination_configs=[
                stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=waf_log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )

        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="OpenWan: the app via the ALB (media through presigned S3 URLs)",
            domain_names=[domain.name],
            certificate=acm.Certificate.from_certificate_arn(
                self, "Certificate", domain.cloudfront_certificate_arn
            ),
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            ssl_support_method=cloudfront.SSLMethod.SNI,
            price_class=_PRICE_CLASSES[config.price_class],
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            web_acl_id=self.web_acl.attr_arn,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
            default_behavior=cloudfront.BehaviorOptions(
                # CloudFront reaches the ALB by a name its certificate covers.
                origin=origins.HttpOrigin(
                    domain.origin_name,
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                    origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                    # Resolved by CloudFormation at deploy time: the value is in Secrets
                    # Manager, never in the template. The ALB forwards only requests that
                    # carry it; the backend trusts X-Forwarded-For only on those.
                    custom_headers={
                        ORIGIN_HEADER: origin_secret.secret_value_from_json(
                            "value"
                        ).unsafe_unwrap()
                    },
                ),
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                # The API and pages are per-user: never cache, forward everything but Host.
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                compress=True,
            ),
        )

        if domain.hosted_zone_id and domain.hosted_zone_name:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self,
                "Zone",
                hosted_zone_id=domain.hosted_zone_id,
                zone_name=domain.hosted_zone_name,
            )
            cdn = route53.RecordTarget.from_alias(targets.CloudFrontTarget(self.distribution))
            route53.ARecord(self, "AppA", zone=zone, record_name=domain.name, target=cdn)
            route53.AaaaRecord(self, "AppAaaa", zone=zone, record_name=domain.name, target=cdn)
            route53.ARecord(
                self,
                "OriginA",
                zone=zone,
                record_name=domain.origin_name,
                target=route53.RecordTarget.from_alias(targets.LoadBalancerTarget(load_balancer)),
            )

    def _web_acl(self, config: EdgeConfig) -> wafv2.CfnWebACL:
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=name,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule,
                                action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                            )
                            for rule in BODY_RULES[name][1]
                        ]
                        if name in BODY_RULES
                        else None,
                    )
                ),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=_visibility(name),
            )
            for priority, name in MANAGED_RULE_GROUPS
        ]
        body_labels = [
            _statement(
                label_match_statement=wafv2.CfnWebACL.LabelMatchStatementProperty(
                    scope="LABEL", key=f"awswaf:managed:aws:{namespace}:{_label(rule)}"
                )
            )
            for namespace, names in BODY_RULES.values()
            for rule in names
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="BodyRulesOutsideUploads",
                priority=BODY_RULES_PRIORITY,
                # What the managed body rules would have blocked, blocked everywhere but on
                # the upload routes: JSON API bodies keep the seed's protection.
                statement=_statement(
                    and_statement=wafv2.CfnWebACL.AndStatementProperty(
                        statements=[
                            _statement(
                                or_statement=wafv2.CfnWebACL.OrStatementProperty(
                                    statements=body_labels
                                )
                            ),
                            _not(_upload_request()),
                        ]
                    )
                ),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                visibility_config=_visibility("BodyRulesOutsideUploads"),
            )
        )
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitRule",
                priority=RATE_LIMIT_PRIORITY,
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=config.waf_rate_limit,
                        aggregate_key_type="IP",
                        # tus PATCHes are not counted: a 50 GiB master is 6,400 of them in
                        # 8 MiB chunks, and the backend counts its own uploads by bytes.
                        scope_down_statement=_not(_tus_patch()),
                    )
                ),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                visibility_config=_visibility("RateLimitRule"),
            )
        )
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="GeoBlockRule",
                priority=GEO_BLOCK_PRIORITY,
                # Block everything NOT from the allowed countries.
                statement=wafv2.CfnWebACL.StatementProperty(
                    not_statement=wafv2.CfnWebACL.NotStatementProperty(
                        statement=wafv2.CfnWebACL.StatementProperty(
                            geo_match_statement=wafv2.CfnWebACL.GeoMatchStatementProperty(
                                country_codes=config.waf_allowed_countries
                            )
                        )
                    )
                ),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                visibility_config=_visibility("GeoBlockRule"),
            )
        )
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=WEB_ACL_NAME,
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("openwan-waf"),
            rules=sorted(rules, key=lambda rule: rule.priority),
        )


def _statement(**kwargs: object) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(**kwargs)  # type: ignore[arg-type]


def _not(statement: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return _statement(not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=statement))


def _label(rule: str) -> str:
    """Managed rules label what they match with their name, ``_BODY`` spelled ``_Body``."""
    return rule.removesuffix("_BODY") + "_Body"


def _match(field: str, value: str, position: str) -> wafv2.CfnWebACL.StatementProperty:
    return _statement(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                method={} if field == "method" else None,
                uri_path={} if field == "uri_path" else None,
            ),
            positional_constraint=position,
            search_string=value,
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
            ],
        )
    )


def _method(name: str) -> wafv2.CfnWebACL.StatementProperty:
    return _match("method", name, "EXACTLY")


def _tus_patch() -> wafv2.CfnWebACL.StatementProperty:
    """PATCH /api/v1/uploads/<id>: one chunk of a resumable upload."""
    return _statement(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(
            statements=[_method("PATCH"), _match("uri_path", f"{UPLOADS_PATH}/", "STARTS_WITH")]
        )
    )


def _upload_request() -> wafv2.CfnWebACL.StatementProperty:
    """Multipart POST /api/v1/assets, or POST|PATCH /api/v1/uploads[/<id>] (tus)."""
    multipart = _statement(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(
            statements=[_method("POST"), _match("uri_path", ASSETS_PATH, "EXACTLY")]
        )
    )
    tus = _statement(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(
            statements=[
                _match("uri_path", UPLOADS_PATH, "STARTS_WITH"),
                _statement(
                    or_statement=wafv2.CfnWebACL.OrStatementProperty(
                        statements=[_method("POST"), _method("PATCH")]
                    )
                ),
            ]
        )
    )
    return _statement(
        or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=[multipart, tus])
    )
