"""cfn-lint and checkov on the synthesized templates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[1]
CHECKOV = INFRA / ".venv-checkov" / "bin" / "checkov"


def _templates(assembly: Path) -> list[Path]:
    templates = sorted(assembly.glob("*.template.json"))
    assert len(templates) == 2
    return templates


def _lint(paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("profile", ["seed", "optimized", "variant", "lean-ha"])
def test_cfn_lint_has_no_errors(
    profile, seed_assembly, variant_synth, lean_ha_synth, tmp_path_factory
):
    if profile == "seed":
        assembly = seed_assembly
    elif profile == "variant":
        assembly = variant_synth[2]
    elif profile == "lean-ha":
        assembly = lean_ha_synth[2]
    else:
        from app import build_app

        outdir = tmp_path_factory.mktemp("lint-optimized")
        build_app(profile="optimized", outdir=str(outdir)).synth()
        assembly = outdir
    result = _lint(_templates(assembly))
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert errors == [], json.dumps(errors, indent=2)


def _checkov(assembly: Path) -> dict:
    if not CHECKOV.exists():
        pytest.skip("checkov virtualenv missing: run `make -C infra test`")
    result = subprocess.run(
        [
            str(CHECKOV),
            "--skip-download",
            "--framework",
            "cloudformation",
            "-d",
            str(assembly),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.fixture(scope="module")
def checkov_report(seed_assembly) -> dict:
    return _checkov(seed_assembly)


def test_checkov_has_no_failures(checkov_report):
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []
    assert checkov_report["summary"]["passed"] > 150


def test_every_checkov_skip_is_used_and_explained(checkov_report, seed_assembly):
    declared = set()
    for template in _templates(seed_assembly):
        for name, resource in json.loads(template.read_text())["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip["comment"]) > 20, f"{name} {skip['id']}: give a real reason"
                declared.add((skip["id"], name))
    used = {
        (c["check_id"], c["resource"].split(".", 1)[1])
        for c in checkov_report["results"]["skipped_checks"]
    }
    assert declared == used, "stale or unrecognised checkov skips"
