"""Submitting for review needs the schema's required catalogue fields."""

from tests.media import png_bytes


def _field(client, auth, media_type, key):
    items = client.get(f"/api/v1/catalog-fields?type={media_type}&flat=true",
                       headers=auth).json()["items"]
    return next(i for i in items if i["key"] == key and i["kind"] != "group")


def test_title_fills_the_proper_title_and_other_required_fields_block(client, auth):
    asset = client.post("/api/v1/assets", headers=auth,
                        files={"file": ("night.png", png_bytes())},
                        data={"title": "城市夜景"}).json()
    url = f"/api/v1/assets/{asset['id']}"
    subject = _field(client, auth, "image", "主题词")
    assert client.patch(f"/api/v1/catalog-fields/{subject['id']}", headers=auth,
                        json={"required": True}).status_code == 200

    refused = client.post(f"{url}/submit", headers=auth)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["field"] == f"metadata.{subject['group']}.主题词"
    assert client.get(url, headers=auth).json()["status"] == "new"

    assert client.patch(url, headers=auth, json={
        "metadata": {subject["group"]: {"主题词": "夜景"}}}).status_code == 200
    accepted = client.post(f"{url}/submit", headers=auth)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["status"] == "pending"
    assert body["metadata"]["题名"]["正题名"] == "城市夜景"  # the title, catalogued
