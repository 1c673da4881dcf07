"""A NUL character in any text a request carries (URL, JSON, form fields, upload metadata) is
a 422 that says so, on every database (PostgreSQL refuses to store it: that was a 500)."""

import base64

from openwan.middleware.security import NulScanner
from tests.conftest import ADMIN_PASSWORD, all_backends
from tests.media import jpeg_bytes


def _is_nul_refusal(response) -> bool:
    return (response.status_code == 422
            and response.json()["error"]["code"] == "validation_error"
            and "NUL" in response.json()["error"]["message"])


@all_backends
def test_a_nul_anywhere_is_a_422(client, auth):
    tus = {"Tus-Resumable": "1.0.0", "Upload-Length": "10"}
    name = base64.b64encode(b"a\x00b.jpg").decode()
    requests = [
        ("POST", "/api/v1/auth/login", {"json": {"username": "ad\x00min", "password": "x"}}),
        ("POST", "/login", {"data": {"username": "ad\x00min", "password": "x"}}),
        ("GET", "/api/v1/users?q=a%00b", {}),
        ("GET", "/api/v1/audit?actor=a%00b", {}),
        ("GET", "/api/v1/audit?target_id=%00", {}),
        ("GET", "/api/v1/search?q=a%00b", {}),
        ("GET", "/api/v1/uploads/%00", {}),
        ("POST", "/api/v1/categories", {"json": {"name": "x\x00"}}),
        ("POST", "/api/v1/groups", {"json": {"name": "g", "description": "\x00"}}),
        ("POST", "/api/v1/users", {"json": {"username": "bob", "display_name": "b\x00b",
                                            "password": "Correct-Horse-Battery-9"}}),
        ("POST", "/api/v1/assets", {"files": {"file": ("a.jpg", jpeg_bytes())},
                                    "data": {"title": "t\x00"}}),
        ("POST", "/api/v1/uploads", {"headers": {**tus, "Upload-Metadata": f"filename {name}"}}),
    ]
    answers = []
    for method, path, kw in requests:
        headers = {**auth, **kw.pop("headers", {})}
        response = client.request(method, path, headers=headers, **kw)
        answers.append((method, path, response.status_code, _is_nul_refusal(response)))
    assert [a for a in answers if not a[3]] == []
    named = client.get("/api/v1/audit?action=x&actor=a%00b", headers=auth).json()["error"]
    assert named["field"] == "actor" and "query parameter 'actor'" in named["message"]
    # The same requests without the NUL still work.
    assert client.get("/api/v1/users?q=ab", headers=auth).status_code == 200
    signed = client.post("/api/v1/auth/login", json={"username": "admin",
                                                     "password": ADMIN_PASSWORD})
    assert signed.status_code == 200


def test_the_scanner_reads_json_escapes_and_pieces():
    def scan(content_type, *pieces):
        scanner = NulScanner(content_type)
        return any(scanner.found(piece) for piece in pieces)

    json = b"application/json"
    assert scan(json, b'{"a": "x\\u0000"}')
    assert scan(json, b'{"a": "x\\\\\\u0000"}')  # an escaped backslash, then a NUL
    assert not scan(json, b'{"a": "x\\\\u0000"}')  # an escaped backslash, then "u0000"
    assert scan(json, b'{"a": "x\\u0', b'000"}')  # split across pieces
    assert not scan(json, b'{"a": "100%00"}')
    form = b"application/x-www-form-urlencoded"
    assert scan(form, b"username=a%0", b"0b")
    assert not scan(form, b"username=100%2500")
    assert scan(b"text/plain", b"a\x00b")
