"""The error answers of the application as a whole."""

PATHS = {
    "/api/v1/users": {"GET", "POST"},
    "/api/v1/users/1": {"GET", "PATCH", "DELETE"},
    "/api/v1/uploads": {"OPTIONS", "POST"},
    "/api/v1/uploads/0123456789abcdef0123456789abcdef": {"HEAD", "GET", "PATCH", "DELETE"},
    "/api/v1/assets/1": {"GET", "PATCH", "DELETE"},
    "/api/v1/categories": {"GET", "POST"},
}


def test_a_405_allows_every_method_of_the_path(client, auth):
    """Starlette's 405 named the methods of the first route of the path only."""
    allowed = {}
    for path in PATHS:
        response = client.request("PUT", path, headers=auth)
        assert response.status_code == 405
        assert response.json()["error"]["code"] == "method_not_allowed"
        allowed[path] = {m.strip() for m in response.headers["allow"].split(",")}
    assert allowed == PATHS
