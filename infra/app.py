#!/usr/bin/env python3
"""Synthesize the OpenWan stacks.

    python app.py                                  # seed profile into ./cdk.out
    OPENWAN_DEPLOY_PROFILE=optimized python app.py
    cdk synth -c profile=config/my-env.json -c image_tag=3f2c1ab

Needs no AWS account, CDK CLI or network: every value comes from the profile, and nothing
uses a context lookup.
"""

from __future__ import annotations

import os
from pathlib import Path

import aws_cdk as cdk
from openwan_infra.config import load_config
from openwan_infra.stack import OpenWanStack, RegistryStack

HERE = Path(__file__).resolve().parent


def build_app(
    *, profile: str | None = None, image_tag: str | None = None, outdir: str | None = None
) -> cdk.App:
    # The CDK CLI passes CDK_OUTDIR; run directly, write next to this file.
    app = cdk.App(outdir=outdir or os.environ.get("CDK_OUTDIR") or str(HERE / "cdk.out"))
    config = load_config(profile or app.node.try_get_context("profile"))
    tag = image_tag or app.node.try_get_context("image_tag")
    if tag:
        config = config.model_copy(update={"images": config.images.model_copy(update={"tag": tag})})
    env = cdk.Environment(account=config.account, region=config.region)
    name = f"OpenWan-{config.profile}"
    RegistryStack(
        app, f"{name}-registry", config=config, env=env, description="OpenWan container registries"
    )
    OpenWanStack(
        app,
        name,
        config=config,
        env=env,
        description=f"OpenWan media asset management ({config.profile} profile)",
    )
    cdk.Tags.of(app).add("Application", "openwan")
    cdk.Tags.of(app).add("Environment", "production")
    return app


if __name__ == "__main__":
    build_app().synth()
