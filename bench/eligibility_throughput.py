"""Women evaluated per second by the rules engine, beside the floor: one SQL aggregate that only
counts removals per woman, in the same run.

The 100k-children synthetic extract (``eligibility.synthetic.write_ssd``: ~39k mothers) is
written to a temporary folder and imported once with ``import_extract`` (~15 s). Then, taking
turns (median of 3 interleaved slices):

- engine: ``eligibility.engine.evaluate`` over the whole programme on a fixed reference date,
  everything included — the three reads, every date of birth decrypted, each code's position,
  the window, age and at-risk signals, the proposal, the one-line explanation, the evidence
  (JSON-ready) and its digest. Since ADR 51 it runs as it does for its callers: on PostgreSQL the
  women are split between this process and one it forks, each with its own connection and reads,
  and the other half's evaluations are sent back and made into the same Python objects here
  before it returns (that transfer is inside the measure). For reference, in the same turns:
  ``evaluate(..., processes=1)``, the engine in one process as it was measured before;
- floor: ``SELECT mother, COUNT(DISTINCT child)`` over the children with a counted legal status or
  episode-ceased reason (no window, no age, no signals, no evidence), fetched.

Both are reported as the programme's women per second. Also in the same turns, for reference: the
engine's first read alone (every event row fetched, nothing done with them), the part of the
engine no Python can avoid in one process. Then ``recompute`` (median of 3 turns each, after the
slices, its ratio taken against the same floor): on a new reference date, so that every evaluation
is written (by COPY on both cores, the default since ADR 51; in turn by COPY in one process, ADR
42's path; and by the ORM's ``bulk_create``, the path before ADR 42), and again on the same date,
when nothing changed and no evaluation is written (ADR 42).

The floor stays one statement, which PostgreSQL may itself run on several cores (parallel
workers): the bench prints how many workers the planner gave it, so that the comparison of a
two-process engine with it can be judged.

    PORTAL_ENV=test .venv/bin/python bench/eligibility_throughput.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres PORTAL_ENV=test .venv/bin/python bench/eligibility_throughput.py

Targets (issues 5 and 25): the engine reaches at least 0.2 of the floor's women per second, and
``recompute`` writing every evaluation at least 0.1. Exit status 0 when both are met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from _setup import interleaved_rates, test_database
from django.db import connection

TARGET_RATIO = 0.2
RECOMPUTE_TARGET = 0.1
TODAY = date(2026, 1, 15)
ORDER = ("ssd_person", "ssd_mother", "ssd_legal_status", "ssd_cla_episodes", "ssd_address")


def floor_sql(rule_set) -> tuple[str, list]:
    from eligibility.models import CareEpisode, Child, LegalStatus

    counted = {cl: [c for c, p in codes.items() if p == "counted"] for cl, codes in rule_set.positions.items()}
    ls, rec = counted["legal_status"], counted["episode_ceased"]
    child, lst, ce = Child._meta.db_table, LegalStatus._meta.db_table, CareEpisode._meta.db_table
    sql = (
        f"SELECT mother_id, COUNT(DISTINCT child_id) FROM ("  # noqa: S608 - table names and placeholders only
        f"SELECT c.mother_id, c.id AS child_id FROM {child} c JOIN {lst} l ON l.child_id = c.id "
        f"WHERE c.programme_id = %s AND l.code IN ({', '.join(['%s'] * len(ls))}) "
        f"UNION ALL SELECT c.mother_id, c.id FROM {child} c JOIN {ce} e ON e.child_id = c.id "
        f"WHERE c.programme_id = %s AND e.ceased_reason IN ({', '.join(['%s'] * len(rec))})"
        f") removals GROUP BY mother_id"
    )
    return sql, [rule_set.programme_id, *ls, rule_set.programme_id, *rec]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--profile", action="store_true", help="also print where one engine run's time goes")
    args = parser.parse_args()
    with test_database(), tempfile.TemporaryDirectory() as folder:
        from eligibility.engine import POSITION, evaluate
        from eligibility.importing import import_extract
        from eligibility.models import ExtractStatus, Woman
        from eligibility.recompute import recompute
        from eligibility.rules import current_rule_set
        from eligibility.synthetic import write_ssd
        from pause_portal.tenancy.roles import Role
        from tests import factories as f

        write_ssd(folder, children=args.children, seed=1, today=TODAY)
        programme = f.programme()
        caseworker = f.person(programme.trust, with_device=False)
        f.membership(caseworker, programme, Role.TRUST_CASEWORKER)
        handles = [(f"{t}.csv", open(Path(folder) / f"{t}.csv", "rb")) for t in ORDER]  # noqa: SIM115
        start = time.perf_counter()
        try:
            extract = import_extract(programme=programme, files=handles, by=caseworker, today=TODAY)
        finally:
            for _, handle in handles:
                handle.close()
        assert extract.status == ExtractStatus.SUCCEEDED, extract.failure or extract.problems[:3]
        imported = time.perf_counter() - start
        women = Woman.objects.filter(programme=programme).count()
        rule_set = current_rule_set(programme)
        sql, params = floor_sql(rule_set)

        def engine() -> int:
            return len(evaluate(programme, rule_set, TODAY))

        def engine_one_process() -> int:
            return len(evaluate(programme, rule_set, TODAY, processes=1))

        def floor() -> int:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()
            return women

        # the two must agree on who has a counted removal at all (the floor has no window)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            with_removal = {mother for mother, n in cursor.fetchall() if n}
        results = evaluate(programme, rule_set, TODAY)
        assert {r.woman_id for r in results if any(e[POSITION] == "counted" for e in r.events)} == with_removal
        proposals: dict[str, int] = {}
        for r in results:
            proposals[r.proposal] = proposals.get(r.proposal, 0) + 1

        if args.profile:
            _profile(engine)
        from eligibility.engine import window_start
        from eligibility.engine_sql import events_sql

        events_query = events_sql(rule_set, window_start(TODAY, rule_set.look_back_years), TODAY, programme.pk, None)

        def events_read() -> int:
            with connection.cursor() as cursor:
                cursor.execute(*events_query)
                cursor.fetchall()
            return women

        figures = interleaved_rates({"floor": floor, "engine": engine, "one": engine_one_process, "read": events_read},
                                    args.seconds, rounds=3)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(line for line, in cursor.fetchall()) if connection.vendor == "postgresql" else ""
        workers = sum(int(w) for w in re.findall(r"Workers Planned: (\d+)", plan))
        stored = _recompute_rates(recompute, programme, caseworker, women)

        base, rate = figures["floor"], figures["engine"]
        ratio = rate / base
        print(f"database: {connection.vendor}; synthetic extract of {args.children:,} children: {women:,} women "
              f"(imported once in {imported:.1f}s); reference date {TODAY}; median of 3 interleaved slices")
        print("proposals: " + ", ".join(f"{k} {v:,}" for k, v in sorted(proposals.items())))
        print(f"{'case':<58}{'women/s':>10}{'vs floor':>10}")
        print(f"{'floor: one SQL aggregate, removals per woman (counted only)':<58}{base:>10,.0f}{1.0:>10.2f}")
        print(f"{'engine: evaluate() with explanation, evidence and digest':<58}{rate:>10,.0f}{ratio:>10.2f}")
        one = figures["one"]
        print(f"{'  the same in one process (processes=1)':<58}{one:>10,.0f}{one / base:>10.2f}")
        read = figures["read"]
        print(f"{'  of which its first read alone (every event, fetched)':<58}{read:>10,.0f}{read / base:>10.2f}")
        print(f"floor's plan: {workers} parallel worker(s) planned besides its own process")
        for key, label in RECOMPUTE_CASES:
            print(f"{label:<58}{stored[key]:>10,.0f}{stored[key] / base:>10.2f}")
        written = stored["copy"] / base
        ok = ratio >= TARGET_RATIO
        print(f"target: engine >= {TARGET_RATIO:.2f} x floor -> {'met' if ok else 'NOT met'}")
        stored_ok = written >= RECOMPUTE_TARGET
        print(f"target: recompute() writing every evaluation >= {RECOMPUTE_TARGET:.2f} x floor -> "
              f"{'met' if stored_ok else 'NOT met'}")
        return 0 if ok and stored_ok else 1


RECOMPUTE_CASES = (
    ("copy", "recompute(): a new day, every evaluation written (COPY)"),
    ("copy1", "  the same in one process (processes=1, ADR 42's path)"),
    ("orm", "  the same with the ORM's bulk_create (the old path)"),
    ("unchanged", "recompute(): again, nothing changed (none written)"),
)


def _recompute_rates(recompute, programme, caseworker, women: int) -> dict[str, float]:
    """Women per second of `recompute` (median of 3 turns): on a new reference date each turn (so
    every evaluation is written), by COPY on both cores, by COPY in one process and by
    `bulk_create` in turn, and then again on the same date, when nothing changed and nothing is
    written (ADR 42)."""
    from datetime import timedelta

    samples: dict[str, list[float]] = {key: [] for key, _ in RECOMPUTE_CASES}
    day = TODAY
    for _ in range(3):
        for key in ("copy", "copy1", "orm", "unchanged"):
            if key != "unchanged":
                day += timedelta(days=1)
            start = time.perf_counter()
            result = recompute(programme, by=caseworker, reference_date=day, copy=key != "orm",
                               processes=1 if key in ("copy1", "orm") else None)
            samples[key].append(women / (time.perf_counter() - start))
            expected = 0 if key == "unchanged" else women
            assert result.run.summary["written"] == expected, (key, result.run.summary)
    return {key: statistics.median(values) for key, values in samples.items()}


def _profile(engine) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    engine()
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    sys.exit(main())
