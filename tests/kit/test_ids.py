"""An id no database can hold is a 422 wherever a request carries one (paths, queries, JSON
bodies), never a database error."""

import pytest

from openwan.kit.ids import MAX_ID

TOO_BIG = 2**64
# One route of each kind per administration area, with the id in each place it can be.
REQUESTS = [
    ("GET", f"/api/v1/users/{TOO_BIG}", None),
    ("PATCH", f"/api/v1/users/{TOO_BIG}", {"display_name": "x"}),
    ("DELETE", f"/api/v1/users/{TOO_BIG}", None),
    ("GET", f"/api/v1/users?group_id={TOO_BIG}", None),
    ("POST", "/api/v1/users", {"username": "bob", "password": "Correct-Horse-Battery-9",
                               "groups": [1, TOO_BIG]}),
    ("GET", f"/api/v1/groups/{TOO_BIG}", None),
    ("PATCH", f"/api/v1/groups/{TOO_BIG}", {"description": "x"}),
    ("DELETE", f"/api/v1/groups/{TOO_BIG}", None),
    ("POST", "/api/v1/groups", {"name": "g", "categories": [TOO_BIG]}),
    ("POST", "/api/v1/groups", {"name": "g", "quota_bytes": TOO_BIG}),
    ("GET", f"/api/v1/roles/{TOO_BIG}", None),
    ("PATCH", f"/api/v1/roles/{TOO_BIG}", {"description": "x"}),
    ("DELETE", f"/api/v1/roles/{TOO_BIG}", None),
    ("GET", f"/api/v1/permissions/{TOO_BIG}", None),
    ("PATCH", f"/api/v1/permissions/{TOO_BIG}", {"description": "x"}),
    ("DELETE", f"/api/v1/permissions/{TOO_BIG}", None),
    ("GET", f"/api/v1/levels/{TOO_BIG}", None),
    ("PATCH", f"/api/v1/levels/{TOO_BIG}", {"name": "x"}),
    ("DELETE", f"/api/v1/levels/{TOO_BIG}", None),
    ("GET", f"/api/v1/categories/{TOO_BIG}", None),
    ("PATCH", f"/api/v1/categories/{TOO_BIG}", {"name": "x"}),
    ("DELETE", f"/api/v1/categories/{TOO_BIG}", None),
    ("DELETE", f"/api/v1/categories/1?move_to={TOO_BIG}", None),
    ("POST", "/api/v1/categories", {"name": "x", "parent_id": TOO_BIG}),
    ("GET", f"/api/v1/catalog-fields/{TOO_BIG}", None),
    ("PATCH", f"/api/v1/catalog-fields/{TOO_BIG}", {"name_zh": "x"}),
    ("DELETE", f"/api/v1/catalog-fields/{TOO_BIG}", None),
    ("POST", "/api/v1/catalog-fields", {"media_type": "video", "kind": "text", "name_zh": "x",
                                        "parent_id": TOO_BIG}),
    ("GET", f"/api/v1/audit?actor_id={TOO_BIG}", None),
    ("DELETE", f"/api/v1/me/tokens/{TOO_BIG}", None),
    ("POST", "/api/v1/assets/bulk", {"action": "submit", "ids": [TOO_BIG]}),
    ("POST", "/api/v1/assets/bulk", {"action": "approve", "ids": [1], "groups": [TOO_BIG]}),
    ("PATCH", "/api/v1/assets/1", {"category_id": TOO_BIG}),
    ("POST", "/api/v1/assets/1/approve", {"level": 1, "groups": [TOO_BIG]}),
]


def test_an_id_beyond_64_bits_is_a_422_everywhere(client, auth):
    wrong = []
    for method, path, body in REQUESTS:
        response = client.request(method, path, headers=auth, json=body)
        if response.status_code != 422 or response.json()["error"]["code"] != "validation_error":
            wrong.append((method, path, body, response.status_code))
    assert wrong == []


def test_the_largest_id_is_an_ordinary_not_found(client, auth):
    for path in ("users", "groups", "roles", "permissions", "categories", "catalog-fields"):
        assert client.get(f"/api/v1/{path}/{MAX_ID}", headers=auth).status_code == 404


def _integers(schema, where, found, components):
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name not in found["seen"]:
                found["seen"].add(name)
                _integers(components[name], name, found, components)
            return
        if schema.get("type") == "integer":
            found["ints"].append((where, schema.get("minimum"), schema.get("maximum")))
        for key, value in schema.items():
            _integers(value, f"{where}.{key}", found, components)
    elif isinstance(schema, list):
        for item in schema:
            _integers(item, where, found, components)


def test_every_integer_a_request_carries_is_bounded(app):
    """The OpenAPI description of every request (parameters and bodies) bounds its integers
    within 64 bits: a route added later without a bound fails here."""
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    found = {"ints": [], "seen": set()}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                _integers(parameter.get("schema"), f"{method} {path} {parameter['name']}",
                          found, components)
            _integers(operation.get("requestBody", {}), f"{method} {path} body", found,
                      components)
    unbounded = [(where, low, high) for where, low, high in found["ints"]
                 if low is None or high is None or low < -2**63 or high > MAX_ID + 1]
    assert found["ints"] and unbounded == []


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_level_id_beyond_32_bits_is_a_422_on_postgresql(client, auth):
    """Levels are a 32-bit column: PostgreSQL refused to compare one with a larger number."""
    for method in ("GET", "PATCH", "DELETE"):
        response = client.request(method, f"/api/v1/levels/{2**31}", headers=auth,
                                  json={"name": "x"} if method == "PATCH" else None)
        assert response.status_code == 422, (method, response.text)
    assert client.get(f"/api/v1/levels/{2**31 - 1}", headers=auth).status_code == 404
