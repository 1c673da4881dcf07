"""openwan cost: the seed's table reproduced from unit prices, and the optimized profile."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from openwan.cost import estimate, load_prices, load_sizing
from openwan.cost.cli import cost
from openwan.cost.sizing import SizingError

ROOT = Path(__file__).resolve().parents[2]
SEED_TOTAL = 3591.50  # the architecture document's "TOTAL MONTHLY COST"
PACKAGED = ROOT / "openwan" / "cost" / "profiles"


@pytest.fixture(scope="module")
def prices() -> dict:
    return load_prices("us-east-1")


@pytest.fixture(scope="module")
def seed(prices):
    return estimate(load_sizing("seed"), prices)


def money(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def test_prices_are_dated_and_regional(prices):
    assert prices["region"] == "us-east-1"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices["as_of"])
    assert prices["hours_per_month"] == 730


def test_seed_total_matches_the_document(seed):
    # The document's table, line for line; the estimate adds what the table leaves out.
    assert seed.seed_table_total == pytest.approx(SEED_TOTAL, abs=5)
    omitted = {line.name: line.monthly for line in seed.lines if not line.in_seed_table}
    assert set(omitted) == {
        "Worker task storage (+180 GB)",
        "NAT data processing (2600 GB)",
        "WAF web ACL + 7 rules",
        "KMS (4 keys, 2M requests)",
        "Container Insights",
    }
    assert seed.total == pytest.approx(seed.seed_table_total + sum(omitted.values()))


def test_charges_the_seed_table_leaves_out(seed, prices):
    by_name = {line.name: line.monthly for line in seed.lines}
    # Without an S3 gateway endpoint every upload and media read crosses a NAT gateway.
    assert by_name["NAT data processing (2600 GB)"] == pytest.approx(2600 * 0.045)
    # The web ACL, and one monthly fee per rule (a managed group counts as one).
    assert by_name["WAF web ACL + 7 rules"] == pytest.approx(5 + 7 * 1)
    assert by_name["WAF (10M requests)"] == pytest.approx(10 * 0.60)
    # Four customer managed keys, and requests at $0.03 per 10,000.
    assert by_name["KMS (4 keys, 2M requests)"] == pytest.approx(4 * 1 + 2 * 3)
    # Container Insights: CloudWatch metrics plus its performance events as logs.
    assert by_name["Container Insights"] == pytest.approx(60 * 0.30 + 20 * 0.50)
    # 200 GB worker storage: 180 GB beyond the included 20, for 3 tasks on average.
    assert by_name["Worker task storage (+180 GB)"] == pytest.approx(180 * 0.000111 * 730 * 3)
    assert not any(name.startswith("Extended Support") for name in by_name), "MySQL 8.4"


def test_mysql_8_0_bills_extended_support(prices, tmp_path):
    config = json.loads((PACKAGED / "seed.json").read_text())
    config["database"]["engine_version"] = "8.0.43"
    path = tmp_path / "mysql80.json"
    path.write_text(json.dumps(config))
    old = estimate(load_sizing(str(path)), prices)
    by_name = {line.name: line for line in old.lines}
    line = by_name["Extended Support (MySQL 8.0)"]
    # db.r6g.xlarge has 4 vCPUs, Multi-AZ runs two instances, $0.10 per vCPU-hour.
    assert line.monthly == pytest.approx(4 * 2 * 0.10 * 730)
    assert not line.in_seed_table
    current = estimate(load_sizing("seed"), prices)
    assert old.total - current.total == pytest.approx(line.monthly)


def test_lean_ha_keeps_the_seed_availability_at_or_below_2000(prices, seed):
    sizing = load_sizing("lean-ha")
    lean = estimate(sizing, prices)
    assert lean.total <= 2000
    # The same high availability as the seed: Multi-AZ database, a replica per Redis shard,
    # two or more tasks of each kind over two AZs, each AZ with its own NAT gateway.
    assert sizing.database.multi_az
    assert sizing.cache.replicas_per_shard >= 1
    assert sizing.network.availability_zones >= 2
    assert sizing.network.nat_gateways == sizing.network.availability_zones
    for task in (sizing.backend, sizing.worker):
        assert task.desired_count >= 2 and task.min_count >= 2
    # The same workload: usage assumptions are the seed's, bar the NAT traffic the S3
    # gateway endpoint takes away.
    seed_usage = load_sizing("seed").usage
    assert replace(sizing.usage, nat_processed_gb=seed_usage.nat_processed_gb) == seed_usage
    assert sizing.network.s3_gateway_endpoint
    # Every charge is on its own line, the omitted ones marked.
    assert {line.section for line in lean.lines} == set(
        line.section for line in seed.lines
    )


@pytest.mark.parametrize(
    ("section", "seed_subtotal"),
    [
        ("Compute (ECS Fargate)", 657),
        ("Database (RDS)", 795),
        ("Cache (ElastiCache)", 1486),
        ("Storage (S3 + CloudFront)", 325),
        ("Networking", 188),
        ("Queue (SQS)", 20),
        ("Security & Monitoring", 110),
        ("Other Services", 10.50),
    ],
)
def test_seed_subtotals_match_the_document(seed, section, seed_subtotal):
    # The seed rounds each line; its cache line ($1,486) is 0.226 x 9 x 730 = 1,484.82.
    assert seed.subtotal(section, seed_table_only=True) == pytest.approx(seed_subtotal, abs=2)


def test_seed_lines_follow_the_sizing(seed):
    by_name = {line.name: line for line in seed.lines}
    assert by_name["Backend (2-20 tasks)"].monthly == pytest.approx(146, abs=0.5)
    assert by_name["Worker (2-10 tasks)"].monthly == pytest.approx(292, abs=0.5)
    assert by_name["Redis Cluster (9 nodes)"].monthly == pytest.approx(0.226 * 9 * 730)
    assert by_name["NAT Gateway (3 AZs)"].monthly == pytest.approx(0.045 * 3 * 730)
    # 500 GB gp3 includes 12,000 IOPS and 500 MB/s: storage is 500 GB x 2 (Multi-AZ).
    assert by_name["Storage (500GB gp3)"].monthly == pytest.approx(115)


def test_sizes_drive_the_estimate(prices):
    sizing = load_sizing("seed")
    bigger = replace(
        sizing,
        backend=replace(sizing.backend, desired_count=4),
        cache=replace(sizing.cache, shards=6),
    )
    base, grown = estimate(sizing, prices), estimate(bigger, prices)
    backend_task_month = (2 * 0.041 + 4 * 0.0045) * 730
    cache_month = 0.226 * 9 * 730
    # Two more backend tasks (+50% autoscaling allowance) and nine more cache nodes.
    assert grown.total - base.total == pytest.approx(2 * backend_task_month * 1.5 + cache_month)


def test_iops_beyond_the_gp3_baseline_are_billed(prices):
    sizing = load_sizing("seed")
    faster = replace(sizing, database=replace(sizing.database, iops=16000))
    extra = estimate(faster, prices).subtotal("Database (RDS)") - estimate(sizing, prices).subtotal(
        "Database (RDS)"
    )
    assert extra == pytest.approx(4000 * 0.02 * 2)  # Multi-AZ bills the IOPS twice


def test_read_replicas_add_instances_and_storage(prices):
    sizing = load_sizing("seed")
    with_replicas = replace(sizing, database=replace(sizing.database, read_replicas=2))
    added = estimate(with_replicas, prices).total - estimate(sizing, prices).total
    assert added == pytest.approx(2 * (0.2004 * 730 + 500 * 0.115))


def test_optimized_is_cheaper_and_applies_each_lever(prices, seed):
    optimized = estimate(load_sizing("optimized"), prices)
    details = " ".join(line.detail for line in optimized.lines)
    assert "Spot -70%" in details
    assert "Savings Plan -20%" in details
    assert "Graviton" in details
    assert "reserved -40%" in details
    assert any(line.name == "S3 Gateway Endpoint" for line in optimized.lines)
    assert optimized.total < seed.total * 0.75
    # The seed's own guess after optimisation is "~$2,500/month".
    assert 2000 < optimized.total < 2600


def test_unknown_instance_class_is_a_clear_error(prices, tmp_path):
    config = json.loads((PACKAGED / "seed.json").read_text())
    config["database"]["instance_class"] = "db.x9.huge"
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(config))
    with pytest.raises(SizingError, match="db.x9.huge"):
        estimate(load_sizing(str(path)), prices)


def test_packaged_profiles_are_the_infra_profiles():
    # The runtime package ships its own copy (infra/ is not installed); they must not drift.
    for name in ("seed", "optimized", "lean-ha"):
        infra = ROOT / "infra" / "config" / f"{name}.json"
        if not infra.exists():
            pytest.skip("infra/ not present in this checkout")
        assert (PACKAGED / f"{name}.json").read_text() == infra.read_text()


def test_cli_seed_prints_the_table_and_total():
    result = CliRunner().invoke(cost, ["--profile", "seed"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for section in (
        "Compute (ECS Fargate)",
        "Database (RDS)",
        "Cache (ElastiCache)",
        "Networking",
        "Other Services",
    ):
        assert section in lines
    assert any(line.strip().startswith("Redis Cluster (9 nodes)") for line in lines)
    total = next(line for line in lines if line.startswith("TOTAL MONTHLY COST"))
    seed = estimate(load_sizing("seed"), load_prices())
    assert money(total.split()[-1]) == pytest.approx(seed.total, abs=0.01)
    left_out = next(line for line in lines if line.startswith("of which the seed's table"))
    assert money(left_out.split()[-1]) == pytest.approx(seed.total - SEED_TOTAL, abs=5)
    assert any(line.startswith("+ NAT data processing") for line in lines)
    assert "Saving vs seed" not in result.output


def test_cli_optimized_prints_the_saving():
    result = CliRunner().invoke(cost, ["--profile", "optimized"])
    assert result.exit_code == 0, result.output
    saving_line = next(line for line in result.output.splitlines() if line.startswith("Saving"))
    saving = money(saving_line.split()[3])
    total = money(
        next(line for line in result.output.splitlines() if line.startswith("TOTAL")).split()[-1]
    )
    expected = estimate(load_sizing("seed"), load_prices()).total - total
    assert saving == pytest.approx(expected, abs=0.01)
    assert saving > 900


def test_cli_reads_a_config_file(tmp_path):
    config = json.loads((PACKAGED / "seed.json").read_text())
    config["profile"] = "small"
    config["cache"]["shards"] = 1
    config["network"]["nat_gateways"] = 1
    path = tmp_path / "small.json"
    path.write_text(json.dumps(config))
    result = CliRunner().invoke(cost, ["--profile", str(path)])
    assert result.exit_code == 0, result.output
    assert "profile small" in result.output
    assert "Redis Cluster (3 nodes)" in result.output
    assert "NAT Gateway (1 AZs)" in result.output


def test_cli_rejects_an_unknown_profile():
    result = CliRunner().invoke(cost, ["--profile", "nonexistent"])
    assert result.exit_code != 0
    assert "unknown profile" in result.output
