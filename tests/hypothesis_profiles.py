"""Hypothesis profiles, chosen with ``HYPOTHESIS_PROFILE`` (loaded by conftest.py).

- ``ci`` (the default, and what .ci/run sets): derandomized and without the example
  database, so a run is the same on every machine and a failure is found again by
  rerunning it; each test's own example count.
- ``long``: random, with the example database under .hypothesis/ (a failure found
  once is tried first next time), ten times each test's example count: for hunting
  locally, ``HYPOTHESIS_PROFILE=long make test PYTEST_ARGS=tests/test_exactly_once.py``.
"""

from __future__ import annotations

import os

from hypothesis import settings

#: how many times each test's own example count a profile runs
SCALE = {"ci": 1, "long": 10}

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("long", derandomize=False)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in SCALE:
    raise SystemExit(f"HYPOTHESIS_PROFILE={PROFILE!r}: use one of {', '.join(SCALE)}")
settings.load_profile(PROFILE)


def examples(count: int) -> int:
    """A test's example count under the loaded profile."""
    return count * SCALE[PROFILE]
