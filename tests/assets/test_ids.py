"""An asset id no database can hold is a 422 on every asset route, never a database error."""

import pytest

TOO_BIG = str(2**63)  # one past the largest BIGINT

ROUTES = [
    ("GET", f"/api/v1/assets/{TOO_BIG}"),
    ("PATCH", f"/api/v1/assets/{TOO_BIG}"),
    ("DELETE", f"/api/v1/assets/{TOO_BIG}"),
    ("GET", f"/api/v1/assets/{TOO_BIG}/original"),
    ("GET", f"/api/v1/assets/{TOO_BIG}/renditions"),
    ("GET", f"/api/v1/assets/{TOO_BIG}/processing"),
    ("POST", f"/api/v1/assets/{TOO_BIG}/reprocess"),
    ("GET", f"/api/v1/assets/{TOO_BIG}/media/token/poster.jpg"),
    ("POST", f"/api/v1/assets/{TOO_BIG}/submit"),
    ("POST", f"/api/v1/assets/{TOO_BIG}/approve"),
    ("POST", f"/api/v1/assets/{TOO_BIG}/reject"),
    ("POST", f"/api/v1/assets/{TOO_BIG}/restore"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_an_id_beyond_64_bits_is_a_422(client, auth, method, path):
    body = {"comment": "x"} if path.endswith("/reject") else {}
    response = client.request(method, path, headers=auth, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"]


def test_the_asset_page_of_an_id_beyond_64_bits_is_not_a_server_error(client, auth):
    response = client.get(f"/assets/{TOO_BIG}", headers=auth)
    assert response.status_code < 500
