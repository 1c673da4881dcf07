import hashlib
import os

import pytest

from openwan.storage import ObjectNotFound, StorageError, original_key
from openwan.storage.local import LocalStorage


def test_writer_is_invisible_until_commit_and_durable_after(tmp_path):
    storage = LocalStorage(tmp_path / "store")
    key = original_key("video", "mp4")
    writer = storage.open_writer(key)
    writer.write(b"abc")
    assert not storage.exists(key)
    writer.commit()
    assert storage.open(key).read() == b"abc"
    assert list(storage.list("original")) == [key]
    assert not list((tmp_path / "store" / ".tmp").iterdir())


def test_writer_hashes_what_it_writes_before_it_is_visible(tmp_path):
    storage = LocalStorage(tmp_path / "store")
    key = original_key("video", "mp4")
    data = [os.urandom(n) for n in (100, 3 * 1024 * 1024, 5000, 2 * 1024 * 1024)]
    sha = hashlib.sha256()
    writer = storage.open_writer(key, hasher=sha)
    for chunk in data:
        writer.write(chunk)
    writer.flush()
    assert sha.hexdigest() == hashlib.sha256(b"".join(data)).hexdigest()
    with pytest.raises(StorageError):
        writer.write(b"more")  # flushed: the digest is final
    assert not storage.exists(key)
    writer.commit()
    assert storage.open(key).read() == b"".join(data)


def test_abort_leaves_nothing(tmp_path):
    storage = LocalStorage(tmp_path / "store")
    writer = storage.open_writer("original/image/x.png")
    writer.write(b"partial")
    writer.abort()
    assert not storage.exists("original/image/x.png")
    assert not any((tmp_path / "store").rglob("*.png"))
    assert not list((tmp_path / "store" / ".tmp").iterdir())


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "a/../../b", "a//b", "a/.hidden",
                                 "with space", "x\x00y", ""])
def test_unsafe_keys_are_refused(tmp_path, key):
    storage = LocalStorage(tmp_path / "store")
    with pytest.raises(ValueError):
        storage.put_bytes(key, b"x")


def test_put_file_move_renames_and_local_file(tmp_path):
    storage = LocalStorage(tmp_path / "store")
    source = tmp_path / "in.bin"
    source.write_bytes(b"0123456789")
    storage.put_file("preview/video/1/720p.mp4", source, move=True)
    assert not source.exists()
    with storage.local_file("preview/video/1/720p.mp4") as path:
        assert path.read_bytes() == b"0123456789"
    assert storage.size("preview/video/1/720p.mp4") == 10
    assert storage.delete_prefix("preview/video/1") == 1
    with pytest.raises(ObjectNotFound):
        storage.open("preview/video/1/720p.mp4")


def test_original_keys_follow_the_seed_layout():
    key = original_key("audio", "mp3")
    parts = key.split("/")
    assert parts[:2] == ["original", "audio"] and key.endswith(".mp3") and len(parts) == 5
