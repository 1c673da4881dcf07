import pytest

from openwan.kit.sniff import Refused, sniff
from tests.media import jpeg_bytes, make_audio, make_video, png_bytes


def test_images():
    assert sniff(png_bytes()).mime == "image/png"
    assert sniff(jpeg_bytes(), "png").kind == "image"  # content wins over the hint
    assert sniff(b"GIF89a" + b"\0" * 20).extension == "gif"


def test_real_video_and_audio(tmp_path):
    mp4 = make_video(tmp_path / "a.mp4").read_bytes()[:8192]
    assert sniff(mp4, "txt").kind == "video"
    mkv = make_video(tmp_path / "a.mkv").read_bytes()[:8192]
    assert sniff(mkv).extension == "mkv"
    mp3 = make_audio(tmp_path / "a.mp3").read_bytes()[:8192]
    assert sniff(mp3).kind == "audio"
    wav = make_audio(tmp_path / "a.wav").read_bytes()[:8192]
    assert sniff(wav).mime == "audio/wav"
    m4a = make_audio(tmp_path / "a.m4a").read_bytes()[:8192]
    assert sniff(m4a, "m4a").kind == "audio"


def test_documents():
    assert sniff(b"%PDF-1.7\n...").kind == "document"
    assert sniff("新闻联播 第一集\n城市夜景".encode("gb18030")).mime == "text/plain"
    assert sniff(b"plain english text\n").kind == "document"


@pytest.mark.parametrize("head", [b"MZ\x90\x00" + b"\0" * 60, b"\x7fELF\x02\x01", b"#!/bin/sh\n",
                                  b"<html><script>alert(1)</script>", b"PK\x03\x04random-zip",
                                  b"\x00\x01\x02\x03" * 10, b""])
def test_refused(head):
    with pytest.raises(Refused):
        sniff(head, "mp4")
