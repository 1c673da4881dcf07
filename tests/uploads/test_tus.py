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


def completed_sha256(client, auth, location):
    """The sha256 of the asset the upload at ``location`` became."""
    asset_id = client.get(location, headers=auth).json()["asset_id"]
    return client.get(f"/api/v1/assets/{asset_id}", headers=auth).json()["sha256"]


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
    assert completed_sha256(client, auth, location) == hashlib.sha256(data).hexdigest()


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
    assert completed_sha256(client, auth, location) == hashlib.sha256(data).hexdigest()


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
    assert completed_sha256(client, auth, location) == hashlib.sha256(data).hexdigest()


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
    assert completed_sha256(client, auth, location) == hashlib.sha256(data).hexdigest()


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
    assert completed_sha256(client, auth, location) == hashlib.sha256(data).hexdigest()


def _row_offset(settings, upload_id):
    with unit_of_work(settings) as session:
        return session.get(Upload, upload_id).offset


def _wait_until(condition, limit=10.0):
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@all_backends
def test_patches_in_a_row_stream_into_the_open_file(client, auth, settings):
    """From the second PATCH on, the file stays open between PATCHes; whoever reads the upload
    sees every acknowledged byte written and the exact offset."""
    from openwan.uploads import endpoints

    data = jpeg_bytes() + os.urandom(3_000_000)
    location = create(client, auth, len(data))
    upload_id = location.rsplit("/", 1)[1]
    part = settings.uploads_dir / f"{upload_id}.part"
    for start in range(0, 2_000_001, 500_000):
        end = min(start + 500_000, 2_000_001)
        response = patch(client, auth, location, start, data[start:end])
        assert response.status_code == 204 and response.headers["upload-offset"] == str(end)
    state = endpoints._receiving[upload_id]
    assert state.open is not None  # held for the next PATCH
    assert _row_offset(settings, upload_id) == 2_000_001  # recorded before each answer
    assert part.stat().st_size == 2_000_001  # every acknowledged byte is in the file
    head = client.head(location, headers={**auth, **TUS})
    assert head.headers["upload-offset"] == "2000001"
    assert state.open is None and part.stat().st_size == 2_000_001
    assert _row_offset(settings, upload_id) == 2_000_001
    assert part.read_bytes() == data[:2_000_001]
    for start in (2_000_001, 2_500_000):
        end = min(start + 499_999 if start == 2_000_001 else len(data), len(data))
        assert patch(client, auth, location, start, data[start:end]).status_code == 204
    status = client.get(location, headers=auth).json()
    assert status["complete"] and not part.exists()
    asset = client.get(f"/api/v1/assets/{status['asset_id']}", headers=auth).json()
    assert asset["sha256"] == hashlib.sha256(data).hexdigest()
    assert client.get(f"/api/v1/assets/{asset['id']}/original", headers=auth).content == data
    assert upload_id not in endpoints._landing


def test_an_idle_open_upload_lands(client, auth, settings, monkeypatch):
    from openwan.uploads import endpoints

    monkeypatch.setattr(endpoints, "IDLE", 0.05)
    data = jpeg_bytes() + os.urandom(500_000)
    location = create(client, auth, len(data))
    upload_id = location.rsplit("/", 1)[1]
    patch(client, auth, location, 0, data[:100_000])
    patch(client, auth, location, 100_000, data[100_000:250_001])
    _wait_until(lambda: endpoints._receiving[upload_id].open is None)
    assert _row_offset(settings, upload_id) == 250_001
    part = settings.uploads_dir / f"{upload_id}.part"
    assert part.read_bytes() == data[:250_001]
    # Still remembered (hash included): the next PATCH goes on without reading the file.
    assert patch(client, auth, location, 250_001, data[250_001:]).status_code == 204
    assert completed_sha256(client, auth, location) == hashlib.sha256(data).hexdigest()


def test_an_open_upload_lands_at_shutdown(app, auth, settings):
    from fastapi.testclient import TestClient

    from openwan.uploads import endpoints

    data = jpeg_bytes() + os.urandom(500_000)
    with TestClient(app) as client:
        location = create(client, auth, len(data))
        upload_id = location.rsplit("/", 1)[1]
        patch(client, auth, location, 0, data[:100_000])
        patch(client, auth, location, 100_000, data[100_000:300_003])
        assert endpoints._receiving[upload_id].open is not None
    assert endpoints._receiving[upload_id].open is None
    assert _row_offset(settings, upload_id) == 300_003
    assert (settings.uploads_dir / f"{upload_id}.part").read_bytes() == data[:300_003]


