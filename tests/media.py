"""Tiny media generated at test time (Pillow, FFmpeg), never committed."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest


def png_bytes(width: int = 32, height: int = 24, color=(200, 30, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 64, height: int = 48, color=(10, 120, 200)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG")
    return buffer.getvalue()


def ffmpeg(*args: str, timeout: int = 120) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is not installed; the project's setup installs it (make setup)")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True,
                   timeout=timeout)


def make_video(path: Path, seconds: float = 1, size: str = "320x240", audio: bool = True,
               extra: tuple[str, ...] = ()) -> Path:
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    ffmpeg(*args, *extra, str(path))
    return path


def make_audio(path: Path, seconds: float = 1) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}", str(path))
    return path
