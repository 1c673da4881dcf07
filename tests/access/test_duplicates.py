"""A duplicate name is a 409 that names the field, so that a form can show it there."""

from __future__ import annotations


def test_duplicates_name_their_field(client, auth):
    def post(path, body):
        return client.post(f"/api/v1/{path}", json=body, headers=auth)

    cases = [("users", {"username": "Li", "password": "Plenty-Long-Secret-42"}, "username"),
             ("groups", {"name": "Desk"}, "name"), ("roles", {"name": "Desk"}, "name"),
             ("permissions", {"name": "report.export"}, "name"),
             ("levels", {"id": 9, "name": "九"}, "id")]
    for path, body, field in cases:
        assert post(path, body).status_code == 201, path
        again = {k: (v.lower() if k in ("username", "name") and path != "permissions" else v)
                 for k, v in body.items()}
        refused = post(path, again)
        assert refused.status_code == 409, (path, refused.text)
        assert refused.json()["error"]["code"] == "conflict"
        assert refused.json()["error"]["field"] == field, path
    desk = client.get("/api/v1/groups", headers=auth).json()["items"][-1]
    other = post("groups", {"name": "Night"}).json()
    renamed = client.patch(f"/api/v1/groups/{other['id']}", json={"name": desk["name"]},
                           headers=auth)
    assert renamed.status_code == 409 and renamed.json()["error"]["field"] == "name"
