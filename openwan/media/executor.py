"""Running a plan: FFmpeg steps in the job's directory, sprite sheets, peaks, and storing
the outputs (with retries) before anything is recorded."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from openwan.media.errors import PermanentError, TransientError
from openwan.media.ffmpeg import (
    Cancelled,
    ToolError,
    ToolTimeout,
    input_options,
    is_url,
    redact,
    run_ffmpeg,
)
from openwan.media.plan import Output, Plan, SpriteSheet, peaks_from_samples, sprite_vtt
from openwan.observability.metrics import ffmpeg_timer
from openwan.storage import Storage, StorageError

log = logging.getLogger("openwan.media")

Produced = list[tuple[Output, Path]]
STORE_ATTEMPTS = 3


class Runner:
    """What a step needs from the job: tool settings, progress, cancellation."""

    def __init__(self, *, ffmpeg: str, timeout: float, nice: int,
                 set_stage: Callable[[str], None], report: Callable[[float], None],
                 cancel) -> None:
        self.ffmpeg = ffmpeg
        self.timeout = timeout
        self.nice = nice
        self.set_stage = set_stage
        self.report = report
        self.cancel = cancel


# What FFmpeg says when it cannot reach an HTTP(S) input: worth another attempt.
NETWORK_ERRORS = ("Server returned", "HTTP error", "Connection refused", "Connection timed out",
            "Connection reset", "Input/output error", "End of file")


def run_plan(runner: Runner, plan: Plan, work: Path, duration: float | None,
             publish: Callable[[Produced], None],
             source: Callable[[float], str] | None = None) -> Produced:
    """Run every step; ``publish`` gets a playable step's outputs at once (the preview is
    shown while the poster and sprite are still being made). Returns all other outputs.

    The plan reads ``input`` in the job's directory; ``source(seconds)``, when given, names
    the input instead for each step: an object URL valid for as long as the step may run
    (FFmpeg requests ranges of it whenever it seeks or reconnects)."""
    (work / "frames").mkdir(exist_ok=True)
    (work / "hls").mkdir(exist_ok=True)
    produced: Produced = []
    for text in plan.files:
        path = work / text.output.file
        path.write_text(text.text, encoding="utf-8")
        produced.append((text.output, path))
    total = sum(step.weight for step in plan.steps) or 1.0
    done = 0.0
    for step in plan.steps:
        runner.set_stage(step.stage)
        offset, share = done / total, step.weight / total
        args = list(step.args)
        src = "input"
        if source is not None:
            src = source(runner.timeout)
            args = _with_input(args, src)
        try:
            with ffmpeg_timer(step.stage):
                run_ffmpeg(args, cwd=work, timeout=runner.timeout,
                           ffmpeg=runner.ffmpeg, nice=runner.nice, duration=duration,
                           cancel=runner.cancel,
                           on_progress=lambda f, o=offset, s=share: runner.report(o + f * s))
        except (Cancelled, ToolTimeout):
            raise
        except ToolError as exc:
            if "not installed" in str(exc):
                raise TransientError(step.stage, str(exc)) from exc
            detail = redact(exc.detail, src)
            if is_url(src) and any(sign in detail for sign in NETWORK_ERRORS):
                raise TransientError(step.stage, "the original could not be read from "
                                                 f"storage ({_last(detail)[:300]})") from None
            raise PermanentError(step.stage, _readable(exc, src)) from None
        done += step.weight
        outputs = []
        for output in step.outputs:
            path = work / output.file
            if not path.exists() or path.stat().st_size == 0:
                raise PermanentError(step.stage, f"FFmpeg produced no {output.kind} (the "
                                                 "source has no decodable frames)")
            outputs.append((output, path))
        if step.playable:
            publish(outputs)
        else:
            produced += outputs
    if plan.sprite:
        produced += compose_sprite(plan.sprite, work, duration)
    if plan.peaks and plan.peaks_raw:
        raw = (work / plan.peaks_raw).read_bytes() if (work / plan.peaks_raw).exists() else b""
        peaks = peaks_from_samples(raw, plan.peaks.extra.get("count", 1000))
        path = work / plan.peaks.file
        path.write_text(json.dumps({"version": 1, "channels": 1, "duration": duration,
                                    "peaks": peaks}, separators=(",", ":")))
        produced.append((plan.peaks, path))
    runner.report(1.0)
    return produced


def _with_input(args: list[str], source: str) -> list[str]:
    """``args`` reading ``source`` wherever they read ``input``."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "input" and i > 0 and args[i - 1] == "-i":
            out[-1:] = [*input_options(source), "-i"]
            out.append(source)
        else:
            out.append(arg)
    return out


