"""Dependencies point one way: the queue imports no domain code, the FFmpeg wrapper nothing of
OpenWan's, and the planner nothing with side effects."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "openwan"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return {name for name in found if name.startswith("openwan")}


def test_queue_imports_no_domain_code():
    for path in (PACKAGE / "queue").glob("*.py"):
        assert _imports(path) <= {"openwan.config", "openwan.queue", "openwan.queue.base",
                                  "openwan.queue.embedded", "openwan.queue.sqs"}, path.name


def test_ffmpeg_wrapper_imports_nothing_of_ours():
    assert _imports(PACKAGE / "media" / "ffmpeg.py") == set()


def test_planner_is_pure():
    assert _imports(PACKAGE / "media" / "plan.py") <= {"openwan.media.technical"}
    assert _imports(PACKAGE / "media" / "technical.py") == set()
