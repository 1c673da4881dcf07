"""tus 1.0.0 resumable uploads: creation, resume, checksum, termination, expiry."""

import base64
import hashlib
import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from openwan.db import unit_of_work
from openwan.models import Upload, utcnow
from openwan.uploads.service import purge_expired
from tests.conftest import all_backends, stray_files
from tests.media import jpeg_bytes

TUS = {"Tus-Resumable": "1.0.0"}


def meta(**values):
    return ",".join(f"{k} {base64.b64encode(str(v).encode()).decode()}"
                    for k, v in values.items())


def create(client, auth, length, **metadata):
    response = client.post("/api/v1/uploads", headers={
        **auth, **TUS, "Upload-Length": str(length),
        "Upload-Metadata": meta(filename="照片.jpg", **metadata)})
    assert response.status_code == 201, response.text
    return response.headers["location"]


def patch(client, auth, location, offset, body, **headers):
    return client.patch(location, content=body, headers={
        **auth, **TUS, "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": str(offset), **headers})


def sha256_header(data):
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_options_advertises_the_extensions(client):
    response = client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["tus-version"] == "1.0.0"
    assert set(response.headers["tus-extension"].split(",")) >= {
        "creation", "termination", "checksum", "expiration"}
    assert "sha256" in response.headers["tus-checksum-algorithm"]


@all_backends
def test_interrupted_upload_resumes_and_creates_the_asset(client, auth, settings):
    data = jpeg_bytes(320, 240) + os.urandom(2_500_000)
    location = create(client, auth, len(data), title="城市夜景延时摄影")
    first = patch(client, auth, location, 0, data[:1_000_000])
    assert first.status_code == 204 and first.headers["upload-offset"] == "1000000"
    assert "upload-expires" in first.headers
    # The client lost track: it asks where to resume.
    head = client.head(location, headers={**auth, **TUS})
    assert head.headers["upload-offset"] == "1000000"
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    assert client.get(location, headers=auth).json()["asset_id"] is None
    assert client.get("/api/v1/assets", headers=auth).json()["total"] == 0  # not yet an asset
    last = patch(client, auth, location, 1_000_000, data[1_000_000:],
                 **{"Upload-Checksum": sha256_header(data[1_000_000:])})
    assert last.status_code == 204, last.text
    status = client.get(location, headers=auth).json()
    assert status["complete"] and status["offset"] == len(data)
    asset = client.get(f"/api/v1/assets/{status['asset_id']}", headers=auth).json()
    assert asset["sha256"] == hashlib.sha256(data).hexdigest()
    assert asset["title"] == "城市夜景延时摄影" and asset["filename"] == "照片.jpg"
    assert asset["type"] == "image"
    assert client.get(f"/api/v1/assets/{asset['id']}/original", headers=auth).content == data
    assert stray_files(settings) == []


def test_resume_after_restart_rehashes_the_partial_file(client, auth, settings):
    from openwan.uploads import endpoints

    data = jpeg_bytes() + os.urandom(300_000)
    location = create(client, auth, len(data))
    patch(client, auth, location, 0, data[:100_000])
    endpoints._receiving.clear()  # what a process restart loses
    assert patch(client, auth, location, 100_000, data[100_000:]).status_code == 204
    asset_id = client.get(location, headers=auth).json()["asset_id"]
    assert client.get(f"/api/v1/assets/{asset_id}", headers=auth).json()["sha256"] == \
        hashlib.sha256(data).hexdigest()


def test_a_patch_written_by_another_process_is_read_from_the_row(client, auth, settings):
    """Two API processes share the uploads: what one remembers may be stale for the other."""
    from openwan.db import unit_of_work
    from openwan.models import Upload
    from openwan.uploads.service import part_path

    data = jpeg_bytes() + os.urandom(300_000)
    location = create(client, auth, len(data))
    upload_id = location.rsplit("/", 1)[1]
    patch(client, auth, location, 0, data[:100_000])  # remembered here at 100,000
    with open(part_path(settings, upload_id), "ab") as f:  # the other process's PATCH
        f.write(data[100_000:200_000])
    with unit_of_work(settings) as session:
        session.get(Upload, upload_id).offset = 200_000
    stale = patch(client, auth, location, 100_000, data[100_000:200_000])
    assert stale.status_code == 409 and stale.json()["error"]["offset"] == 200_000
    assert patch(client, auth, location, 200_000, data[200_000:]).status_code == 204
    asset_id = client.get(location, headers=auth).json()["asset_id"]
    assert client.get(f"/api/v1/assets/{asset_id}", headers=auth).json()["sha256"] == \
        hashlib.sha256(data).hexdigest()


