import json

import pytest
from openwan_infra.config import CONFIG_DIR, DeploymentConfig, load_config
from pydantic import ValidationError


def test_seed_profile_is_the_default(monkeypatch):
    monkeypatch.delenv("OPENWAN_DEPLOY_PROFILE", raising=False)
    config = load_config()
    assert config.profile == "seed"
    assert (config.account, config.region) == ("123456789012", "us-east-1")
    assert config.media_bucket_name == "openwan-media-123456789012-us-east-1"


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("OPENWAN_DEPLOY_PROFILE", "optimized")
    assert load_config().profile == "optimized"


def _seed() -> dict:
    return json.loads((CONFIG_DIR / "seed.json").read_text())


def test_subnet_outside_the_vpc_is_rejected():
    config = _seed()
    config["network"]["app_subnet_cidrs"][0] = "10.1.11.0/24"
    with pytest.raises(ValidationError, match="outside the VPC"):
        DeploymentConfig.model_validate(config)


def test_unknown_setting_is_rejected():
    config = _seed()
    config["database"]["instance_klass"] = "db.r6g.xlarge"
    with pytest.raises(ValidationError):
        DeploymentConfig.model_validate(config)


def test_spot_workers_must_be_x86():
    config = _seed()
    config["worker"].update(spot=True, architecture="arm64")
    with pytest.raises(ValidationError, match="x86_64"):
        DeploymentConfig.model_validate(config)


def test_subnet_count_must_match_azs():
    config = _seed()
    config["network"]["data_subnet_cidrs"].pop()
    with pytest.raises(ValidationError, match="data subnets"):
        DeploymentConfig.model_validate(config)
