"""HTTP Range checks shared by every route that streams a file."""

from __future__ import annotations

from openwan.kit.errors import APIError


def check_range(header: str | None, size: int) -> None:
    """Answer an unsatisfiable Range with our JSON 416 (FileResponse serves the rest)."""
    if not header or not header.startswith("bytes="):
        return
    starts = []
    for spec in header[6:].split(","):
        first, _, last = spec.strip().partition("-")
        if first.isdigit():
            starts.append(int(first))
        elif not first and last.isdigit() and int(last) > 0:
            starts.append(0)
    if starts and min(starts) >= size:
        raise APIError(f"range starts beyond the end of the {size}-byte file", status=416,
                       code="range_not_satisfiable", headers={"Content-Range": f"bytes */{size}"})
