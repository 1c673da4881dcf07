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


def test_worker_storage_must_hold_a_master_per_job():
    config = _seed()
    config["worker"]["ephemeral_storage_gib"] = 100  # 2 jobs x (50 GiB master + 25 GiB out)
    with pytest.raises(ValidationError, match="cannot hold"):
        DeploymentConfig.model_validate(config)


@pytest.mark.parametrize("profile", ["seed", "optimized", "lean-ha"])
def test_process_counts_follow_the_task_size(profile):
    config = load_config(profile)
    assert config.backend.web_processes == config.backend.cpu // 1024
    worker = config.worker
    assert worker.concurrency * worker.ffmpeg_threads == worker.cpu // 1024
    assert worker.ephemeral_storage_gib >= worker.concurrency * 75


def test_origin_prefix_list_is_required_and_well_formed():
    config = _seed()
    config["edge"]["cloudfront_origin_prefix_list_id"] = "com.amazonaws.global.cloudfront"
    with pytest.raises(ValidationError):
        DeploymentConfig.model_validate(config)
    del config["edge"]["cloudfront_origin_prefix_list_id"]
    with pytest.raises(ValidationError):
        DeploymentConfig.model_validate(config)


def test_mysql_versions_on_standard_support_or_priced():
    config = _seed()
    config["database"]["engine_version"] = "5.7.44"
    with pytest.raises(ValidationError, match="8.4"):
        DeploymentConfig.model_validate(config)
