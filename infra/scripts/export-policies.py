#!/usr/bin/env python3
"""Rewrite infra/policies/*.json from the synthesized template of a profile.

    infra/.venv/bin/python infra/scripts/export-policies.py [PROFILE]   (default: seed)

Run it after changing a task role; `make -C infra test` fails while the files are stale.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

INFRA = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(INFRA))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from app import build_app  # noqa: E402
from openwan_infra.policies import POLICIES_DIR, export_policies  # noqa: E402


def main() -> None:
    profile = sys.argv[1] if len(sys.argv) > 1 else "seed"
    with tempfile.TemporaryDirectory() as outdir:
        assembly = build_app(profile=profile, outdir=outdir).synth()
        (stack,) = [s for s in assembly.stacks if not s.stack_name.endswith("-registry")]
        files = export_policies(stack.template)
    POLICIES_DIR.mkdir(exist_ok=True)
    for name, text in files.items():
        (POLICIES_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote {POLICIES_DIR / name}")


if __name__ == "__main__":
    main()
