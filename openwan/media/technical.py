"""ffprobe's JSON → the facts the planner and the asset's ``technical`` field need. Pure."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class VideoStream:
    codec: str
    profile: str | None
    pix_fmt: str | None
    width: int  # as coded
    height: int
    display_width: int  # as shown: rotation and pixel aspect applied
    display_height: int
    rotation: int  # clockwise degrees a player turns the picture: 0, 90, 180, 270
    frame_rate: float | None
    bit_rate: int | None
    interlaced: bool


@dataclass(frozen=True)
class AudioStream:
    codec: str
    channels: int | None
    channel_layout: str | None
    sample_rate: int | None
    bit_rate: int | None


@dataclass(frozen=True)
class MediaInfo:
    container: str  # ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    duration: float | None
    bit_rate: int | None
    video: VideoStream | None
    audio: AudioStream | None
    streams: int

    @property
    def containers(self) -> set[str]:
        return set(self.container.split(","))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result and result >= 0 else None  # NaN, negative → unknown


def _rate(value: Any) -> float | None:
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return round(float(rate), 3) if rate > 0 else None


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            # The display matrix says how far to turn counter-clockwise; players turn it back.
            return int(round(-float(side["rotation"]))) % 360
    tag = _int((stream.get("tags") or {}).get("rotate"))
    return (tag or 0) % 360


def _video(stream: dict[str, Any]) -> VideoStream:
    width, height = _int(stream.get("width")) or 0, _int(stream.get("height")) or 0
    display_w, display_h = width, height
    sar = stream.get("sample_aspect_ratio")
    if sar and sar not in ("0:1", "1:1", "N/A"):
        with contextlib.suppress(ValueError, ZeroDivisionError):  # malformed: square pixels
            display_w = round(width * Fraction(sar.replace(":", "/")))
    rotation = _rotation(stream)
    if rotation in (90, 270):
        display_w, display_h = display_h, display_w
    rate = _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate"))
    return VideoStream(
        codec=stream.get("codec_name", "unknown"), profile=stream.get("profile"),
        pix_fmt=stream.get("pix_fmt"), width=width, height=height,
        display_width=display_w, display_height=display_h, rotation=rotation,
        frame_rate=rate, bit_rate=_int(stream.get("bit_rate")),
        interlaced=stream.get("field_order") in ("tt", "bb", "tb", "bt"))


def _audio(stream: dict[str, Any]) -> AudioStream:
    return AudioStream(codec=stream.get("codec_name", "unknown"),
                       channels=_int(stream.get("channels")),
                       channel_layout=stream.get("channel_layout"),
                       sample_rate=_int(stream.get("sample_rate")),
                       bit_rate=_int(stream.get("bit_rate")))


def media_info(probe: dict[str, Any]) -> MediaInfo:
    """The first real video stream (cover art excluded) and the first audio stream."""
    streams = probe.get("streams") or []
    fmt = probe.get("format") or {}
    video = audio = None
    for stream in streams:
        kind = stream.get("codec_type")
        if kind == "video" and video is None:
            if (stream.get("disposition") or {}).get("attached_pic"):
                continue
            if not stream.get("width"):
                continue
            video = _video(stream)
        elif kind == "audio" and audio is None:
            audio = _audio(stream)
    duration = _float(fmt.get("duration"))
    if duration is None:
        durations = [_float(s.get("duration")) for s in streams]
        duration = max((d for d in durations if d), default=None)
    return MediaInfo(container=fmt.get("format_name", "unknown"), duration=duration,
                     bit_rate=_int(fmt.get("bit_rate")), video=video, audio=audio,
                     streams=len(streams))


def technical(info: MediaInfo) -> dict[str, Any]:
    """The asset's ``technical`` JSON: flat top-level facts the UI and search use, plus
    per-stream detail."""
    out: dict[str, Any] = {"duration": round(info.duration, 3) if info.duration else None,
                           "container": info.container, "bit_rate": info.bit_rate,
                           "streams": info.streams}
    if info.video:
        v = info.video
        out.update(width=v.display_width, height=v.display_height, video_codec=v.codec,
                   frame_rate=v.frame_rate, rotation=v.rotation)
        out["video"] = asdict(v)
    if info.audio:
        a = info.audio
        out.update(audio_codec=a.codec, audio_channels=a.channels, sample_rate=a.sample_rate)
        out["audio"] = asdict(a)
    return out
