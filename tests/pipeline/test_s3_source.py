"""On S3, FFmpeg reads video and audio originals through presigned URLs: no local copy."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import uuid

import boto3

from tests.media import make_video
from tests.pipeline.conftest import add_asset, asset_row, drain, ffprobe, renditions
from tests.pipeline.test_faults import REPO, _wait


def _bucket() -> str:
    name = f"media-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def test_a_video_master_larger_than_the_workers_file_limit_is_processed(configure, aws_env,
                                                                         tmp_path):
    bucket = _bucket()
    settings, env, admin = configure(OPENWAN_STORAGE_URL=f"s3://{bucket}", FFMPEG_THREADS="1",
                                     OPENWAN_QUEUE_WAIT="1")
    # A high-bitrate master: its preview is a fraction of its size.
    master = make_video(tmp_path / "master.mkv", seconds=3, size="640x360",
                        extra=("-c:v", "mpeg4", "-q:v", "1", "-c:a", "pcm_s16le"))
    size = master.stat().st_size
    asset_id = add_asset(settings, admin, master)
    limit = size // 2  # no file the worker (or FFmpeg) writes may reach half the master

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.Popen([sys.executable, "-m", "openwan", "worker", "--metrics-port", "0"],
                            env={**os.environ, **env, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=small_files)  # noqa: PLW1509
    try:
        _wait(lambda: asset_row(settings, asset_id).media_state in ("ready", "failed")
              or asset_row(settings, asset_id).media_error, 120, "the job to end")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready", (asset.media_error, err.decode()[-2000:])
    assert asset.technical["duration"] > 2.5
    rows = renditions(settings, asset_id)
    assert {"720p", "poster", "sprite"} <= set(rows)
    preview = tmp_path / "preview.mp4"
    boto3.client("s3").download_file(bucket, rows["720p"].storage_key, str(preview))
    streams = {s["codec_type"]: s for s in ffprobe(preview)["streams"]}
    assert streams["video"]["codec_name"] == "h264" and streams["video"]["width"] == 640
    assert streams["audio"]["codec_name"] == "aac"
    assert preview.stat().st_size < limit
    # The job left nothing behind in its work folder.
    assert not any((settings.data_dir / "work").iterdir())


def test_a_damaged_remote_original_fails_without_showing_its_url(configure, aws_env, tmp_path):
    bucket = _bucket()
    settings, env, admin = configure(OPENWAN_STORAGE_URL=f"s3://{bucket}",
                                     OPENWAN_JOB_RETRY_SECONDS="0")
    good = make_video(tmp_path / "clip.mp4", seconds=1)
    damaged = tmp_path / "damaged.mp4"
    data = good.read_bytes()
    damaged.write_bytes(data[:64] + bytes(len(data) - 64))  # the header, then zeros
    asset_id = add_asset(settings, admin, damaged)
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "failed"
    assert "http" not in asset.media_error and "Signature" not in asset.media_error
    assert bucket not in asset.media_error


def test_an_audio_original_on_s3_is_processed_from_its_url(configure, aws_env, tmp_path):
    from tests.media import ffmpeg

    bucket = _bucket()
    settings, env, admin = configure(OPENWAN_STORAGE_URL=f"s3://{bucket}")
    song = tmp_path / "song.flac"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=2", str(song))
    asset_id = add_asset(settings, admin, song)
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready", asset.media_error
    assert 1.9 < asset.technical["duration"] < 2.1
    assert {"preview", "waveform", "peaks"} <= {r.kind for r in renditions(settings,
                                                                          asset_id).values()}
