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
