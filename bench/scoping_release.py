"""The scoping release of issue 16: a real-shaped synthetic cohort (women aged 18-44, 2-5 children
removed each) released, what the check served and withheld, the levels used, and the smallest
class over everything served (measured by pycanon on the rows Pause is served), then ten removals.
Time: the release (rows made, tokens, the check over every served column, both comparable
candidates) against the baseline of the check before issue 16 (the four old columns, one call of
`k_anonymise` on the same fine values), same run.

    PORTAL_ENV=test .venv/bin/python bench/scoping_release.py [--women 230] [--seed 16]
"""

from __future__ import annotations

import argparse
import random
import time

from _setup import test_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--women", type=int, default=230)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    with test_database():
        import pandas as pd
        from pycanon import anonymity

        from pause_portal.tenancy.roles import Role
        from pseudonymisation.kanonymity import k_anonymise
        from sharing.models_scoping import ScopingWomanRow
        from sharing.scoping_release import (
            FINE_COLUMN,
            HIERARCHIES,
            K,
            release_for_scoping,
            remove_from_scoping,
            served_columns,
        )
        from tests import factories as f
        from tests.sharing.scoping_cohort import real_shaped_women
        from tests.sharing.test_scoping_world import Cohort, agreement, member

        programme = f.programme(phase="scoping")
        lead = member(programme, Role.TRUST_LEAD)
        agreement(programme, proposed_by=lead, decided_by=member(programme, Role.CALDICOTT_GUARDIAN))
        rng = random.Random(args.seed)
        women = real_shaped_women(Cohort(programme, lead), args.women, rng)
        start = time.perf_counter()
        release = release_for_scoping(programme, women, by=lead)
        took = time.perf_counter() - start
        rows = list(ScopingWomanRow.objects.filter(programme=programme))
        old = ("age_band", "ethnic_group", "children_removed", "removal_years")
        fine = [{c: getattr(r, FINE_COLUMN[c]) for c in old} for r in rows]
        start = time.perf_counter()
        k_anonymise(fine, {c: HIERARCHIES[c] for c in old}, k=K)
        baseline = time.perf_counter() - start

        def measured(label: str, report: dict) -> None:
            served = [r for r in ScopingWomanRow.objects.filter(programme=programme) if not r.withheld]
            frame = pd.DataFrame([{c: getattr(r, c) for c in served_columns()} for r in served])
            k = anonymity.k_anonymity(frame, list(served_columns())) if served else None
            print(f"{label}: {report['rows']} rows, {report['served']} served, {report['withheld']} withheld "
                  f"({report.get('withheld_why') or 'none'})")
            for c in served_columns():
                print(f"    {c:22} {report['level_names'][c]}")
            print(f"    smallest class over every served column: {report.get('smallest_class')} "
                  f"(pycanon k = {k}); {report.get('classes')} combinations served")

        measured(f"release of {args.women} women", release.report)
        for woman in rng.sample(women, 10):
            report = remove_from_scoping(woman, "objection")
        measured("after ten removals", report)
        print(f"time: release {took:.2f} s (rows, tokens, check over {len(served_columns())} columns); "
              f"baseline: the old four-column check alone {baseline:.3f} s; ratio {took / baseline:.1f}x")


if __name__ == "__main__":
    main()
