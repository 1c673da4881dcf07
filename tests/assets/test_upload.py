"""POST /api/v1/assets: streaming multipart uploads and what they refuse."""

import hashlib
import os
import socket
import time

import pytest

from tests.conftest import all_backends, stray_files
from tests.media import make_video, png_bytes


def upload(client, auth, content, filename="clip.png", **data):
    return client.post("/api/v1/assets", headers=auth, files={"file": (filename, content)},
                       data=data)


@all_backends
def test_upload_creates_an_asset_with_content_type_and_hash(client, auth, settings):
    content = png_bytes(400, 300)
    response = upload(client, auth, content, "城市夜景.png", title="城市夜景延时摄影")
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["type"] == "image" and asset["mime_type"] == "image/png"
    assert asset["title"] == "城市夜景延时摄影" and asset["filename"] == "城市夜景.png"
    assert asset["sha256"] == hashlib.sha256(content).hexdigest()
    assert asset["size"] == len(content)
    assert asset["status"] == "new" and asset["media_state"] == "queued"
    assert asset["groups"] == "all" and asset["metadata"] == {} and asset["level"] == 1
    fetched = client.get(f"/api/v1/assets/{asset['id']}", headers=auth).json()
    assert fetched == asset
    assert stray_files(settings) == []


def test_video_type_from_content_not_name(client, auth, tmp_path):
    video = make_video(tmp_path / "v.mp4").read_bytes()
    response = upload(client, auth, video, "holiday.jpg")
    assert response.status_code == 201
    assert response.json()["type"] == "video" and response.json()["extension"] == "mp4"


def test_title_defaults_to_the_file_name(client, auth):
    assert upload(client, auth, png_bytes(), "photo.png").json()["title"] == "photo.png"


def test_duplicate_is_refused_with_the_existing_id_unless_kept(client, auth, settings):
    content = png_bytes(10, 10)
    first = upload(client, auth, content).json()
    second = upload(client, auth, content, "other-name.png")
    assert second.status_code == 409
    assert second.json()["error"]["asset_id"] == first["id"]
    kept = client.post("/api/v1/assets?keep_duplicate=true", headers=auth,
                       files={"file": ("again.png", content)})
    assert kept.status_code == 201 and kept.json()["id"] != first["id"]
    assert stray_files(settings) == []


def test_executable_disguised_as_mp4_is_refused(client, auth, settings):
    response = upload(client, auth, b"MZ\x90\x00" + os.urandom(70_000), "movie.mp4")
    assert response.status_code == 415
    assert "executable" in response.json()["error"]["message"]
    assert stray_files(settings) == []


def test_unknown_binary_and_empty_files_are_refused(client, auth, settings):
    assert upload(client, auth, os.urandom(20_000).replace(b"\0", b"\1")[:1] + b"\0" * 9000,
                  "x.bin").status_code == 415
    assert upload(client, auth, b"", "empty.mp4").status_code == 415
    assert stray_files(settings) == []


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "passwd"),
    ("a" * 10_000 + ".png", "a" * 251 + ".png"),
    ("bad\x00name\u202egnp.png", "bad_name_gnp.png"),
])
def test_hostile_names_are_sanitised_and_never_paths(client, auth, settings, name, expected):
    # Built by hand: HTTP clients percent-encode NUL, and the point is to send it raw.
    body = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="'
            + name.encode() + b'"\r\n\r\n' + png_bytes() + b"\r\n--B--\r\n")
    response = client.post("/api/v1/assets", content=body, headers={
        **auth, "Content-Type": "multipart/form-data; boundary=B"})
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["filename"] == expected
    assert stray_files(settings) == []
    storage_root = settings.data_dir / "storage"
    assert all(p.is_relative_to(storage_root) for p in storage_root.rglob("*"))
    assert not (settings.data_dir / "etc").exists()


def test_declared_oversize_is_refused_before_reading(client, auth, make_settings, settings):
    settings.upload.max_size = 1000
    response = upload(client, auth, png_bytes(100, 100) + b"\0" * 5000)
    assert response.status_code == 413
    assert stray_files(settings) == []


def test_streamed_oversize_is_refused(client, auth, settings):
    settings.upload.max_size = 5000

    def body():
        yield b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
        yield png_bytes(300, 300) + os.urandom(2000_000)
        yield b"\r\n--B--\r\n"

    response = client.post("/api/v1/assets", headers={**auth,
                           "Content-Type": "multipart/form-data; boundary=B"}, content=body())
    assert response.status_code == 413
    assert stray_files(settings) == []


def test_truncated_multipart_body_is_refused(client, auth, settings):
    body = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
            + png_bytes(50, 50))  # no closing boundary
    response = client.post("/api/v1/assets", headers={**auth,
                           "Content-Type": "multipart/form-data; boundary=B"}, content=body)
    assert response.status_code == 400
    assert "truncated" in response.json()["error"]["message"]
    assert stray_files(settings) == []


def test_connection_dropped_mid_upload_leaves_nothing(live_server, client, auth, settings):
    payload = png_bytes(200, 200) + os.urandom(3_000_000)
    head = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n")
    request = (f"POST /api/v1/assets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: {auth['Authorization']}\r\n"
               f"Content-Type: multipart/form-data; boundary=B\r\n"
               f"Content-Length: {len(head) + len(payload) + 8}\r\n\r\n").encode()
    tmp = settings.data_dir / "storage" / ".tmp"

    def wait(condition):
        for _ in range(100):
            if condition():
                return True
            time.sleep(0.05)
        return False

    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(request + head + payload[: len(payload) // 2])
        # The server is writing the partial original when the connection drops.
        assert wait(lambda: tmp.is_dir() and any(tmp.iterdir()))
    assert wait(lambda: not any(tmp.iterdir()))
    assert client.get("/api/v1/assets", headers=auth).json()["total"] == 0
    assert stray_files(settings) == []


def test_not_multipart_and_missing_file_part(client, auth):
    response = client.post("/api/v1/assets", headers=auth, json={"file": "x"})
    assert response.status_code == 415
    response = client.post("/api/v1/assets", headers=auth, data={"title": "no file"},
                           files={"other": ("a.txt", b"hello")})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "file"


def test_unknown_category_is_refused(client, auth, settings):
    response = upload(client, auth, png_bytes(), category_id="999")
    assert response.status_code == 422 and "category" in response.json()["error"]["message"]
    response = upload(client, auth, png_bytes(), category_id="abc")
    assert response.status_code == 422
    assert stray_files(settings) == []