def test_wrong_offset_is_409_and_changes_nothing(client, auth):
    data = jpeg_bytes() + os.urandom(50_000)
    location = create(client, auth, len(data))
    patch(client, auth, location, 0, data[:20_000])
    response = patch(client, auth, location, 10, data[10:30_000])
    assert response.status_code == 409
    assert response.json()["error"]["offset"] == 20_000
    assert client.head(location, headers={**auth, **TUS}).headers["upload-offset"] == "20000"


def test_bad_checksum_is_460_and_appends_nothing(client, auth, settings):
    data = jpeg_bytes() + os.urandom(50_000)
    location = create(client, auth, len(data))
    patch(client, auth, location, 0, data[:20_000])
    response = patch(client, auth, location, 20_000, data[20_000:],
                     **{"Upload-Checksum": sha256_header(b"something else")})
    assert response.status_code == 460
    assert client.head(location, headers={**auth, **TUS}).headers["upload-offset"] == "20000"
    upload_id = location.rsplit("/", 1)[1]
    assert (settings.uploads_dir / f"{upload_id}.part").stat().st_size == 20_000
    # The same bytes with the right checksum then complete the upload with the right hash.
    good = patch(client, auth, location, 20_000, data[20_000:],
                 **{"Upload-Checksum": sha256_header(data[20_000:])})
    assert good.status_code == 204
    asset_id = client.get(location, headers=auth).json()["asset_id"]
    assert client.get(f"/api/v1/assets/{asset_id}", headers=auth).json()["sha256"] == \
        hashlib.sha256(data).hexdigest()


def test_unsupported_checksum_algorithm_is_400(client, auth):
    location = create(client, auth, 10_000)
    response = patch(client, auth, location, 0, b"x", **{"Upload-Checksum": "crc32 AAAA"})
    assert response.status_code == 400


def test_body_past_upload_length_is_refused(client, auth, settings):
    location = create(client, auth, 10_000)
    response = patch(client, auth, location, 0, jpeg_bytes() + os.urandom(20_000))
    assert response.status_code == 413
    assert client.head(location, headers={**auth, **TUS}).headers["upload-offset"] == "0"


def test_executable_is_refused_at_the_first_patch(client, auth, settings):
    location = create(client, auth, 100_000)
    response = patch(client, auth, location, 0, b"MZ" + os.urandom(50_000))
    assert response.status_code == 415
    assert client.head(location, headers={**auth, **TUS}).status_code == 404
    assert stray_files(settings) == []


def test_duplicate_completes_with_409_and_the_existing_id(client, auth, settings):
    data = jpeg_bytes(99, 99)
    first = client.post("/api/v1/assets", headers=auth, files={"file": ("a.jpg", data)}).json()
    location = create(client, auth, len(data))
    response = patch(client, auth, location, 0, data)
    assert response.status_code == 409
    assert response.json()["error"]["asset_id"] == first["id"]
    assert stray_files(settings) == []
    kept = create(client, auth, len(data), keep_duplicate="true")
    assert patch(client, auth, kept, 0, data).status_code == 204


def test_termination_removes_the_partial_file(client, auth, settings):
    location = create(client, auth, 100_000)
    patch(client, auth, location, 0, jpeg_bytes())
    assert client.delete(location, headers={**auth, **TUS}).status_code == 204
    assert client.head(location, headers={**auth, **TUS}).status_code == 404
    assert stray_files(settings) == [] and not any(settings.uploads_dir.iterdir())


