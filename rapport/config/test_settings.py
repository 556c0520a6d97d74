"""Settings for the test suite: the real settings, with tasks run in-process on commit."""

import os

os.environ["RAPPORT_TESTING"] = "1"
os.environ.setdefault("RAPPORT_DATA_DIR", "./var/test")

from rapport.config.settings import *  # noqa: F403
