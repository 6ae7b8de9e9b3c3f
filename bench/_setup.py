"""Shared set-up for benchmarks: Django in test mode on a throwaway test database."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pause_portal.settings")
os.environ.setdefault("PORTAL_ENV", "test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


@contextmanager
def test_database():
    setup_test_environment()
    if connection.vendor == "postgresql":
        # its own name when several benchmarks share one server (PORTAL_BENCH_DATABASE)
        connection.settings_dict.setdefault("TEST", {})["NAME"] = os.environ.get("PORTAL_BENCH_DATABASE", "bench_portal")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)  # a killed run leaves it
    try:
        yield connection
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


def interleaved_rates(cases: dict[str, Callable[[], int]], seconds: float, rounds: int = 5) -> dict[str, float]:
    """Operations per second of each case: each call returns how many operations it did; the
    cases take turns within each round (so a noisy neighbour hurts them alike); median of rounds."""
    for fn in cases.values():
        fn()  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            done, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds / rounds:
                done += fn()
            samples[name].append(done / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in samples.items()}