def test_abandoned_uploads_expire(client, auth, settings):
    location = create(client, auth, 100_000)
    patch(client, auth, location, 0, jpeg_bytes())
    orphan = settings.uploads_dir / "0123456789abcdef0123456789abcdef.part"
    orphan.write_bytes(b"orphan")
    newborn = settings.uploads_dir / "fedcba9876543210fedcba9876543210.part"
    newborn.write_bytes(b"")  # an upload being created: its row is not committed yet
    os.utime(orphan, (time.time() - 120, time.time() - 120))
    with unit_of_work(settings) as session:
        session.execute(update(Upload).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.head(location, headers={**auth, **TUS}).status_code == 404
    assert purge_expired(settings) == 1
    assert list(settings.uploads_dir.iterdir()) == [newborn]


@pytest.mark.parametrize("headers, status", [
    ({"Upload-Length": "-1"}, 400), ({"Upload-Length": "abc"}, 400), ({}, 400),
    ({"Upload-Length": "0"}, 415), ({"Upload-Length": str(60 * 1024**3)}, 413),
    ({"Upload-Length": "10", "Upload-Metadata": "filename !!notbase64"}, 400),
])
def test_creation_validates(client, auth, headers, status):
    response = client.post("/api/v1/uploads", headers={**auth, **TUS, **headers})
    assert response.status_code == status, response.text


def test_protocol_preconditions(client, auth):
    location = create(client, auth, 1000)
    no_version = client.patch(location, content=b"x", headers={
        **auth, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
    assert no_version.status_code == 412
    wrong_type = client.patch(location, content=b"x", headers={
        **auth, **TUS, "Content-Type": "application/json", "Upload-Offset": "0"})
    assert wrong_type.status_code == 415
    assert client.head("/api/v1/uploads/../../etc", headers={**auth, **TUS}).status_code == 404


def test_another_users_upload_is_invisible(client, auth, settings):
    from openwan.access import service
    from tests.conftest import login

    location = create(client, auth, 1000)
    with unit_of_work(settings) as session:
        service.create_user(session, "editor", "Another-Good-Passphrase-7")
    other = login(client, "editor", "Another-Good-Passphrase-7")
    assert client.head(location, headers={**other, **TUS}).status_code == 404
    assert patch(client, other, location, 0, b"x").status_code == 404


def test_a_real_tus_client_uploads_in_chunks(live_server, client, auth, settings, tmp_path):
    from tusclient import client as tus

    data = jpeg_bytes() + os.urandom(3 * 1024 * 1024)
    path = tmp_path / "big.jpg"
    path.write_bytes(data)
    uploader = tus.TusClient(f"{live_server.url}/api/v1/uploads", headers=auth).uploader(
        str(path), chunk_size=1024 * 1024, metadata={"filename": "big.jpg"})
    uploader.upload()
    status = client.get(uploader.url.replace(live_server.url, ""), headers=auth).json()
    assert status["complete"]
    asset = client.get(f"/api/v1/assets/{status['asset_id']}", headers=auth).json()
    assert asset["sha256"] == hashlib.sha256(data).hexdigest()


def test_bytes_lost_in_a_crash_resume_from_what_the_disk_holds(client, auth, settings):
    data = jpeg_bytes() + os.urandom(100_000)
    location = create(client, auth, len(data))
    patch(client, auth, location, 0, data[:60_000])
    upload_id = location.rsplit("/", 1)[1]
    with open(settings.uploads_dir / f"{upload_id}.part", "r+b") as f:
        f.truncate(40_000)  # what an unsynced page cache loses when the machine dies
    response = patch(client, auth, location, 60_000, data[60_000:])
    assert response.status_code == 409 and response.json()["error"]["offset"] == 40_000
    assert client.head(location, headers={**auth, **TUS}).headers["upload-offset"] == "40000"
    assert patch(client, auth, location, 40_000, data[40_000:]).status_code == 204
    asset_id = client.get(location, headers=auth).json()["asset_id"]
    assert client.get(f"/api/v1/assets/{asset_id}", headers=auth).json()["sha256"] == \
        hashlib.sha256(data).hexdigest()


def test_a_server_without_the_partial_file_keeps_the_upload(client, auth, settings):
    """Behind a load balancer, a PATCH may reach a server that does not hold the file."""
    data = jpeg_bytes() + os.urandom(100_000)
    location = create(client, auth, len(data))
    assert patch(client, auth, location, 0, data[:60_000]).status_code == 204
    upload_id = location.rsplit("/", 1)[1]
    held = settings.uploads_dir / f"{upload_id}.part"
    elsewhere = held.rename(held.with_suffix(".elsewhere"))
    response = patch(client, auth, location, 60_000, data[60_000:])
    assert response.status_code == 409
    assert "does not hold the partial file" in response.json()["error"]["message"]
    assert client.head(location, headers={**auth, **TUS}).headers["upload-offset"] == "60000"
    elsewhere.rename(held)  # the PATCH reaches the server that holds it
    assert patch(client, auth, location, 60_000, data[60_000:]).status_code == 204
    asset_id = client.get(location, headers=auth).json()["asset_id"]
    assert client.get(f"/api/v1/assets/{asset_id}", headers=auth).json()["sha256"] == \
        hashlib.sha256(data).hexdigest()
