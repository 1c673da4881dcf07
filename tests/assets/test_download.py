"""GET /api/v1/assets/{id}/original: Range, ETag, Content-Disposition; S3 redirects."""

import os
import uuid

import boto3
import httpx

from tests.media import png_bytes


def _upload(client, auth, content, name="城市 夜景.png"):
    response = client.post("/api/v1/assets", headers=auth, files={"file": (name, content)})
    assert response.status_code == 201, response.text
    return response.json()


def test_download_whole_and_ranges(client, auth):
    content = png_bytes(64, 64) + os.urandom(100_000)
    asset = _upload(client, auth, content)
    url = f"/api/v1/assets/{asset['id']}/original"
    whole = client.get(url, headers=auth)
    assert whole.status_code == 200 and whole.content == content
    assert whole.headers["content-type"] == "image/png"
    assert whole.headers["etag"] == f'"{asset["sha256"]}"'
    assert "filename*=UTF-8''%E5%9F%8E%E5%B8%82%20%E5%A4%9C%E6%99%AF.png" in \
        whole.headers["content-disposition"]
    part = client.get(url, headers={**auth, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(content)}"
    tail = client.get(url, headers={**auth, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == content[-10:]
    multi = client.get(url, headers={**auth, "Range": "bytes=0-1,10-11"})
    assert multi.status_code == 206
    assert multi.headers["content-type"].startswith("multipart/byteranges")


def test_range_beyond_the_end_is_416(client, auth):
    asset = _upload(client, auth, png_bytes())
    response = client.get(f"/api/v1/assets/{asset['id']}/original",
                          headers={**auth, "Range": f"bytes={asset['size'] + 10}-"})
    assert response.status_code == 416
    assert response.json()["error"]["code"] == "range_not_satisfiable"
    assert response.headers["content-range"] == f"bytes */{asset['size']}"


def test_unknown_asset_is_404(client, auth):
    assert client.get("/api/v1/assets/424242/original", headers=auth).status_code == 404
    assert client.get("/api/v1/assets/424242", headers=auth).status_code == 404


def test_s3_storage_end_to_end(aws_env, make_settings, database_url):
    from fastapi.testclient import TestClient

    from openwan import migrate
    from openwan.access import service
    from openwan.app import create_app
    from openwan.db import unit_of_work
    from tests.conftest import ADMIN_PASSWORD, login

    bucket = f"openwan-media-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    settings = make_settings(OPENWAN_DATABASE_URL=database_url,
                             OPENWAN_STORAGE_URL=f"s3://{bucket}/media")
    migrate.upgrade(settings.database_url)
    with unit_of_work(settings) as session:
        service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True)
    with TestClient(create_app(settings)) as client:
        auth = login(client, "admin", ADMIN_PASSWORD)
        content = png_bytes(30, 30) + os.urandom(7 * 1024 * 1024)
        asset = _upload(client, auth, content, "a.png")
        assert asset["size"] == len(content)
        objects = boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
        assert [o["Key"] for o in objects] == [f"media/{asset_key(settings, asset['id'])}"]
        response = client.get(f"/api/v1/assets/{asset['id']}/original", headers=auth,
                              follow_redirects=False)
        assert response.status_code == 307
        fetched = httpx.get(response.headers["location"])
        assert fetched.content == content
        assert client.get("/ready").status_code == 200


def asset_key(settings, asset_id):
    from openwan.db import unit_of_work
    from openwan.models import Asset

    with unit_of_work(settings) as session:
        return session.get(Asset, asset_id).storage_key
