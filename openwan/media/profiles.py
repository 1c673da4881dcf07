"""What each media type gets, as data: the planner reads these, nothing branches on codecs.

Change a number here (a bit rate, a size, a preset) and every new job follows it; a rerun
(``openwan jobs retry``) rebuilds an asset's renditions under the same keys.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

PROFILES: dict[str, Any] = {
    "video": {
        # The browser preview: H.264 + AAC in MP4, moov atom first, never upscaled.
        "preview": {
            "name": "720p", "max_width": 1280, "max_height": 720,
            "video_codec": "libx264", "preset": "veryfast", "crf": 23, "profile": "high",
            "pix_fmt": "yuv420p", "gop_seconds": 2, "max_fps": 60,
            "audio_codec": "aac", "audio_bitrate": "128k", "audio_channels": 2,
            "audio_rate": 48000,
        },
        # Sources a browser already plays are copied into MP4 instead (seconds, not minutes).
        "remux": {
            "containers": ["mov", "mp4", "m4a", "3gp", "3g2", "mj2"],
            "video_codecs": ["h264"], "pix_fmts": ["yuv420p", "yuvj420p"],
            "audio_codecs": ["aac"],
            # "720p-ish": a little slack for 1280x736 and 1296x720 style sources.
            "max_width": 1296, "max_height": 736, "max_fps": 60,
        },
        "poster": {"name": "poster", "max_width": 1280, "max_height": 720, "at_fraction": 0.1,
                   "max_at": 10.0, "quality": 3},
        # One image of columns x rows tiles, with a WebVTT index for scrubbing.
        "sprite": {"name": "sprite", "columns": 10, "rows": 10, "tile_width": 160,
                   "min_interval": 0.5, "quality": 5},
        # Adaptive streaming, encoded in the same process as the preview (one decode).
        "hls": {
            "name": "hls", "segment_seconds": 6, "preset": "veryfast",
            "ladder": [
                {"name": "360p", "max_width": 640, "max_height": 360,
                 "video_bitrate": "800k", "audio_bitrate": "96k"},
                {"name": "720p", "max_width": 1280, "max_height": 720,
                 "video_bitrate": "2800k", "audio_bitrate": "128k"},
            ],
        },
        # The original OpenWan's Flash preview, for legacy players only (opt-in).
        "flv": {"name": "flv", "max_width": 640, "max_height": 360, "video_codec": "flv",
                "video_bitrate": "800k", "audio_codec": "libmp3lame", "audio_bitrate": "96k",
                "audio_rate": 44100},
    },
    "audio": {
        "preview": {"name": "preview", "codec": "aac", "bitrate": "128k", "channels": 2,
                    "rate": 48000, "format": "m4a", "content_type": "audio/mp4"},
        # Copied, not re-encoded, when a browser already plays the source as it is.
        "remux": {"aac": ["mov", "mp4", "m4a", "3gp", "3g2", "mj2", "aac"],
                  "mp3": ["mp3"]},
        "waveform": {"name": "waveform", "width": 1800, "height": 280, "color": "0x3b82f6",
                     "peaks": 1000, "sample_rate": 4000},
    },
    "image": {
        "renditions": [
            {"name": "thumbnail", "kind": "thumbnail", "max_side": 320},
            {"name": "preview", "kind": "preview", "max_side": 1600},
        ],
        "formats": [{"format": "jpeg", "ext": "jpg", "content_type": "image/jpeg", "quality": 85},
                    {"format": "webp", "ext": "webp", "content_type": "image/webp",
                     "quality": 80}],
    },
    "document": {
        "thumbnail": {"name": "thumbnail", "max_side": 640},
        # Every page as an image for reading in the browser (the first ``max_pages``).
        "pages": {"name": "pages", "max_side": 1400, "max_pages": 300, "quality": 80},
        "text_preview_bytes": 256 * 1024,
        "office_timeout": 180,
    },
}


def profiles(*, hls: bool = False, flv: bool = False) -> dict[str, Any]:
    """The profiles with the optional outputs switched on or off by configuration."""
    data = deepcopy(PROFILES)
    data["video"]["hls"]["enabled"] = hls
    data["video"]["flv"]["enabled"] = flv
    return data
