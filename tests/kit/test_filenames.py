import pytest

from openwan.kit.filenames import clean_filename, content_disposition, extension_of


@pytest.mark.parametrize("raw, expected", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
    ("evil\x00.mp4", "evil_.mp4"),
    ("photo\u202egnp.exe", "photo_gnp.exe"),
    ("   ", "file"),
    ("..", "file"),
    (None, "file"),
    ("城市夜景.mp4", "城市夜景.mp4"),
])
def test_clean_filename(raw, expected):
    assert clean_filename(raw) == expected


def test_very_long_names_keep_their_extension():
    name = clean_filename("a" * 10_000 + ".mp4")
    assert len(name) == 255 and name.endswith(".mp4")


def test_extension_of():
    assert extension_of("A.MP4") == "mp4"
    assert extension_of("noext") == ""
    assert extension_of("x.tar/gz") == ""


def test_content_disposition_is_ascii_safe_with_utf8_name():
    value = content_disposition('夜景 "final".mp4')
    value.encode("latin-1")  # a header value must be encodable
    assert "filename*=UTF-8''%E5%A4%9C%E6%99%AF%20%22final%22.mp4" in value
