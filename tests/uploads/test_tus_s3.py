"""tus uploads staged in S3 multipart uploads (a moto server): any process takes any PATCH."""

import hashlib
import os
import threading
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace

import boto3
import httpx
import pytest
from sqlalchemy import update

from openwan.db import unit_of_work
from openwan.models import Asset, Upload, utcnow
from openwan.uploads.service import purge_expired
from openwan.uploads.sha256 import ResumableSha256
from tests.conftest import LiveServer, all_backends
from tests.media import jpeg_bytes
from tests.uploads.test_tus import TUS, create, patch, sha256_header

MiB = 1024 * 1024


@pytest.fixture
def s3(aws_env, make_settings, database_url):
    from fastapi.testclient import TestClient

    from openwan import migrate
    from openwan.access import service
    from openwan.app import create_app
    from openwan.config import set_settings
    from openwan.db import dispose_engines
    from tests.conftest import ADMIN_PASSWORD, login

    bucket = f"openwan-tus-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    settings = make_settings(OPENWAN_DATABASE_URL=database_url,
                             OPENWAN_STORAGE_URL=f"s3://{bucket}/media",
                             OPENWAN_S3_PART_SIZE=str(5 * MiB))
    migrate.upgrade(settings.database_url)
    set_settings(settings)
    with unit_of_work(settings) as session:
        service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True, level=5)
    app = create_app(settings)
    with TestClient(app) as http:
        auth = login(http, "admin", ADMIN_PASSWORD)
        yield SimpleNamespace(client=http, auth=auth, settings=settings, bucket=bucket, s3=client,
                              app=app)
    set_settings(None)
    dispose_engines()


def objects(s3, prefix="media/"):
    listed = s3.s3.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def multipart_uploads(s3):
    return s3.s3.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", [])


def row(s3, location):
    with unit_of_work(s3.settings) as session:
        upload = session.get(Upload, location.rsplit("/", 1)[1])
        session.expunge(upload)
        return upload


def send(s3, location, data, sizes, forget=False, offset=0):
    """PATCH ``data`` from ``offset`` in chunks of ``sizes`` (the rest in one)."""
    from openwan.storage import _cache
    from openwan.uploads import endpoints

    for size in [*sizes, len(data)]:
        if offset >= len(data):
            break
        if forget:  # another process: nothing of this one's memory or clients
            endpoints._receiving.clear()
            _cache.clear()
        chunk = data[offset:offset + size]
        response = patch(s3.client, s3.auth, location, offset, chunk)
        assert response.status_code == 204, response.text
        offset += len(chunk)
        assert response.headers["upload-offset"] == str(offset)
    return response


def the_asset(s3, location):
    status = s3.client.get(location, headers=s3.auth).json()
    assert status["complete"], status
    with unit_of_work(s3.settings) as session:
        asset = session.get(Asset, status["asset_id"])
        session.expunge(asset)
        return asset


def stored(s3, key):
    return s3.s3.get_object(Bucket=s3.bucket, Key=f"media/{key}")["Body"].read()


def assert_kept(s3, location, data: bytes) -> None:
    """The upload became an asset holding exactly ``data``, with its sha256."""
    asset = the_asset(s3, location)
    assert asset.sha256 == hashlib.sha256(data).hexdigest()
    assert stored(s3, asset.storage_key) == data