def _last(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _readable(exc: ToolError, source: str = "input") -> str:
    detail = _last(redact(exc.detail, source)) or redact(str(exc), source)
    return f"FFmpeg could not process the file, which may be damaged or use an unsupported " \
           f"codec ({detail[:300]})"


def compose_sprite(sheet: SpriteSheet, work: Path, duration: float | None) -> Produced:
    """Lay the tiles out in one JPEG and write its WebVTT index."""
    from PIL import Image

    frames = sorted((work / sheet.frames).glob("*.jpg"))
    if not frames:
        return []
    count = len(frames)
    rows = -(-count // sheet.columns)
    w, h = sheet.tile_width, sheet.tile_height
    canvas = Image.new("RGB", (w * min(count, sheet.columns), h * rows))
    for i, frame in enumerate(frames):
        with Image.open(frame) as tile:
            canvas.paste(tile.convert("RGB").resize((w, h)) if tile.size != (w, h) else tile,
                         ((i % sheet.columns) * w, (i // sheet.columns) * h))
    image = work / sheet.output.file
    canvas.save(image, "JPEG", quality=80)
    interval = float(sheet.output.extra.get("interval") or 1.0)
    extra = dict(sheet.output.extra, count=count, rows=rows, index="sprite.vtt")
    output = Output(sheet.output.name, sheet.output.kind, sheet.output.file, sheet.output.key,
                    sheet.output.content_type, sheet.output.format, canvas.width, canvas.height,
                    extra)
    vtt_path = work / "sprite.vtt"
    vtt_path.write_text(sprite_vtt(Path(sheet.output.key).name, interval, count, sheet.columns,
                                   w, h, duration), encoding="utf-8")
    index = Output("sprite_index", "sprite_index", "sprite.vtt",
                   sheet.output.key.rsplit("/", 1)[0] + "/sprite.vtt", "text/vtt", "vtt")
    return [(output, image), (index, vtt_path)]


def store(storage: Storage, produced: Produced, *, recorded: set[str] = frozenset(),
          attempts: int = STORE_ATTEMPTS, cancel=None) -> dict[str, int]:
    """Upload every output to its key (retrying storage errors); returns each rendition's size.

    Objects appear whole under their keys (temp file + rename locally, one PUT or a completed
    multipart upload on S3). On failure, objects of this attempt are deleted again, except
    those under ``recorded`` prefixes (an earlier run's renditions, still listed)."""
    sizes: dict[str, int] = {}
    written: list[str] = []
    try:
        for output, path in produced:
            files = ([(f"{output.folder}/{p.relative_to(path.parent).as_posix()}", p)
                      for p in sorted(path.parent.rglob("*")) if p.is_file()]
                     if output.folder else [(output.key, path)])
            size = 0
            for key, file in files:
                size += file.stat().st_size
                _put(storage, key, file, _content_type(output, key), attempts, cancel)
                written.append(key)
            sizes[output.name] = size
    except BaseException:
        for key in written:
            if any(key == r or key.startswith(r.rsplit("/", 1)[0] + "/hls/") for r in recorded):
                continue
            try:
                storage.delete(key)
            except (StorageError, OSError):
                log.warning("could not remove %s after a failed store; it is overwritten by the "
                            "next attempt", key)
        raise
    return sizes


def _content_type(output: Output, key: str) -> str:
    if key.endswith(".ts"):
        return "video/mp2t"
    if key.endswith(".m3u8"):
        return "application/vnd.apple.mpegurl"
    return output.content_type


def _put(storage: Storage, key: str, path: Path, content_type: str, attempts: int,
         cancel) -> None:
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            # Moved, not copied, when the job folder shares a file system with local storage.
            storage.put_file(key, path, content_type, move=True)
            return
        except (StorageError, OSError) as exc:
            if attempt == attempts:
                raise TransientError("store", f"storing {key} failed after {attempts} "
                                              f"attempts: {exc}") from exc
            log.warning("storing %s failed (attempt %d): %s; retrying", key, attempt, exc)
            if cancel is not None and cancel.wait(delay):
                raise Cancelled("stopped while retrying a storage write") from exc
            time.sleep(0 if cancel is not None else delay)
            delay *= 2
