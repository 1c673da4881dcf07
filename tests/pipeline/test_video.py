"""Video: technical metadata, preview (encoded or remuxed), poster, sprite, odd inputs."""

from __future__ import annotations

from tests.media import ffmpeg, make_video
from tests.pipeline.conftest import add_asset, asset_row, drain, ffprobe, renditions, stored


def test_video_gets_preview_poster_sprite_and_metadata(settings, owner, tmp_path):
    # MPEG-2 in MPEG-TS: no browser plays it, so the preview is encoded.
    src = make_video(tmp_path / "clip.ts", seconds=3, size="640x360",
                     extra=("-c:v", "mpeg2video", "-q:v", "4", "-c:a", "mp2"))
    asset_id = add_asset(settings, owner, src)
    assert asset_row(settings, asset_id).media_state == "queued"
    assert drain(settings) == 1
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready", asset.media_error
    tech = asset.technical
    assert tech["video_codec"] == "mpeg2video" and tech["audio_codec"] == "mp2"
    assert (tech["width"], tech["height"]) == (640, 360)
    assert abs(tech["duration"] - 3) < 0.2 and tech["frame_rate"] == 25
    rows = renditions(settings, asset_id)
    assert {"720p", "poster", "sprite", "sprite_index"} <= set(rows)
    preview = ffprobe(stored(settings, rows["720p"].storage_key))
    codecs = {s["codec_type"]: s for s in preview["streams"]}
    assert codecs["video"]["codec_name"] == "h264" and codecs["audio"]["codec_name"] == "aac"
    assert (codecs["video"]["width"], codecs["video"]["height"]) == (640, 360)  # no upscale
    assert rows["720p"].storage_key == f"preview/video/{asset_id}/720p.mp4"
    head = stored(settings, rows["720p"].storage_key).read_bytes()[:64]
    assert b"moov" in head or b"ftyp" in head  # faststart: the index comes first
    assert rows["poster"].storage_key == f"thumbnails/{asset_id}/poster.jpg"
    vtt = stored(settings, rows["sprite_index"].storage_key).read_text()
    assert vtt.startswith("WEBVTT") and "sprite.jpg#xywh=0,0,160,90" in vtt


def test_browser_ready_source_is_remuxed(settings, owner, tmp_path):
    src = make_video(tmp_path / "ready.mp4", seconds=2, size="640x360")
    asset_id = add_asset(settings, owner, src)
    drain(settings)
    rows = renditions(settings, asset_id)
    assert asset_row(settings, asset_id).media_state == "ready"
    original = ffprobe(src)["streams"][0]
    preview = ffprobe(stored(settings, rows["720p"].storage_key))["streams"][0]
    # A copy, not an encode: the same bit stream (same profile and bit rate).
    assert preview["codec_name"] == "h264" and preview["profile"] == original["profile"]
    assert preview["nb_frames"] == original["nb_frames"]
    assert stored(settings, rows["poster"].storage_key).stat().st_size > 0


def test_video_without_audio(settings, owner, tmp_path):
    src = make_video(tmp_path / "silent.mkv", seconds=2, audio=False,
                     extra=("-c:v", "mpeg4"))
    asset_id = add_asset(settings, owner, src)
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready", asset.media_error
    assert "audio_codec" not in asset.technical
    preview = ffprobe(stored(settings, renditions(settings, asset_id)["720p"].storage_key))
    assert [s["codec_type"] for s in preview["streams"]] == ["video"]


def test_rotated_phone_video_is_upright(settings, owner, tmp_path):
    plain, src = tmp_path / "plain.mp4", tmp_path / "phone.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2", "-c:v", "mpeg4",
           str(plain))
    # A display matrix, as phones write it (FFmpeg 5.1 sets it from the rotate tag on copy).
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(src))
    asset_id = add_asset(settings, owner, src)
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready", asset.media_error
    assert asset.technical["rotation"] in (90, 270)
    assert (asset.technical["width"], asset.technical["height"]) == (360, 640)
    rows = renditions(settings, asset_id)
    assert (rows["poster"].width, rows["poster"].height) == (360, 640)
    from PIL import Image

    with Image.open(stored(settings, rows["poster"].storage_key)) as img:
        assert img.size == (360, 640)  # portrait, as the phone showed it
    video = ffprobe(stored(settings, rows["720p"].storage_key))["streams"][0]
    # Turned in the pixels, so players that ignore the matrix show it upright too.
    assert (video["width"], video["height"]) == (360, 640)
    assert not any("rotation" in side and side["rotation"]
                   for side in video.get("side_data_list", []))


def test_audio_only_mp4_is_processed_as_audio(settings, owner, tmp_path):
    src = tmp_path / "voice.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=2", "-c:a", "aac", str(src))
    asset_id = add_asset(settings, owner, src)
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready", asset.media_error
    rows = renditions(settings, asset_id)
    assert {"preview", "waveform", "peaks"} <= set(rows)


def test_truncated_mp4_fails_with_a_readable_message(settings, owner, tmp_path):
    src = make_video(tmp_path / "whole.mp4", seconds=2)  # moov at the end (no faststart)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    asset_id = add_asset(settings, owner, cut)
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "failed"
    assert asset.media_error.startswith("probe: ") and "damaged or truncated" in asset.media_error
    assert renditions(settings, asset_id) == {}


def test_optional_hls_and_legacy_flv(configure, tmp_path):
    from fastapi.testclient import TestClient

    from openwan.app import create_app
    from tests.conftest import ADMIN_PASSWORD, login

    settings, env, admin = configure(OPENWAN_HLS="1", OPENWAN_LEGACY_FLV="1")
    src = make_video(tmp_path / "clip.mkv", seconds=3, size="640x360",
                     extra=("-c:v", "mpeg4"))
    asset_id = add_asset(settings, admin, src)
    drain(settings)
    assert asset_row(settings, asset_id).media_state == "ready"
    rows = renditions(settings, asset_id)
    assert rows["flv"].storage_key == f"preview/flv/{asset_id}/preview.flv"
    assert ffprobe(stored(settings, rows["flv"].storage_key))["format"]["format_name"] == "flv"
    with TestClient(create_app(settings)) as client:
        auth = login(client, "admin", ADMIN_PASSWORD)
        items = client.get(f"/api/v1/assets/{asset_id}/renditions", headers=auth).json()["items"]
        hls = next(i for i in items if i["kind"] == "hls")
        master = client.get(hls["url"])
        assert master.status_code == 200 and "#EXT-X-STREAM-INF" in master.text
        variant = master.text.splitlines()[-1]
        base = hls["url"].rsplit("/", 1)[0]
        playlist = client.get(f"{base}/{variant}")  # relative paths keep the signature
        segment = next(line for line in playlist.text.splitlines() if line.endswith(".ts"))
        response = client.get(f"{base}/{segment}")
        assert response.status_code == 200 and response.content[:1] == b"\x47"  # MPEG-TS sync
    # Profiles changed (HLS off): a rerun removes the rendition and its whole folder.
    from openwan.media import service

    settings, _, _ = configure(OPENWAN_HLS="0")
    service.reprocess(settings, asset_id)
    drain(settings)
    assert "hls" not in renditions(settings, asset_id)
    assert not any((settings.data_dir / "storage" / f"preview/video/{asset_id}/hls").rglob("*"))
