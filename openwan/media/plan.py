"""Planning transcodes: a probe result + profiles (data) → the FFmpeg commands to run.

Pure functions: no I/O, no clock, nothing of the database. The executor runs a plan in a
temporary directory (file names here are relative to it) and stores each output under its
deterministic key, so running a plan twice overwrites the same objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from openwan.media.technical import MediaInfo


@dataclass(frozen=True)
class Output:
    name: str  # unique per asset: "720p", "poster", "sprite", "hls"…
    kind: str  # preview | poster | sprite | sprite_index | waveform | peaks | hls | legacy
    file: str  # in the job's temporary directory (a folder for HLS)
    key: str  # storage key of the object (for a folder: of its main file)
    content_type: str
    format: str
    width: int | None = None
    height: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    folder: str | None = None  # HLS: upload the whole folder under this key prefix


@dataclass(frozen=True)
class Step:
    stage: str  # shown on the job while it runs: "remux", "transcode", "sprite"…
    args: tuple[str, ...]  # ffmpeg arguments after the global ones
    outputs: tuple[Output, ...]
    weight: float = 1.0  # share of the job's progress bar
    # After this step the preview can be shown: store and record it before going on.
    playable: bool = False


@dataclass(frozen=True)
class TextFile:
    """An output the plan writes itself (a WebVTT index, an HLS master playlist)."""

    output: Output
    text: str


@dataclass(frozen=True)
class SpriteSheet:
    """Tiles FFmpeg leaves as numbered frames in ``frames/``, laid out into one image.

    (A ``tile`` filter would emit its single image only at the end, which holds back FFmpeg's
    progress reports until then.)"""

    output: Output
    frames: str  # folder of "%04d.jpg" frames
    columns: int
    tile_width: int
    tile_height: int
    quality: int


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    files: tuple[TextFile, ...] = ()
    sprite: SpriteSheet | None = None
    peaks: Output | None = None  # computed from the raw samples a step leaves behind
    peaks_raw: str | None = None
    notes: tuple[str, ...] = ()


class NothingToDo(ValueError):
    """The probe found nothing this type can be made from (no video and no audio stream)."""


# -- geometry ---------------------------------------------------------------------------------
def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def fit(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """Fit inside the box (turned for portrait sources), keep the aspect, never upscale."""
    if height > width:
        max_width, max_height = max_height, max_width
    scale = min(1.0, max_width / max(width, 1), max_height / max(height, 1))
    return _even(width * scale), _even(height * scale)


def _video_filters(info: MediaInfo) -> list[str]:
    assert info.video
    filters = []
    if info.video.interlaced:
        filters.append("yadif=deint=interlaced")
    return filters


def _rate(info: MediaInfo, max_fps: float) -> float | None:
    rate = info.video.frame_rate if info.video else None
    return rate if rate and rate <= max_fps else None


def _audio_args(info: MediaInfo, codec: str, bitrate: str, channels: int, rate: int,
                stream: str = "0:a:0") -> list[str]:
    if info.audio is None:
        return ["-an"]
    return ["-map", stream, "-c:a", codec, "-b:a", bitrate,
            "-ac", str(min(channels, info.audio.channels or channels)), "-ar", str(rate)]


# -- video ------------------------------------------------------------------------------------
def browser_ready(info: MediaInfo, remux: dict[str, Any]) -> bool:
    """Streams a browser plays as they are: copy them into MP4 instead of encoding."""
    v = info.video
    if v is None or not info.containers & set(remux["containers"]):
        return False
    if v.codec not in remux["video_codecs"] or v.pix_fmt not in remux["pix_fmts"]:
        return False
    if info.audio is not None and info.audio.codec not in remux["audio_codecs"]:
        return False
    if v.frame_rate and v.frame_rate > remux["max_fps"]:
        return False
    landscape = v.display_width >= v.display_height
    long_side, short_side = ((v.display_width, v.display_height) if landscape
                             else (v.display_height, v.display_width))
    return long_side <= remux["max_width"] and short_side <= remux["max_height"]


def sprite_layout(duration: float | None, sprite: dict[str, Any]) -> tuple[float, int, int]:
    """(interval between tiles in s, tile count, rows)."""
    columns, most = sprite["columns"], sprite["columns"] * sprite["rows"]
    if not duration:
        return sprite["min_interval"], most, sprite["rows"]
    interval = max(duration / most, sprite["min_interval"])
    count = max(1, min(most, math.ceil(duration / interval - 1e-6)))
    return interval, count, math.ceil(count / columns)


def _vtt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def sprite_vtt(image_name: str, interval: float, count: int, columns: int, tile_w: int,
               tile_h: int, duration: float | None) -> str:
    lines = ["WEBVTT", ""]
    for i in range(count):
        start = i * interval
        end = min((i + 1) * interval, duration) if duration else (i + 1) * interval
        x, y = (i % columns) * tile_w, (i // columns) * tile_h
        lines += [f"{_vtt_time(start)} --> {_vtt_time(end)}",
                  f"{image_name}#xywh={x},{y},{tile_w},{tile_h}", ""]
    return "\n".join(lines)


def plan_video(info: MediaInfo, profiles: dict[str, Any], asset_id: int, *,
               threads: int = 2) -> Plan:
    """Preview (remux or one-pass encode), poster, sprite + index, optional HLS and FLV."""
    if info.video is None:
        if info.audio is None:
            raise NothingToDo("the file has neither a video nor an audio stream")
        # A video container with only sound (an .mp4 interview recording): treat as audio.
        return replace(plan_audio(info, profiles, asset_id, threads=threads),
                       notes=("no video stream: processed as audio",))
    p = profiles["video"]
    v = info.video
    base = f"preview/video/{asset_id}"
    thumbs = f"thumbnails/{asset_id}"
    pre, poster, sprite = p["preview"], p["poster"], p["sprite"]
    width, height = fit(v.display_width, v.display_height, pre["max_width"], pre["max_height"])
    poster_w, poster_h = fit(v.display_width, v.display_height, poster["max_width"],
                             poster["max_height"])
    tile_w = sprite["tile_width"]
    tile_h = _even(tile_w * v.display_height / max(v.display_width, 1))
    interval, count, rows = sprite_layout(info.duration, sprite)
    poster_at = min(poster["max_at"], (info.duration or 0) * poster["at_fraction"])
    t = str(threads)

    preview_out = Output(pre["name"], "preview", "preview.mp4", f"{base}/{pre['name']}.mp4",
                         "video/mp4", "mp4", width, height,
                         {"video_codec": "h264", "audio_codec": "aac" if info.audio else None})
    poster_out = Output(poster["name"], "poster", "poster.jpg", f"{thumbs}/poster.jpg",
                        "image/jpeg", "jpeg", poster_w, poster_h)
    sprite_out = Output(sprite["name"], "sprite", "sprite.jpg", f"{thumbs}/sprite.jpg",
                        "image/jpeg", "jpeg", tile_w * sprite["columns"], tile_h * rows,
                        {"columns": sprite["columns"], "rows": rows, "count": count,
                         "interval": round(interval, 3), "tile_width": tile_w,
                         "tile_height": tile_h})
    sprite_chain = (f"fps=fps=1/{interval:.6f}:round=down,trim=end_frame={count},"
                    f"scale={tile_w}:{tile_h}:flags=bilinear,setsar=1")
    sheet = SpriteSheet(sprite_out, "frames", sprite["columns"], tile_w, tile_h,
                        sprite["quality"])
    frame_args = ["-frames:v", str(count), "-q:v", "3", "-f", "image2", "frames/%04d.jpg"]
    poster_chain = (f"trim=start={poster_at:.3f},trim=end_frame=1,"
                    f"scale={poster_w}:{poster_h}:flags=bicubic,setsar=1")
    image_args = ["-frames:v", "1", "-update", "1"]

    steps: list[Step] = []
    files: list[TextFile] = []  # the sprite's index is written once its tiles exist
    hls = p["hls"] if p["hls"].get("enabled") else None
    flv = p["flv"] if p["flv"].get("enabled") else None

    if browser_ready(info, p["remux"]) and hls is None:
        steps.append(Step("remux", (
            "-i", "input", "-map", "0:v:0", *(["-map", "0:a:0"] if info.audio else ["-an"]),
            "-c", "copy", "-dn", "-sn", "-map_metadata", "-1", "-movflags", "+faststart",
            "-f", "mp4", preview_out.file), (preview_out,), weight=0.05, playable=True))
        # The poster and the sprite's tiles from one decode, after the preview is playable.
        steps.append(Step("images", (
            "-threads", t, "-i", "input", "-filter_complex",
            f"[0:v:0]split=2[vs][vq];[vs]{sprite_chain}[sp];[vq]{poster_chain}[po]",
            "-map", "[po]", "-q:v", str(poster["quality"]), *image_args, poster_out.file,
            "-map", "[sp]", *frame_args), (poster_out,), weight=0.95))
    else:
        # One decode feeds every output: the preview encode, the sprite and the poster.
        pre_chain = ",".join([*_video_filters(info),
                              f"scale={width}:{height}:flags=bicubic", "setsar=1",
                              f"format={pre['pix_fmt']}"])
        rate = _rate(info, pre["max_fps"]) or 30.0
        branches = ["[vp]", "[vs]", "[vq]"]
        graph = [f"[0:v:0]split={3 + (len(hls['ladder']) if hls else 0) + bool(flv)}"
                 + "".join(branches)]
        graph += [f"[vp]{pre_chain}[pv]", f"[vs]{sprite_chain}[sp]", f"[vq]{poster_chain}[po]"]
        args: list[str] = ["-threads", t, "-i", "input"]
        outputs = [preview_out, poster_out]
        encode = ["-c:v", pre["video_codec"], "-preset", pre["preset"], "-crf", str(pre["crf"]),
                  "-profile:v", pre["profile"], "-pix_fmt", pre["pix_fmt"],
                  "-g", str(max(1, round(rate * pre["gop_seconds"]))), "-threads", t]
        hls_args: list[str] = []
        if hls:
            hls_args, hls_outputs, master = _hls(info, hls, base, rate, t)
            graph[0] += "".join(f"[vh{i}]" for i in range(len(hls["ladder"])))
            graph += [f"[vh{i}]{chain}[ho{i}]" for i, chain in enumerate(
                _hls_chains(info, hls))]
            outputs += hls_outputs
            files.append(master)
        flv_args: list[str] = []
        if flv:
            fw, fh = fit(v.display_width, v.display_height, flv["max_width"], flv["max_height"])
            graph[0] += "[vf]"
            graph.append(f"[vf]{','.join([*_video_filters(info), f'scale={fw}:{fh}'])},"
                         f"setsar=1[fo]")
            flv_out = Output(flv["name"], "legacy", "preview.flv",
                             f"preview/flv/{asset_id}/preview.flv", "video/x-flv", "flv", fw, fh)
            flv_args = ["-map", "[fo]", "-c:v", flv["video_codec"], "-b:v", flv["video_bitrate"],
                        *_audio_args(info, flv["audio_codec"], flv["audio_bitrate"], 2,
                                     flv["audio_rate"]), "-f", "flv", flv_out.file]
            outputs.append(flv_out)
        args += ["-filter_complex", ";".join(graph),
                 "-map", "[pv]", *encode,
                 *_audio_args(info, pre["audio_codec"], pre["audio_bitrate"],
                              pre["audio_channels"], pre["audio_rate"]),
                 "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4",
                 preview_out.file,
                 "-map", "[sp]", *frame_args,
                 "-map", "[po]", "-q:v", str(poster["quality"]), *image_args, poster_out.file,
                 *hls_args, *flv_args]
        steps.append(Step("transcode", tuple(args), tuple(outputs), weight=1.0))
    return Plan(tuple(steps), tuple(files), sprite=sheet)


def _hls_chains(info: MediaInfo, hls: dict[str, Any]) -> list[str]:
    assert info.video
    chains = []
    for rung in hls["ladder"]:
        w, h = fit(info.video.display_width, info.video.display_height, rung["max_width"],
                   rung["max_height"])
        chains.append(",".join([*_video_filters(info), f"scale={w}:{h}", "setsar=1",
                                "format=yuv420p"]))
    return chains


def _hls(info: MediaInfo, hls: dict[str, Any], base: str, rate: float,
         threads: str) -> tuple[list[str], list[Output], TextFile]:
    assert info.video
    args: list[str] = []
    outputs: list[Output] = []
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    gop = str(max(1, round(rate * hls["segment_seconds"])))
    seen: set[tuple[int, int]] = set()
    for i, rung in enumerate(hls["ladder"]):
        w, h = fit(info.video.display_width, info.video.display_height, rung["max_width"],
                   rung["max_height"])
        name = rung["name"]
        args += ["-map", f"[ho{i}]", "-c:v", "libx264", "-preset", hls["preset"],
                 "-b:v", rung["video_bitrate"], "-maxrate", rung["video_bitrate"],
                 "-bufsize", rung["video_bitrate"], "-g", gop, "-keyint_min", gop,
                 "-sc_threshold", "0", "-threads", threads,
                 *_audio_args(info, "aac", rung["audio_bitrate"], 2, 48000),
                 "-f", "hls", "-hls_time", str(hls["segment_seconds"]),
                 "-hls_playlist_type", "vod", "-hls_segment_filename", f"hls/{name}_%04d.ts",
                 f"hls/{name}.m3u8"]
        if (w, h) in seen:
            continue
        seen.add((w, h))
        bandwidth = int(_bits(rung["video_bitrate"]) + (_bits(rung["audio_bitrate"])
                                                        if info.audio else 0))
        lines += [f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={w}x{h}",
                  f"{name}.m3u8"]
    master = Output(hls["name"], "hls", "hls/master.m3u8", f"{base}/hls/master.m3u8",
                    "application/vnd.apple.mpegurl", "m3u8",
                    extra={"renditions": [r["name"] for r in hls["ladder"]]},
                    folder=f"{base}/hls")
    outputs.append(master)
    return args, outputs, TextFile(master, "\n".join(lines) + "\n")


def _bits(rate: str) -> float:
    units = {"k": 1e3, "m": 1e6}
    return float(rate[:-1]) * units[rate[-1].lower()] if rate[-1].lower() in units else float(rate)


# -- audio ------------------------------------------------------------------------------------
def plan_audio(info: MediaInfo, profiles: dict[str, Any], asset_id: int, *,
               threads: int = 2) -> Plan:
    """An AAC (or copied) preview, a waveform image and peaks, in one FFmpeg process."""
    if info.audio is None:
        raise NothingToDo("the file has no audio stream")
    p = profiles["audio"]
    pre, wave = p["preview"], p["waveform"]
    base = f"preview/audio/{asset_id}"
    copy_as = None
    for codec, containers in p["remux"].items():
        if info.audio.codec == codec and info.containers & set(containers):
            copy_as = codec
    if copy_as == "mp3":
        preview = Output(pre["name"], "preview", "preview.mp3", f"{base}/preview.mp3",
                         "audio/mpeg", "mp3", extra={"audio_codec": "mp3", "copied": True})
        encode = ["-map", "0:a:0", "-c:a", "copy", "-map_metadata", "-1", "-f", "mp3",
                  preview.file]
    else:
        preview = Output(pre["name"], "preview", f"preview.{pre['format']}",
                         f"{base}/preview.{pre['format']}", pre["content_type"], pre["format"],
                         extra={"audio_codec": "aac", "copied": copy_as == "aac"})
        codec = ["-c:a", "copy"] if copy_as == "aac" else [
            "-c:a", pre["codec"], "-b:a", pre["bitrate"],
            "-ac", str(min(pre["channels"], info.audio.channels or pre["channels"])),
            "-ar", str(pre["rate"])]
        encode = ["-map", "0:a:0", *codec, "-vn", "-map_metadata", "-1",
                  "-movflags", "+faststart", "-f", "mp4", preview.file]
    waveform = Output(wave["name"], "waveform", "waveform.png",
                      f"thumbnails/{asset_id}/waveform.png", "image/png", "png",
                      wave["width"], wave["height"])
    peaks = Output("peaks", "peaks", "peaks.json", f"thumbnails/{asset_id}/peaks.json",
                   "application/json", "json", extra={"count": wave["peaks"]})
    graph = (f"[0:a:0]asplit=2[wa][pa];"
             f"[wa]aformat=channel_layouts=mono,showwavespic=s={wave['width']}x{wave['height']}"
             f":colors={wave['color']}[wv];"
             f"[pa]aformat=sample_fmts=s16:channel_layouts=mono,"
             f"aresample={wave['sample_rate']}[pk]")
    args = ("-threads", str(threads), "-i", "input", *encode,
            "-filter_complex", graph,
            "-map", "[wv]", "-frames:v", "1", "-update", "1", waveform.file,
            "-map", "[pk]", "-f", "s16le", "-c:a", "pcm_s16le", "peaks.raw")
    return Plan((Step("transcode", args, (preview, waveform), weight=1.0, playable=False),),
                peaks=peaks, peaks_raw="peaks.raw")


def peaks_from_samples(samples: bytes, count: int) -> list[float]:
    """Largest absolute amplitude (0…1) in each of ``count`` equal slices of 16-bit mono."""
    import array

    data = array.array("h")
    data.frombytes(samples[: len(samples) // 2 * 2])
    if not data:
        return []
    count = max(1, min(count, len(data)))
    step = len(data) / count
    out = []
    for i in range(count):
        chunk = data[int(i * step): max(int((i + 1) * step), int(i * step) + 1)]
        out.append(round(max(max(chunk), -min(chunk)) / 32768, 4))
    return out
