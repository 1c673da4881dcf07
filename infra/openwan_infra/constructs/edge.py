"""CloudFront in front of the ALB (app) and the media bucket (previews, thumbnails), WAF, DNS."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from ..config import DomainConfig, EdgeConfig

WEB_ACL_NAME = "openwan-waf-webacl"
CORS_HEADERS = ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"]
MANAGED_RULE_GROUPS = (
    # (priority, name): the seed's order. Managed groups run in their own action ("None"
    # override) so their block decisions stand.
    (1, "AWSManagedRulesCommonRuleSet"),
    (2, "AWSManagedRulesKnownBadInputsRuleSet"),
    (3, "AWSManagedRulesSQLiRuleSet"),
    (12, "AWSManagedRulesAmazonIpReputationList"),
)
RATE_LIMIT_PRIORITY, GEO_BLOCK_PRIORITY = 10, 11
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
        media_bucket: s3.IBucket,
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

        media_origin = origins.S3BucketOrigin.with_origin_access_control(media_bucket)

        def media_cache_policy(ident: str, name: str, default_ttl: int) -> cloudfront.CachePolicy:
            return cloudfront.CachePolicy(
                self,
                ident,
                cache_policy_name=name,
                min_ttl=Duration.seconds(0),
                default_ttl=Duration.seconds(default_ttl),
                max_ttl=Duration.seconds(config.preview_max_ttl_seconds),
                # The CORS request headers are part of the key so browsers get the right
                # Access-Control-* answer; no query string (signed URLs are not used here).
                header_behavior=cloudfront.CacheHeaderBehavior.allow_list(*CORS_HEADERS),
                query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
                cookie_behavior=cloudfront.CacheCookieBehavior.none(),
                enable_accept_encoding_gzip=True,
                enable_accept_encoding_brotli=True,
            )

        def media_behavior(policy: cloudfront.ICachePolicy) -> cloudfront.BehaviorOptions:
            return cloudfront.BehaviorOptions(
                origin=media_origin,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=policy,
                compress=True,
            )

        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="OpenWan: app via the ALB, previews and thumbnails from S3",
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
                ),
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                # The API and pages are per-user: never cache, forward everything but Host.
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                compress=True,
            ),
            additional_behaviors={
                "/preview/*": media_behavior(
                    media_cache_policy(
                        "PreviewCachePolicy", "openwan-preview", config.preview_default_ttl_seconds
                    )
                ),
                "/thumbnails/*": media_behavior(
                    media_cache_policy(
                        "ThumbnailsCachePolicy",
                        "openwan-thumbnails",
                        config.thumbnails_default_ttl_seconds,
                    )
                ),
            },
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
                        vendor_name="AWS", name=name
                    )
                ),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=_visibility(name),
            )
            for priority, name in MANAGED_RULE_GROUPS
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitRule",
                priority=RATE_LIMIT_PRIORITY,
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=config.waf_rate_limit, aggregate_key_type="IP"
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
