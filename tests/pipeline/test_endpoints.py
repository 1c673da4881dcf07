"""Renditions over HTTP: listing, signed local URLs with Range, rights, reprocessing;
S3 (presigned) and SQS backends end to end."""

from __future__ import annotations

import json
import urllib.request
import uuid

from fastapi.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD, login
from tests.media import make_video, png_bytes
from tests.pipeline.conftest import add_asset, asset_row, drain


def _upload(client, auth, name: str, data: bytes) -> int:
    response = client.post("/api/v1/assets", headers=auth, files={"file": (name, data)})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _viewer(settings, client) -> dict:
    from openwan.access import service
    from openwan.db import unit_of_work

    with unit_of_work(settings) as session:
        service.create_user(session, "viewer", ADMIN_PASSWORD, level=1)
    return login(client, "viewer", ADMIN_PASSWORD)


def test_upload_to_renditions_and_signed_fetch_with_range(settings, client, auth, tmp_path):
    video = make_video(tmp_path / "clip.mp4", seconds=2).read_bytes()
    asset_id = _upload(client, auth, "clip.mp4", video)
    assert client.get(f"/api/v1/assets/{asset_id}", headers=auth).json()["media_state"] == "queued"
    assert drain(settings) == 1
    body = client.get(f"/api/v1/assets/{asset_id}/renditions", headers=auth).json()
    assert body["media_state"] == "ready"
    kinds = {item["kind"]: item for item in body["items"]}
    assert {"preview", "poster", "sprite", "sprite_index"} <= set(kinds)
    preview = kinds["preview"]
    assert preview["format"] == "mp4" and (preview["width"], preview["height"]) == (320, 240)
    # No Authorization header: a <video> tag fetches it as it is.
    whole = client.get(preview["url"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert len(whole.content) == preview["size"]
    part = client.get(preview["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == whole.content[:100]
    beyond = client.get(preview["url"], headers={"Range": f"bytes={preview['size'] + 10}-"})
    assert beyond.status_code == 416 and beyond.json()["error"]["code"] == "range_not_satisfiable"
    poster = client.get(kinds["poster"]["url"])
    assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"
    processing = client.get(f"/api/v1/assets/{asset_id}/processing", headers=auth).json()
    assert processing["job"]["state"] == "done" and processing["job"]["progress"] == 1.0


def test_rights_are_checked_on_listing_and_on_every_fetch(settings, client, auth):
    asset_id = _upload(client, auth, "red.png", png_bytes())
    drain(settings)
    viewer = _viewer(settings, client)
    # Not published: the viewer may not see it at all.
    response = client.get(f"/api/v1/assets/{asset_id}/renditions", headers=viewer)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    url = client.get(f"/api/v1/assets/{asset_id}/renditions", headers=auth).json()[
        "items"][0]["url"]
    assert client.get(url).status_code == 200
    prefix, token, key = url.split("/media/")[0], *url.split("/media/")[1].split("/", 1)
    expires, user_id, signature = token.split(".")
    from openwan.db import unit_of_work
    from openwan.models import User

    with unit_of_work(settings) as session:
        viewer_id = session.query(User).filter_by(username="viewer").one().id
    forged = f"{prefix}/media/{expires}.{viewer_id}.{signature}/{key}"
    assert client.get(forged).status_code == 404  # the signature binds the user
    expired = f"{prefix}/media/{int(expires) - 10**6}.{user_id}.{signature}/{key}"
    assert client.get(expired).status_code == 404
    other = f"{prefix}/media/{token}/original/image/2026/01/x.png"
    assert client.get(other).status_code == 404  # only this asset's renditions
    assert client.get(f"{prefix}/media/{token}/thumbnails/{asset_id}/../x").status_code == 404
    # Rights are checked at fetch time too: a disabled account's links stop working.
    with unit_of_work(settings) as session:
        session.get(User, int(user_id)).enabled = False
    assert client.get(url).status_code == 404


def test_reprocess_route(settings, client, auth):
    asset_id = _upload(client, auth, "red.png", png_bytes())
    drain(settings)
    viewer = _viewer(settings, client)
    assert client.post(f"/api/v1/assets/{asset_id}/reprocess",
                       headers=viewer).status_code == 404
    response = client.post(f"/api/v1/assets/{asset_id}/reprocess", headers=auth)
    assert response.status_code == 202 and response.json()["media_state"] == "queued"
    assert response.json()["job"]["state"] == "queued"
    assert asset_row(settings, asset_id).media_state == "queued"
    drain(settings)
    assert asset_row(settings, asset_id).media_state == "ready"
    assert client.post("/api/v1/assets/999999/reprocess", headers=auth).status_code == 404


def _bucket_and_queue(aws_env: str) -> tuple[str, str]:
    import boto3

    bucket = f"openwan-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName=f"{bucket}-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=bucket, Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})["QueueUrl"]
    return bucket, url


def test_s3_storage_and_sqs_queue_end_to_end(configure, aws_env, tmp_path):
    bucket, queue_url = _bucket_and_queue(aws_env)
    settings, env, admin = configure(OPENWAN_STORAGE_URL=f"s3://{bucket}/media",
                                     SQS_QUEUE_URL=queue_url, OPENWAN_QUEUE_WAIT="1")
    from openwan.app import create_app

    asset_id = add_asset(settings, admin, make_video(tmp_path / "cloud.mkv", seconds=1,
                                                     extra=("-c:v", "mpeg4")))
    assert drain(settings) == 1
    assert asset_row(settings, asset_id).media_state == "ready"
    with TestClient(create_app(settings)) as client:
        auth = login(client, "admin", ADMIN_PASSWORD)
        items = client.get(f"/api/v1/assets/{asset_id}/renditions", headers=auth).json()["items"]
    preview = next(i for i in items if i["kind"] == "preview")
    assert preview["url"].startswith(aws_env) and "Signature" in preview["url"]
    with urllib.request.urlopen(preview["url"], timeout=10) as response:  # noqa: S310
        data = response.read()
    assert len(data) == preview["size"] and data[4:8] == b"ftyp"
    import boto3

    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(
        Bucket=bucket, Prefix=f"media/preview/video/{asset_id}/")["Contents"]}
    assert keys == {f"media/preview/video/{asset_id}/720p.mp4"}


def test_jobs_cli_on_sqs(configure, aws_env, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from openwan.media.worker import Worker
    from openwan.queue import get_queue

    bucket, queue_url = _bucket_and_queue(aws_env)
    settings, env, admin = configure(SQS_QUEUE_URL=queue_url, OPENWAN_QUEUE_WAIT="0")
    asset_id = add_asset(settings, admin, make_video(tmp_path / "c.mp4", seconds=1))
    drain(settings)
    queue = get_queue(settings)
    # A message no worker can run: handed back until the redrive policy dead-letters it.
    queue.send({"name": "no.such.job", "job_id": 1})
    worker = Worker(settings, reconcile=False)
    for _ in range(4):
        for message in queue.receive(wait_seconds=0):
            worker.handle(message)
    cli = {**os.environ, **env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def openwan(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "openwan", "jobs", *args], env=cli,
                              capture_output=True, text=True, timeout=60, check=True).stdout

    assert '"no.such.job"' in openwan("dlq") and queue.stats().dead == 1
    assert "redrove 0 job(s)" in openwan("redrive")  # moved back; it names no job row
    assert queue.stats().dead == 0 and queue.stats().visible == 1
    listing = openwan("list")
    assert f"asset {asset_id}" in listing and "done" in listing
    job_id = int(listing.split()[0])
    assert f"(retry of job {job_id})" in openwan("retry", str(job_id))
    assert asset_row(settings, asset_id).media_state == "queued"


def test_every_listed_asset_has_a_thumbnail_url_that_serves_its_picture(settings, client, auth):
    from PIL import Image

    image_id = _upload(client, auth, "wide.png", png_bytes(640, 360))
    queued = client.get(f"/api/v1/assets/{image_id}", headers=auth).json()
    assert queued["thumbnail_url"] is None  # nothing made yet
    drain(settings)
    listed = client.get("/api/v1/assets", headers=auth).json()["items"]
    url = f"/api/v1/assets/{image_id}/thumbnail"
    assert [a["thumbnail_url"] for a in listed] == [url]
    picture = client.get(url, headers=auth)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/webp"
    assert "private" in picture.headers["cache-control"]
    import io

    with Image.open(io.BytesIO(picture.content)) as img:
        assert img.size == (320, 180)  # the small thumbnail, not the preview
    # Rights as for the asset itself: another reader of a new asset gets a 404.
    viewer = _viewer(settings, client)
    assert client.get(url, headers=viewer).status_code == 404
    assert client.get(url).status_code == 401
