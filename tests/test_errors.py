"""The error answers of the application as a whole."""

import pytest


@pytest.mark.parametrize(("path", "methods"), [
    ("/api/v1/users", {"GET", "POST"}),
    ("/api/v1/users/1", {"GET", "PATCH", "DELETE"}),
    ("/api/v1/uploads", {"OPTIONS", "POST"}),
    ("/api/v1/uploads/0123456789abcdef0123456789abcdef", {"HEAD", "GET", "PATCH", "DELETE"}),
    ("/api/v1/assets/1", {"GET", "PATCH", "DELETE"}),
    ("/api/v1/categories", {"GET", "POST"}),
])
def test_a_405_allows_every_method_of_the_path(client, auth, path, methods):
    response = client.request("PUT", path, headers=auth)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert methods <= allowed and "PUT" not in allowed
