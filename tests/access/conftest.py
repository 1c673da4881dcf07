from tests.login_fixtures import _fresh_login_counters, _quick_argon2  # noqa: F401
