"""Settings for the test suite: the real settings, with tasks run in-process on commit."""

import os

os.environ["RAPPORT_TESTING"] = "1"
os.environ.setdefault("RAPPORT_DATA_DIR", "./var/test")

from rapport.config.settings import *  # noqa: F403

# Argon2 is deliberately slow; the suite creates thousands of users. Production keeps Argon2 first
# (asserted by rapport/accounts/tests/test_password_hashing.py).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405

# `rapport demo` in tests makes 2% of the demo (200 contacts, 20 companies).
DEMO_SCALE = 0.02

# On SQLite the test database lives in memory with a shared cache, where a connection that writes
# locks its tables and a reader in another thread (the browser tests' live server answers each
# request in its own thread) fails at once with "database table is locked" instead of waiting.
# Readers that do not take table locks see the same data a WAL file database would give them.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _options = DATABASES["default"]["OPTIONS"]  # noqa: F405
    _options["init_command"] = _options["init_command"] + " PRAGMA read_uncommitted=1;"
