"""The pure parts: probe facts, geometry, the fast-path rule, plans; the FFmpeg wrapper."""

from __future__ import annotations

import threading
import time

import pytest

from openwan.media import ffmpeg as wrapper
from openwan.media.plan import browser_ready, fit, plan_video, sprite_layout
from openwan.media.profiles import profiles
from openwan.media.technical import media_info


def _probe(codec="h264", width=1920, height=1080, pix_fmt="yuv420p", container="mov,mp4",
           rotation=None, audio="aac", duration="30.0"):
    video = {"codec_type": "video", "codec_name": codec, "width": width, "height": height,
             "pix_fmt": pix_fmt, "avg_frame_rate": "25/1"}
    if rotation is not None:
        video["side_data_list"] = [{"side_data_type": "Display Matrix", "rotation": rotation}]
    streams = [video] + ([{"codec_type": "audio", "codec_name": audio, "channels": 2}]
                         if audio else [])
    return {"format": {"format_name": container, "duration": duration}, "streams": streams}


def test_fit_never_upscales_and_turns_the_box_for_portrait():
    assert fit(1920, 1080, 1280, 720) == (1280, 720)
    assert fit(640, 360, 1280, 720) == (640, 360)
    assert fit(1080, 1920, 1280, 720) == (720, 1280)
    assert fit(1, 1, 1280, 720) == (2, 2)  # encoders need even sizes
    assert fit(1921, 1081, 1280, 720)[0] % 2 == 0


def test_rotation_swaps_displayed_dimensions():
    info = media_info(_probe(width=1920, height=1080, rotation=-90))
    assert info.video.rotation == 90
    assert (info.video.display_width, info.video.display_height) == (1080, 1920)


def test_fast_path_rule():
    remux = profiles()["video"]["remux"]
    assert browser_ready(media_info(_probe(width=1280, height=720)), remux)
    assert browser_ready(media_info(_probe(width=720, height=1280)), remux)  # portrait 720p
    assert not browser_ready(media_info(_probe()), remux)  # 1080p: too big
    assert not browser_ready(media_info(_probe(width=1280, height=720, codec="hevc")), remux)
    assert not browser_ready(media_info(_probe(width=1280, height=720, pix_fmt="yuv422p")),
                             remux)
    assert not browser_ready(media_info(_probe(width=1280, height=720, audio="ac3")), remux)
    assert not browser_ready(media_info(_probe(width=1280, height=720,
                                               container="matroska,webm")), remux)
    assert browser_ready(media_info(_probe(width=1280, height=720, audio=None)), remux)


def test_sprite_layout():
    sprite = profiles()["video"]["sprite"]
    assert sprite_layout(100.0, sprite) == (1.0, 100, 10)
    assert sprite_layout(30.0, sprite) == (0.5, 60, 6)
    interval, count, rows = sprite_layout(3600.0, sprite)
    assert (interval, count, rows) == (36.0, 100, 10)
    assert sprite_layout(None, sprite)[1] == 100


def test_plans_are_data_driven_and_deterministic():
    info = media_info(_probe())
    one = plan_video(info, profiles(), 42, threads=2)
    assert one == plan_video(info, profiles(), 42, threads=2)
    [step] = one.steps
    assert step.stage == "transcode" and "veryfast" in step.args
    assert [o.key for o in step.outputs] == ["preview/video/42/720p.mp4",
                                             "thumbnails/42/poster.jpg"]
    assert one.sprite.output.key == "thumbnails/42/sprite.jpg"
    ready = plan_video(media_info(_probe(width=1280, height=720)), profiles(), 42)
    assert [s.stage for s in ready.steps] == ["remux", "images"]
    assert ready.steps[0].playable and "copy" in ready.steps[0].args
    extras = plan_video(info, profiles(hls=True, flv=True), 42)
    keys = {o.key for o in extras.steps[0].outputs}
    assert {"preview/video/42/hls/master.m3u8", "preview/flv/42/preview.flv"} <= keys
    # One decode for everything: a single FFmpeg process.
    assert len(extras.steps) == 1 and extras.steps[0].args.count("-i") == 1


def test_wrapper_timeout_kills_the_process_group(tmp_path):
    started = time.monotonic()
    with pytest.raises(wrapper.ToolTimeout):
        wrapper.run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc2=duration=60", "-f", "null",
                            "-"], cwd=tmp_path, timeout=1)
    assert time.monotonic() - started < 5


def test_wrapper_cancel_and_errors(tmp_path):
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(wrapper.Cancelled):
        wrapper.run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc2=duration=60", "-f", "null",
                            "-"], cwd=tmp_path, timeout=30, cancel=cancel)
    with pytest.raises(wrapper.ToolError) as failure:
        wrapper.run_ffmpeg(["-i", "missing.mp4", "out.mp4"], cwd=tmp_path, timeout=30)
    assert "missing.mp4" in str(failure.value)
    with pytest.raises(wrapper.ToolError, match="not installed"):
        wrapper.run_ffmpeg(["-version"], cwd=tmp_path, timeout=5, ffmpeg="no-such-ffmpeg")
    reports = []
    wrapper.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=duration=2", "-f", "null", "-"],
                       cwd=tmp_path, timeout=30, duration=2.0, on_progress=reports.append)
    assert reports[-1] == 1.0
