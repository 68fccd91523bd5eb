"""How many cores this process may use: a container's or `taskset`'s limit, not the machine's.

BLAS threads beyond that limit do not share a core politely, they spin waiting for each other:
two embedding threads pinned to one core ran nine times slower than one (12 against 103
documents/s), so every thread budget starts from this number.
"""

from __future__ import annotations

import os


def usable_cpus() -> list[int]:
    """The CPU numbers this process may run on, in order."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))


def available_cores() -> int:
    return len(usable_cpus())