@all_backends
def test_chunks_of_varying_sizes_become_parts_and_the_exact_object(s3):
    data = jpeg_bytes(320, 240) + os.urandom(22 * MiB)
    location = create(s3.client, s3.auth, len(data), title="长片")
    # 3 MiB waits as a tail; +1 MiB still a tail; +7 MiB: two 5 MiB parts and a 1 MiB tail;
    # +2 MiB: a 3 MiB tail; +6.5 MiB: a part and a 4.5 MiB tail; the rest completes.
    send(s3, location, data[:11 * MiB], [3 * MiB, 1 * MiB, 7 * MiB])
    upload = row(s3, location)
    assert [size for _, _, size in upload.parts] == [5 * MiB, 5 * MiB]
    assert upload.storage_key.startswith("original/image/") and upload.mime_type == "image/jpeg"
    assert objects(s3, "media/uploads/") == [f"media/uploads/{upload.id}/{11 * MiB}.tail"]
    response = patch(s3.client, s3.auth, location, 11 * MiB, data[11 * MiB:13 * MiB])
    assert response.status_code == 204
    assert objects(s3, "media/uploads/") == [f"media/uploads/{upload.id}/{13 * MiB}.tail"]
    response = send(s3, location, data, [6 * MiB + MiB // 2], offset=13 * MiB)
    assert response.headers["x-asset-id"]
    assert [size for _, _, size in row(s3, location).parts or []] == []  # done: cleared
    asset = the_asset(s3, location)
    assert asset.sha256 == hashlib.sha256(data).hexdigest()
    assert asset.size == len(data) and asset.type == "image"
    assert stored(s3, asset.storage_key) == data
    assert objects(s3) == [f"media/{asset.storage_key}"]  # no tail left
    assert multipart_uploads(s3) == []
    assert not (s3.settings.uploads_dir / f"{upload.id}.part").exists()


def test_any_process_takes_any_patch_and_the_hash_is_rebuilt(s3):
    data = jpeg_bytes() + os.urandom(17 * MiB + 12345)
    location = create(s3.client, s3.auth, len(data))
    send(s3, location, data, [100_000, 5 * MiB + 7, 3 * MiB, 64, 6 * MiB], forget=True)
    assert_kept(s3, location, data)


def test_two_apps_alternate_patches(s3):
    """Two API processes behind a load balancer without stickiness."""
    from fastapi.testclient import TestClient

    from openwan.app import create_app

    data = jpeg_bytes() + os.urandom(12 * MiB)
    location = create(s3.client, s3.auth, len(data))
    with TestClient(create_app(s3.settings)) as other:
        clients = [s3.client, other]
        offset = 0
        for i, size in enumerate([2 * MiB, 4 * MiB, 5 * MiB, len(data)]):
            response = patch(clients[i % 2], s3.auth, location, offset,
                             data[offset:offset + size])
            assert response.status_code == 204, response.text
            offset = int(response.headers["upload-offset"])
    assert offset == len(data)
    assert the_asset(s3, location).sha256 == hashlib.sha256(data).hexdigest()


def test_a_small_file_in_small_patches_waits_for_its_head(s3):
    data = jpeg_bytes(16, 16)
    assert len(data) < 8192
    location = create(s3.client, s3.auth, len(data))
    first = patch(s3.client, s3.auth, location, 0, data[:100])
    assert first.status_code == 204
    assert row(s3, location).type is None  # too few bytes to tell yet
    assert patch(s3.client, s3.auth, location, 100, data[100:]).status_code == 204
    asset = the_asset(s3, location)
    assert stored(s3, asset.storage_key) == data and asset.type == "image"
    assert objects(s3) == [f"media/{asset.storage_key}"] and multipart_uploads(s3) == []


def test_bad_checksum_is_460_and_appends_nothing(s3):
    data = jpeg_bytes() + os.urandom(15 * MiB)
    location = create(s3.client, s3.auth, len(data))
    assert patch(s3.client, s3.auth, location, 0, data[:7 * MiB]).status_code == 204
    before = row(s3, location)
    tails = objects(s3, "media/uploads/")
    body = data[7 * MiB:]
    response = patch(s3.client, s3.auth, location, 7 * MiB, body,
                     **{"Upload-Checksum": sha256_header(body + b"x")})
    assert response.status_code == 460
    after = row(s3, location)
    assert (after.offset, after.parts, after.sha_state) == \
        (before.offset, before.parts, before.sha_state)
    assert after.busy_token is None  # released
    assert objects(s3, "media/uploads/") == tails
    assert s3.client.head(location, headers={**s3.auth, **TUS}).headers["upload-offset"] == \
        str(7 * MiB)
    good = patch(s3.client, s3.auth, location, 7 * MiB, body,
                 **{"Upload-Checksum": sha256_header(body)})
    assert good.status_code == 204, good.text
    assert_kept(s3, location, data)


def test_body_past_upload_length_is_413_and_appends_nothing(s3):
    data = jpeg_bytes() + os.urandom(6 * MiB)
    location = create(s3.client, s3.auth, len(data))
    response = s3.client.patch(location, content=iter([data, b"more"]), headers={
        **s3.auth, **TUS, "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0"})
    assert response.status_code == 413
    upload = row(s3, location)
    assert upload.offset == 0 and not upload.parts and upload.busy_token is None
    assert patch(s3.client, s3.auth, location, 0, data).status_code == 204
    assert stored(s3, the_asset(s3, location).storage_key) == data


def test_termination_aborts_the_multipart_upload_and_removes_the_tail(s3):
    data = jpeg_bytes() + os.urandom(8 * MiB)
    location = create(s3.client, s3.auth, len(data))
    assert patch(s3.client, s3.auth, location, 0, data[:7 * MiB]).status_code == 204
    assert patch(s3.client, s3.auth, location, 7 * MiB, data[7 * MiB:8 * MiB]).status_code == 204
    assert len(multipart_uploads(s3)) == 1 and objects(s3, "media/uploads/")
    assert s3.client.delete(location, headers={**s3.auth, **TUS}).status_code == 204
    assert multipart_uploads(s3) == [] and objects(s3) == []
    assert s3.client.head(location, headers={**s3.auth, **TUS}).status_code == 404


def test_expiry_aborts_abandoned_multipart_uploads_and_tails(s3):
    data = jpeg_bytes() + os.urandom(8 * MiB)
    location = create(s3.client, s3.auth, len(data))
    assert patch(s3.client, s3.auth, location, 0, data[:6 * MiB + 5]).status_code == 204
    assert patch(s3.client, s3.auth, location, 6 * MiB + 5, data[6 * MiB + 5:7 * MiB]) \
        .status_code == 204
    s3.s3.put_object(Bucket=s3.bucket, Key=f"media/uploads/{'0' * 32}/5.tail", Body=b"orphan")
    assert len(multipart_uploads(s3)) == 1 and len(objects(s3, "media/uploads/")) == 2
    with unit_of_work(s3.settings) as session:
        session.execute(update(Upload).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert purge_expired(s3.settings) == 1
    assert multipart_uploads(s3) == [] and objects(s3) == []


@all_backends
def test_a_patch_while_another_holds_the_upload_is_409(s3):
    data = jpeg_bytes() + os.urandom(6 * MiB)
    location = create(s3.client, s3.auth, len(data))
    assert patch(s3.client, s3.auth, location, 0, data[:100_000]).status_code == 204
    upload_id = location.rsplit("/", 1)[1]
    with unit_of_work(s3.settings) as session:  # another process's PATCH holds it
        session.execute(update(Upload).where(Upload.id == upload_id).values(
            busy_until=utcnow() + timedelta(seconds=30), busy_token="f" * 32))
    busy = patch(s3.client, s3.auth, location, 100_000, data[100_000:])
    assert busy.status_code == 409 and "in progress" in busy.json()["error"]["message"]
    assert s3.client.delete(location, headers={**s3.auth, **TUS}).status_code == 409
    upload = row(s3, location)
    assert upload.offset == 100_000 and upload.busy_token == "f" * 32
    with unit_of_work(s3.settings) as session:  # that process died: its claim runs out
        session.execute(update(Upload).where(Upload.id == upload_id).values(
            busy_until=utcnow() - timedelta(seconds=1)))
    assert patch(s3.client, s3.auth, location, 100_000, data[100_000:]).status_code == 204
    assert the_asset(s3, location).sha256 == hashlib.sha256(data).hexdigest()


def test_two_concurrent_patches_one_wins(s3):
    data = jpeg_bytes() + os.urandom(6 * MiB)
    location = create(s3.client, s3.auth, len(data))
    assert patch(s3.client, s3.auth, location, 0, data[:10_000]).status_code == 204
    started = threading.Event()
    results = {}

    def slow_body():
        yield data[10_000:20_000]
        started.set()
        time.sleep(1.0)
        yield data[20_000:30_000]

    with LiveServer(s3.app) as server:
        headers = {**s3.auth, **TUS, "Content-Type": "application/offset+octet-stream",
                   "Upload-Offset": "10000"}

        def first():
            results["slow"] = httpx.patch(server.url + location, content=slow_body(),
                                          headers=headers, timeout=30)

        thread = threading.Thread(target=first)
        thread.start()
        started.wait(10)
        time.sleep(0.3)
        results["second"] = httpx.patch(server.url + location, content=data[10_000:30_000],
                                        headers=headers, timeout=30)
        thread.join(30)
    assert results["slow"].status_code == 204
    assert results["second"].status_code == 409
    assert row(s3, location).offset == 30_000


def test_a_lost_tail_resumes_after_the_last_part(s3):
    data = jpeg_bytes() + os.urandom(9 * MiB)
    location = create(s3.client, s3.auth, len(data))
    assert patch(s3.client, s3.auth, location, 0, data[:7 * MiB]).status_code == 204
    [tail] = objects(s3, "media/uploads/")
    s3.s3.delete_object(Bucket=s3.bucket, Key=tail)
    response = patch(s3.client, s3.auth, location, 7 * MiB, data[7 * MiB:])
    assert response.status_code == 409 and response.json()["error"]["offset"] == 5 * MiB
    assert patch(s3.client, s3.auth, location, 5 * MiB, data[5 * MiB:]).status_code == 204
    assert the_asset(s3, location).sha256 == hashlib.sha256(data).hexdigest()


def test_refused_content_ends_the_upload(s3):
    location = create(s3.client, s3.auth, 6 * MiB)
    response = patch(s3.client, s3.auth, location, 0, b"MZ" + os.urandom(6 * MiB - 2))
    assert response.status_code == 415
    assert s3.client.head(location, headers={**s3.auth, **TUS}).status_code == 404
    assert objects(s3) == [] and multipart_uploads(s3) == []


def test_duplicate_leaves_no_object(s3):
    data = jpeg_bytes() + os.urandom(7 * MiB)
    first = create(s3.client, s3.auth, len(data))
    assert patch(s3.client, s3.auth, first, 0, data).status_code == 204
    original = the_asset(s3, first)
    second = create(s3.client, s3.auth, len(data))
    assert patch(s3.client, s3.auth, second, 0, data[:6 * MiB]).status_code == 204
    response = patch(s3.client, s3.auth, second, 6 * MiB, data[6 * MiB:])
    assert response.status_code == 409 and response.json()["error"]["asset_id"] == original.id
    assert objects(s3) == [f"media/{original.storage_key}"] and multipart_uploads(s3) == []
    assert s3.client.head(second, headers={**s3.auth, **TUS}).status_code == 404


def test_the_sha256_state_survives_a_round_trip_at_any_point():
    data = os.urandom(1_000_003)
    for cuts in ([0, 1, 63, 64, 65, 1000], [4096, 4096 + 7, 999_999], [128, 500_000]):
        sha = ResumableSha256()
        previous = 0
        for cut in [*cuts, len(data)]:
            sha.update(data[previous:cut])
            previous = cut
            sha = ResumableSha256.resume(sha.state())
            assert sha.size == cut
        assert sha.hexdigest() == hashlib.sha256(data).hexdigest()
    with pytest.raises(ValueError):
        ResumableSha256.resume("00:1:")


def test_the_type_comes_from_recorded_bytes_only(s3):
    """A PATCH refused after sending parts must not decide the type for the next one."""
    from tests.media import png_bytes

    image = jpeg_bytes() + os.urandom(6 * MiB)
    location = create(s3.client, s3.auth, len(image) + 10)
    refused = patch(s3.client, s3.auth, location, 0, image,
                    **{"Upload-Checksum": sha256_header(b"not this")})
    assert refused.status_code == 460 and len(multipart_uploads(s3)) == 1
    executable = b"MZ" + os.urandom(len(image) - 2)
    assert patch(s3.client, s3.auth, location, 0, executable).status_code == 415
    assert multipart_uploads(s3) == [] and objects(s3) == []

    data = png_bytes() + os.urandom(6 * MiB)
    location = create(s3.client, s3.auth, len(data))
    assert patch(s3.client, s3.auth, location, 0, image[:len(data)],
                 **{"Upload-Checksum": sha256_header(b"not this")}).status_code == 460
    assert patch(s3.client, s3.auth, location, 0, data).status_code == 204
    asset = the_asset(s3, location)
    assert asset.type == "image" and asset.mime_type == "image/png"
    assert asset.storage_key.endswith(".png") and stored(s3, asset.storage_key) == data
    assert multipart_uploads(s3) == [] and objects(s3) == [f"media/{asset.storage_key}"]


def test_a_patch_that_lost_its_claim_records_nothing(s3, monkeypatch):
    """A PATCH that stalled past its claim while another took the upload over."""
    from openwan.uploads import multipart

    monkeypatch.setattr(multipart, "_RENEW_EVERY", 0.0)
    data = jpeg_bytes() + os.urandom(12 * MiB)
    location = create(s3.client, s3.auth, len(data))
    assert patch(s3.client, s3.auth, location, 0, data[:MiB]).status_code == 204
    upload_id = location.rsplit("/", 1)[1]

    def body():
        yield data[MiB:6 * MiB]
        with unit_of_work(s3.settings) as session:  # the other PATCH's claim
            session.execute(update(Upload).where(Upload.id == upload_id).values(
                busy_until=utcnow() + timedelta(seconds=30), busy_token="e" * 32))
        yield data[6 * MiB:7 * MiB]

    with LiveServer(s3.app) as server:
        response = httpx.patch(server.url + location, content=body(), timeout=30, headers={
            **s3.auth, **TUS, "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(MiB)})
    assert response.status_code == 409 and "took this upload over" in response.text
    upload = row(s3, location)
    assert (upload.offset, upload.parts, upload.busy_token) == (MiB, [], "e" * 32)
    assert objects(s3, "media/uploads/") == [f"media/uploads/{upload_id}/{MiB}.tail"]