def test_an_acknowledged_offset_survives_the_loss_of_the_process_memory(client, auth,
                                                                        settings):
    """A process that dies loses what its open upload still buffers, but nothing it
    acknowledged: a PATCH is answered once its bytes are in the file (synced) and the row's
    offset says so."""
    from openwan.uploads import endpoints

    data = jpeg_bytes() + os.urandom(3_000_000)
    location = create(client, auth, len(data))
    upload_id = location.rsplit("/", 1)[1]
    patch(client, auth, location, 0, data[:100_000])
    acked = patch(client, auth, location, 100_000, data[100_000:2_500_001])
    assert acked.headers["upload-offset"] == "2500001"
    state = endpoints._receiving.pop(upload_id)  # the process dies: memory gone ...
    opened = state.open
    opened.idle.cancel()
    assert _row_offset(settings, upload_id) == 2_500_001  # recorded before the answer

    async def die():
        await opened.pipeline.finish()
        opened.appender.release()  # ... with the buffer (its bytes are in the file too)
        os.close(opened.fd)  # ... and its lock

    client.portal.call(die)
    part = settings.uploads_dir / f"{upload_id}.part"
    assert part.read_bytes() == data[:2_500_001]
    assert client.head(location, headers={**auth, **TUS}).headers["upload-offset"] == "2500001"
    assert patch(client, auth, location, 2_500_001, data[2_500_001:]).status_code == 204
    assert completed_sha256(client, auth, location) == hashlib.sha256(data).hexdigest()


def test_a_failed_patch_keeps_the_open_uploads_earlier_bytes(client, auth, settings):
    data = jpeg_bytes() + os.urandom(600_000)
    location = create(client, auth, len(data))
    upload_id = location.rsplit("/", 1)[1]
    patch(client, auth, location, 0, data[:200_000])
    patch(client, auth, location, 200_000, data[200_000:400_000])  # held open
    # No Content-Length: the body is found too long only while it streams in.
    too_long = patch(client, auth, location, 400_000,
                     iter([data[400_000:], b"past the declared length"]))
    assert too_long.status_code == 413
    assert client.head(location, headers={**auth, **TUS}).headers["upload-offset"] == "400000"
    assert (settings.uploads_dir / f"{upload_id}.part").read_bytes() == data[:400_000]
    # A checksum PATCH after open ones: a wrong one appends nothing, a right one completes.
    patch(client, auth, location, 400_000, data[400_000:500_000])  # held open again
    bad = patch(client, auth, location, 500_000, data[500_000:],
                **{"Upload-Checksum": sha256_header(b"other")})
    assert bad.status_code == 460
    assert client.head(location, headers={**auth, **TUS}).headers["upload-offset"] == "500000"
    good = patch(client, auth, location, 500_000, data[500_000:],
                 **{"Upload-Checksum": sha256_header(data[500_000:])})
    assert good.status_code == 204
    assert completed_sha256(client, auth, location) == hashlib.sha256(data).hexdigest()


def test_concurrent_uploads_beyond_the_open_limit(live_server, client, auth, monkeypatch):
    """More uploads at once than may stay open: the oldest open ones land while their clients
    go on; every upload ends with its own bytes."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from openwan.uploads import endpoints

    monkeypatch.setattr(endpoints, "_MAX_OPEN", 2)
    landed = []
    write_out = endpoints._write_out

    async def counting(state):
        landed.append(state.open is not None)
        await write_out(state)

    monkeypatch.setattr(endpoints, "_write_out", counting)
    files = [jpeg_bytes() + os.urandom(400_000 + n * 1_000) for n in range(8)]
    together = threading.Barrier(len(files))

    def upload(data: bytes) -> str:
        with httpx.Client(base_url=live_server.url, headers={**auth, **TUS}) as http:
            location = http.post("/api/v1/uploads", headers={
                "Upload-Length": str(len(data)),
                "Upload-Metadata": meta(filename="x.jpg")}).headers["location"]
            for start in range(0, len(data), 100_000):
                response = http.patch(location, content=data[start:start + 100_000], headers={
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(start)})
                assert response.status_code == 204, response.text
                if start == 100_000:  # held open: all eight are, before any goes on
                    together.wait(30)
            return location

    with ThreadPoolExecutor(8) as pool:
        locations = list(pool.map(upload, files))
    assert any(landed)  # open uploads were landed to stay within the limit
    for location, data in zip(locations, files, strict=True):
        assert completed_sha256(client, auth, location) == hashlib.sha256(data).hexdigest()
