"""A bounded schemathesis run over the OpenAPI description, as an administrator and as a user
with the fewest rights: no request the description allows (and none it refuses) is a 5xx.

Deterministic (derandomized Hypothesis, no example database) and bounded: a few examples per
operation, of data the description allows and of data it refuses. Left out, because random
data cannot drive them meaningfully: the tus ``PATCH`` (a byte stream at the offset the server
gave, checked against ``Upload-Offset``) and the multipart upload (a file part: random bytes
are refused at once as no known type; tests/assets covers what it refuses).
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from tests.conftest import ADMIN_PASSWORD

schemathesis = pytest.importorskip("schemathesis")
GenerationMode = schemathesis.GenerationMode

SKIPPED = {("PATCH", "/api/v1/uploads/{upload_id}"), ("POST", "/api/v1/assets")}
EXAMPLES = {"admin": 6, "viewer": 3}


@pytest.fixture
def world(make_settings, tmp_path, monkeypatch):
    from argon2 import PasswordHasher

    from openwan import migrate
    from openwan.access import passwords, service
    from openwan.app import create_app
    from openwan.config import set_settings
    from openwan.db import dispose_engines, unit_of_work

    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", quick)
    monkeypatch.setattr(passwords, "_DUMMY", quick.hash("openwan-timing-equaliser"))
    config = make_settings(OPENWAN_DATABASE_URL=f"sqlite:///{tmp_path / 'fuzz.db'}",
                           OPENWAN_RATE_LIMIT="0")
    migrate.upgrade(config.database_url)
    set_settings(config)
    with unit_of_work(config) as session:
        users = {"admin": service.create_user(session, "admin", ADMIN_PASSWORD, is_admin=True,
                                              level=5).id,
                 "viewer": service.create_user(session, "viewer", ADMIN_PASSWORD, level=1).id}
    yield config, create_app(config), users
    set_settings(None)
    dispose_engines()


def _token(config, user_id: int) -> str:
    """A fresh login session: an earlier operation may have signed the account out."""
    from openwan.access import sessions
    from openwan.db import unit_of_work
    from openwan.models import User

    with unit_of_work(config) as session:
        user = session.get(User, user_id)
        user.enabled, user.locked = True, False  # an administrator's fuzzing may change them
        return sessions.start(session, config, user, ip=None, user_agent="fuzz").access_token


def _fuzz(operation, mode, who: str, headers: dict[str, str], seen: list[int]):
    """The bounded Hypothesis test of one operation for one caller: each request's label
    status goes to ``seen``; a failed check raises (collected by the caller)."""
    from schemathesis.checks import not_a_server_error

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES[who], derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(headers=headers)
        seen.append(response.status_code)
        if response.status_code >= 500:
            print(f"{who}: {response.status_code} {case.as_curl_command()}\n"
                  f"{response.text[:300]}")
        case.validate_response(response, checks=[not_a_server_error])

    return run


def test_no_request_is_a_server_error(world):
    config, app, users = world
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    failures: list[str] = []
    seen: list[int] = []
    start = time.monotonic()
    # The least rights first: the administrator's run may disable or delete accounts.
    for who in ("viewer", "admin"):
        for operation in operations:
            if (operation.method.upper(), operation.path) in SKIPPED:
                continue
            # Data the description allows, then data it refuses (each check must hold).
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                headers = {"Authorization": f"Bearer {_token(config, users[who])}"}
                try:
                    _fuzz(operation, mode, who, headers, seen)()
                except Unsatisfiable:
                    pass  # nothing to refuse: an operation without parameters or body
                except (Exception, BaseExceptionGroup) as exc:  # a failed check
                    failures.append(f"{who}: {operation.label} ({mode.value}): {exc}"[:2000])
    elapsed = time.monotonic() - start
    print(f"schemathesis: {len(seen)} requests over {len(operations)} operations in "
          f"{elapsed:.1f} s, {len(failures)} failing operations, answers "
          f"{dict(sorted(Counter(seen).items()))}")
    assert failures == []
