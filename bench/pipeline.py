"""Media pipeline speed: from "upload complete" (asset registered) to media_state=ready, against
the bare FFmpeg commands that make the same outputs run back to back, in the same run.

Sources (generated here with testsrc2 + sine, 30 s, 25 fps):
  - 1080p H.264 High + AAC in MP4 (too big for the remux fast path: re-encoded to 720p)
  - 1080p MPEG-2 + MP2 in MPEG-TS (a codec no browser plays: re-encoded)
  - 720p H.264 + AAC in MP4 (browser-ready: remuxed; "playable" = preview recorded)

    python bench/pipeline.py [--seconds 30] [--repeat 1]

Targets: pipeline <= 1.1x bare FFmpeg; browser-ready source playable in <= 2 s.
Prints figures as it goes; the last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py is named like the standard library's ``queue``: keep this folder off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
TIMEOUT = 600


def sh(args: list[str], cwd: Path | None = None) -> None:
    subprocess.run(args, check=True, timeout=TIMEOUT, cwd=cwd, stdin=subprocess.DEVNULL)


def generate(folder: Path, seconds: int) -> dict[str, Path]:
    base = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-shortest"]
    out = {"h264_1080p": folder / "h264_1080p.mp4", "mpeg2_1080p": folder / "mpeg2_1080p.ts",
           "h264_720p_ready": folder / "h264_720p.mp4"}
    print("generating test sources…", flush=True)
    sh(base + ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
               "-pix_fmt", "yuv420p", "-c:a", "aac", str(out["h264_1080p"])])
    sh(base + ["-c:v", "mpeg2video", "-q:v", "4", "-c:a", "mp2", "-f", "mpegts",
               str(out["mpeg2_1080p"])])
    sh(base + ["-vf", "scale=1280:720", "-c:v", "libx264", "-preset", "veryfast",
               "-profile:v", "main", "-pix_fmt", "yuv420p", "-c:a", "aac",
               "-movflags", "+faststart", str(out["h264_720p_ready"])])
    return out


def bare_commands(src: Path, info, profiles: dict, remux: bool, threads: int) -> list[list[str]]:
    """The same outputs as the pipeline, one plain FFmpeg command each, as a person would."""
    from openwan.media.plan import fit, sprite_layout

    v = info.video
    pre, poster, sprite = (profiles["video"][k] for k in ("preview", "poster", "sprite"))
    w, h = fit(v.display_width, v.display_height, pre["max_width"], pre["max_height"])
    pw, ph = fit(v.display_width, v.display_height, poster["max_width"], poster["max_height"])
    interval, count, rows = sprite_layout(info.duration, sprite)
    tw = sprite["tile_width"]
    th = max(2, round(tw * v.display_height / v.display_width / 2) * 2)
    at = min(poster["max_at"], info.duration * poster["at_fraction"])
    g = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-threads", str(threads)]
    if remux:
        preview = g + ["-i", str(src), "-map", "0:v:0", "-map", "0:a:0", "-c", "copy",
                       "-movflags", "+faststart", "preview.mp4"]
    else:
        preview = g + ["-i", str(src), "-vf", f"scale={w}:{h}", "-c:v", "libx264",
                       "-preset", pre["preset"], "-crf", str(pre["crf"]), "-profile:v", "high",
                       "-pix_fmt", "yuv420p", "-g", "50", "-threads", str(threads),
                       "-c:a", "aac", "-b:a", pre["audio_bitrate"],
                       "-movflags", "+faststart", "preview.mp4"]
    poster_cmd = g + ["-ss", f"{at:.3f}", "-i", str(src), "-frames:v", "1",
                      "-vf", f"scale={pw}:{ph}", "poster.jpg"]
    sprite_cmd = g + ["-i", str(src), "-vf",
                      f"fps=1/{interval:.6f},scale={tw}:{th},tile={sprite['columns']}x{rows}",
                      "-frames:v", "1", "sprite.jpg"]
    return [preview, poster_cmd, sprite_cmd]


def run_bare(commands: list[list[str]], nice: int) -> float:
    with tempfile.TemporaryDirectory(prefix="openwan-bare-") as tmp:
        started = time.perf_counter()
        for cmd in commands:
            # The same niceness as the pipeline's encoders: like for like.
            sh(["nice", "-n", str(nice), *cmd], cwd=Path(tmp))
        return time.perf_counter() - started


def register(settings, storage, src: Path, user_id: int) -> int:
    """The end of an upload: the original durable in storage and its row committed."""
    from openwan.assets import service
    from openwan.assets.ingest import Received
    from openwan.db import unit_of_work
    from openwan.kit.sniff import sniff
    from openwan.models import User
    from openwan.storage import original_key

    with open(src, "rb") as f:
        sniffed = sniff(f.read(8192), src.suffix.lstrip("."))
    key = original_key(sniffed.kind, sniffed.extension)
    storage.put_file(key, src, sniffed.mime)
    digest = hashlib.sha256(f"{src}{time.time_ns()}".encode()).hexdigest()
    with unit_of_work(settings) as session:
        asset = service.register(session, Received(key, src.stat().st_size, digest, sniffed,
                                                   src.name),
                                 user=session.get(User, user_id))
        session.flush()
        return asset.id


def wait_ready(settings, asset_id: int, started: float) -> tuple[float, float | None]:
    """(seconds to ready, seconds to a playable preview). Polls the SQLite file directly every
    50 ms: an ORM session 100 times a second would take CPU from the (niced) encoder."""
    import sqlite3

    db = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), timeout=30)
    playable = None
    deadline = started + TIMEOUT
    try:
        while time.perf_counter() < deadline:
            state, error = db.execute("SELECT media_state, media_error FROM assets WHERE id=?",
                                      (asset_id,)).fetchone()
            if playable is None and db.execute(
                    "SELECT 1 FROM renditions WHERE asset_id=? AND kind='preview'",
                    (asset_id,)).fetchone():
                playable = time.perf_counter() - started
            if state == "ready":
                return time.perf_counter() - started, playable
            if state == "failed":
                raise SystemExit(f"asset {asset_id} failed: {error}")
            time.sleep(0.05)
    finally:
        db.close()
    raise SystemExit(f"asset {asset_id} not ready within {TIMEOUT} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=1, help="best of N for each figure")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="openwan-bench-pipeline-") as tmp:
        folder = Path(tmp)
        sources = generate(folder, args.seconds)
        os.environ.update({"OPENWAN_DATA_DIR": str(folder / "var"), "OPENWAN_ENV": "test",
                           "JWT_SECRET": "bench-secret-" + "x" * 40})
        for name in ("OPENWAN_DATABASE_URL", "OPENWAN_STORAGE_URL", "OPENWAN_QUEUE_URL",
                     "SQS_QUEUE_URL", "DB_HOST", "S3_BUCKET"):
            os.environ.pop(name, None)
        from openwan import migrate
        from openwan.access import service as accounts
        from openwan.assets.events import asset_created
        from openwan.config import Settings, set_settings
        from openwan.db import unit_of_work
        from openwan.media.ffmpeg import probe
        from openwan.media.profiles import profiles
        from openwan.media.technical import media_info
        from openwan.media.worker import Worker
        from openwan.storage import get_storage

        settings = Settings()
        set_settings(settings)
        migrate.upgrade(settings.database_url)
        with unit_of_work(settings) as session:
            user_id = accounts.create_user(session, "bench", "Correct-Horse-Battery-9",
                                           is_admin=True).id
        storage = get_storage(settings)
        worker = Worker(settings, reconcile=False).start()  # as inside `openwan up`
        figures: dict = {"threads": settings.media.threads, "nice": settings.media.nice,
                         "source_seconds": args.seconds}
        try:
            for name, src in sources.items():
                info = media_info(probe(src))
                remux = name.endswith("_ready")
                bare_cmds = bare_commands(src, info, profiles(), remux, settings.media.threads)
                bare_times, pipe_times, playable_times = [], [], []
                for _ in range(args.repeat):
                    bare_times.append(run_bare(bare_cmds, settings.media.nice))
                    asset_id = register(settings, storage, src, user_id)
                    started = time.perf_counter()
                    asset_created(settings, asset_id)  # enqueue after commit, as uploads do
                    ready, playable = wait_ready(settings, asset_id, started)
                    pipe_times.append(ready)
                    playable_times.append(playable)
                bare, pipe = min(bare_times), min(pipe_times)
                playable = min(p for p in playable_times if p is not None)
                figures[name] = {"bare_ffmpeg_s": round(bare, 3), "pipeline_s": round(pipe, 3),
                                 "ratio": round(pipe / bare, 3),
                                 "first_playable_s": round(playable, 3), "remux": remux}
                print(f"{name}: bare FFmpeg {bare:.2f} s, pipeline to ready {pipe:.2f} s "
                      f"(ratio {pipe / bare:.2f}), first playable {playable:.2f} s", flush=True)
        finally:
            worker.stop(timeout=30)
        encoded = [figures[k]["ratio"] for k in ("h264_1080p", "mpeg2_1080p")]
        figures["targets"] = {"ratio_max": 1.1, "remux_playable_max_s": 2.0,
                              "met": max(encoded) <= 1.1
                              and figures["h264_720p_ready"]["first_playable_s"] <= 2.0}
        figures["reference_mediacms"] = {"first_playable_s": 15, "720p_s": 85}
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
