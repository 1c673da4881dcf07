"""ECR repositories for the two images (deployment step 7)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from ..checkov import skip_checks
from ..config import ImagesConfig

KEEP_IMAGES = 50


class Registry(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, images: ImagesConfig) -> None:
        super().__init__(scope, construct_id)
        self.repositories: dict[str, ecr.Repository] = {}
        for role, name in (
            ("backend", images.backend_repository),
            ("worker", images.worker_repository),
        ):
            repo = ecr.Repository(
                self,
                role.title(),
                repository_name=name,
                image_scan_on_push=True,
                encryption=ecr.RepositoryEncryption.KMS,
                # The seed deploys ":latest"; releases also push an immutable git-sha tag
                # and deploy that (see docs/deploy.md), so rollback is a tag away.
                image_tag_mutability=ecr.TagMutability.MUTABLE,
                lifecycle_rules=[
                    ecr.LifecycleRule(
                        description=f"keep the last {KEEP_IMAGES} images",
                        max_image_count=KEEP_IMAGES,
                    )
                ],
                removal_policy=RemovalPolicy.RETAIN,
            )
            skip_checks(
                repo,
                ("CKV_AWS_51", "':latest' must move (seed); releases deploy immutable sha tags"),
            )
            self.repositories[role] = repo
