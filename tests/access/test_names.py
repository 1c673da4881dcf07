"""Names are unique regardless of case, beyond ASCII too, with the same answer on every
database: the same non-ASCII name twice was a 500 on SQLite (its lower() folds ASCII only)."""

from tests.conftest import all_backends

PASSWORD = "Correct-Horse-Battery-9"


@all_backends
def test_the_same_name_again_is_a_409_on_every_backend(client, auth):
    def create(path, body):
        return client.post(f"/api/v1/{path}", headers=auth, json=body).status_code

    answers = {}
    for path, field, extra in (("roles", "name", {}), ("groups", "name", {}),
                               ("users", "username", {"password": PASSWORD}),
                               ("categories", "name", {})):
        answers[path] = [create(path, {field: name, **extra})
                         for name in ("Ärger", "Ärger", "ärger", "ÄRGER", "Straße")]
    expected = [201, 409, 409, 409, 201]
    assert answers == {path: expected for path in answers}


@all_backends
def test_a_rename_onto_another_name_is_a_409(client, auth):
    first = client.post("/api/v1/groups", headers=auth, json={"name": "Éditeurs"}).json()
    second = client.post("/api/v1/groups", headers=auth, json={"name": "Öffentlich"}).json()
    assert client.patch(f"/api/v1/groups/{second['id']}", headers=auth,
                        json={"name": "éditeurs"}).status_code == 409
    role = client.post("/api/v1/roles", headers=auth, json={"name": "Prüfer"}).json()
    client.post("/api/v1/roles", headers=auth, json={"name": "Sichter"})
    assert client.patch(f"/api/v1/roles/{role['id']}", headers=auth,
                        json={"name": "sichter"}).status_code == 409
    assert first["id"] != second["id"]


def test_a_unique_key_refusal_the_checks_missed_is_a_409(client, auth, monkeypatch):
    """A check-then-insert that loses a race (here: a check that sees nothing) meets the
    unique index: the caller gets a 409, not a 500."""
    from sqlalchemy.orm import Session

    assert client.post("/api/v1/roles", headers=auth, json={"name": "racer"}).status_code == 201
    original = Session.scalar

    def blind(self, statement, *args, **kwargs):
        text = str(statement)
        if "lower(roles.name)" in text:
            return None
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(Session, "scalar", blind)
    response = client.post("/api/v1/roles", headers=auth, json={"name": "racer"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
