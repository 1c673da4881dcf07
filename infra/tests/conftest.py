"""Synthesize each profile once per session; tests assert on the resulting templates."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

INFRA = Path(__file__).resolve().parents[1]
REPO = INFRA.parent
sys.path.insert(0, str(INFRA))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from app import build_app  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402


def _synth(profile: str, outdir: Path) -> tuple[Template, Template, Path]:
    app = build_app(profile=profile, outdir=str(outdir))
    assembly = app.synth()
    stacks = {stack.stack_name: stack for stack in assembly.stacks}
    main = next(name for name in stacks if not name.endswith("-registry"))
    templates = tuple(
        Template.from_json(stacks[name].template) for name in (main, f"{main}-registry")
    )
    return templates[0], templates[1], Path(assembly.directory)


@pytest.fixture(scope="session")
def seed_synth(tmp_path_factory) -> tuple[Template, Template, Path]:
    return _synth("seed", tmp_path_factory.mktemp("seed"))


@pytest.fixture(scope="session")
def seed(seed_synth) -> Template:
    return seed_synth[0]


@pytest.fixture(scope="session")
def registry(seed_synth) -> Template:
    return seed_synth[1]


@pytest.fixture(scope="session")
def seed_assembly(seed_synth) -> Path:
    return seed_synth[2]


@pytest.fixture(scope="session")
def optimized(tmp_path_factory) -> Template:
    return _synth("optimized", tmp_path_factory.mktemp("optimized"))[0]


@pytest.fixture(scope="session")
def lean_ha_synth(tmp_path_factory) -> tuple[Template, Template, Path]:
    return _synth("lean-ha", tmp_path_factory.mktemp("lean-ha"))


@pytest.fixture(scope="session")
def lean_ha(lean_ha_synth) -> Template:
    return lean_ha_synth[0]


@pytest.fixture(scope="session")
def variant_synth(tmp_path_factory) -> tuple[Template, Template, Path]:
    """Every optional feature on: read replicas, DNS, interface endpoints, e-mail alerts."""
    config = json.loads((INFRA / "config" / "seed.json").read_text())
    config["profile"] = "variant"
    config["database"]["read_replicas"] = 2
    config["domain"]["hosted_zone_id"] = "Z0123456789ABCDEFGHIJ"
    config["domain"]["hosted_zone_name"] = "example.com"
    config["network"]["interface_endpoints"] = ["ecr.api", "ecr.dkr", "logs"]
    config["observability"]["alarm_email"] = "ops@example.com"
    config["security"]["guardduty"] = False
    directory = tmp_path_factory.mktemp("variant")
    path = directory / "variant.json"
    path.write_text(json.dumps(config))
    return _synth(str(path), directory / "cdk.out")


@pytest.fixture(scope="session")
def variant(variant_synth) -> Template:
    return variant_synth[0]


def resources(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(type_)


def props(template: Template, type_: str, **match: Any) -> dict[str, Any]:
    """Properties of the single resource of ``type_`` whose properties include ``match``."""
    found = [
        resource.get("Properties", {})
        for resource in template.find_resources(type_).values()
        if all(resource.get("Properties", {}).get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, f"{len(found)} {type_} resources match {match}"
    return found[0]


def logical_id(template: Template, type_: str, **match: Any) -> str:
    found = [
        name
        for name, resource in template.find_resources(type_).items()
        if all(resource.get("Properties", {}).get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, f"{len(found)} {type_} resources match {match}"
    return found[0]
