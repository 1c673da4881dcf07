"""The web UI speaks Chinese and English.

Strings live in ``strings/<area>.json`` as ``{"key": {"zh": "…", "en": "…"}}``, one file per
area of the UI (common, errors, search, asset, upload, review, admin), so that each page's
strings sit together. Keys are unique across files; every key has both languages (checked at
import and by the tests). Error codes of the API are translated under ``error.<code>``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import Request

LANGUAGES = ("zh", "en")
STRINGS_DIR = Path(__file__).parent / "strings"


def _load() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(STRINGS_DIR.glob("*.json")):
        for key, values in json.loads(path.read_text(encoding="utf-8")).items():
            if key in merged:
                raise ValueError(f"web string {key!r} is defined twice ({path.name})")
            missing = [lang for lang in LANGUAGES if not values.get(lang)]
            if missing:
                raise ValueError(f"web string {key!r} in {path.name} lacks {missing}")
            merged[key] = values
    return merged


STRINGS: dict[str, dict[str, str]] = _load()


def language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get("openwan_lang")
    if chosen in LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    return "zh" if accept.startswith("zh") else "en"


@cache
def strings(lang: str) -> dict[str, str]:
    return {key: values[lang] for key, values in STRINGS.items()}


@cache
def strings_json(lang: str) -> str:
    # "</" could end the <script> element that carries the JSON.
    return json.dumps(strings(lang), ensure_ascii=False).replace("</", "<\\/")
