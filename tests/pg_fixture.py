"""A PostgreSQL server for the tests, and a fresh database on it per test.

The server is UNDERTOW_TEST_POSTGRES_URL when set (CI starts one with `.ci/postgres start`), or
a throwaway cluster this session starts itself when PostgreSQL is installed here. With neither,
the tests that need it skip and say why; UNDERTOW_REQUIRE_POSTGRES=1 (CI) makes that a failure.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

START_SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "postgres"


def unavailable(reason: str):
    if os.environ.get("UNDERTOW_REQUIRE_POSTGRES"):
        pytest.fail(f"{reason} (UNDERTOW_REQUIRE_POSTGRES is set)")
    pytest.skip(reason)


@contextmanager
def server() -> Iterator[str]:
    """A superuser URL of a running server, for the length of the test session."""
    try:
        import psycopg  # noqa: F401  (the `postgres` extra)
    except ImportError:
        unavailable("no PostgreSQL driver: pip install -e '.[postgres]'")
    if url := os.environ.get("UNDERTOW_TEST_POSTGRES_URL"):
        yield url
        return
    started = subprocess.run([str(START_SCRIPT), "start"], capture_output=True, text=True, timeout=180, check=False)
    if started.returncode != 0:
        said = (started.stderr.strip().splitlines() or ["nothing"])[-1]
        unavailable(f"no PostgreSQL: set UNDERTOW_TEST_POSTGRES_URL or install postgresql ({START_SCRIPT.name} start: {said})")
    exported = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield exported["UNDERTOW_TEST_POSTGRES_URL"]
    finally:
        subprocess.run([str(START_SCRIPT), "stop", exported["UNDERTOW_TEST_POSTGRES_DIR"]], capture_output=True, timeout=60, check=False)
