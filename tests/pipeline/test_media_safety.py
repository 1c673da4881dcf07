"""What the media routes show and serve: signed URLs whose key storage would refuse are a
404 (they were a 500), and processing errors never show the server's file paths."""

from __future__ import annotations

from sqlalchemy import select, update

from openwan.db import unit_of_work
from openwan.kit.errors import without_paths
from openwan.models import Asset, Job
from tests.media import png_bytes

WORK = "/var/lib/openwan/work/job-7-x1y2/input.png"


def _upload(client, auth) -> int:
    response = client.post("/api/v1/assets", headers=auth, files={"file": ("red.png",
                                                                          png_bytes())})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_signed_url_with_a_key_storage_refuses_is_a_404(settings, client, auth, admin):
    from openwan.media.endpoints import media_url

    asset_id = _upload(client, auth)
    for key in (f"thumbnails/{asset_id}/a//b.jpg", f"thumbnails/{asset_id}/a\\b.jpg",
                f"thumbnails/{asset_id}//x.jpg", f"thumbnails/{asset_id}/x.jpg\\..\\y"):
        response = client.get(media_url(settings, asset_id, admin.id, key))
        assert response.status_code == 404, (key, response.text)
        assert response.json()["error"]["code"] == "not_found"


def test_a_failure_is_recorded_without_server_paths(settings, client, auth):
    from openwan.media import service

    asset_id = _upload(client, auth)
    with unit_of_work(settings) as session:
        job_id = session.scalar(select(Job.id).where(Job.asset_id == asset_id))
    service.fail(settings, job_id, "decode", f"{WORK}: cannot identify image file")
    with unit_of_work(settings) as session:
        stored = session.get(Asset, asset_id).media_error
    assert stored == "decode: input.png: cannot identify image file"


def test_paths_in_errors_recorded_earlier_are_not_shown(settings, client, auth):
    asset_id = _upload(client, auth)
    message = (f"attempt 1 failed at fetch: [Errno 2] No such file or directory: '{WORK}'; "
               "retrying (see https://example.com/help/fetch)")
    with unit_of_work(settings) as session:
        session.execute(update(Asset).where(Asset.id == asset_id).values(
            media_state="failed", media_error=message))
        session.execute(update(Job).where(Job.asset_id == asset_id).values(error=message))
    shown = [
        client.get(f"/api/v1/assets/{asset_id}", headers=auth).json()["media_error"],
        client.get(f"/api/v1/assets/{asset_id}/renditions", headers=auth).json()["media_error"],
        client.get(f"/api/v1/assets/{asset_id}/processing", headers=auth).json()["media_error"],
        client.get(f"/api/v1/assets/{asset_id}/processing", headers=auth).json()["job"]["error"],
    ]
    expected = ("attempt 1 failed at fetch: [Errno 2] No such file or directory: 'input.png'; "
                "retrying (see https://example.com/help/fetch)")
    assert shown == [expected] * 4


def test_what_the_path_scrubber_keeps():
    assert without_paths("ffmpeg failed: /tmp/openwan-s3-k2/object.mp4: Invalid data") == \
        "ffmpeg failed: object.mp4: Invalid data"
    assert without_paths("storing preview/video/1/720p.mp4 failed") == \
        "storing preview/video/1/720p.mp4 failed"  # a storage key is not a server path
    assert without_paths("ratio 1/2, a / b, http://host/x/y") == "ratio 1/2, a / b, http://host/x/y"
    assert without_paths("cwd /srv/openwan/work/") == "cwd …"
    assert without_paths(None) is None
