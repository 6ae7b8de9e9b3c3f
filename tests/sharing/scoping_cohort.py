"""A real-shaped synthetic scoping cohort (no tests here): women aged 18-44 on the release date,
each with 2-5 children removed after her 16th birthday, ethnic groups in a skewed mix like a
small English authority's, outcomes mostly care and placement orders with rarer adoptions, special
guardianship and child arrangements orders. All data is invented (the issue 16 release of 230)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.utils import timezone

from tests.sharing.test_scoping_world import Cohort

ETHNIC_MIX = ["WBRI"] * 14 + ["WIRI", "WOTH", "MWBC", "MWBA", "MOTH", "BCRB", "BAFR", "APKN", "AIND", "OOTH",
                              "REFU"]
OUTCOME_MIX = ["C2"] * 6 + ["E1"] * 3 + ["E11"] * 3 + ["E45", "E41", "C1"]


def real_shaped_women(cohort: Cohort, count: int, rng: random.Random) -> list:
    today = timezone.localdate()
    made = []
    for _ in range(count):
        age = rng.randint(18, 44)
        born = date(today.year - age - 1, rng.randint(1, 12), rng.randint(1, 28))
        if (today - born).days // 365 > 44 or born + timedelta(days=18 * 366) > today:
            born = date(today.year - age, 1, 1) if age < 44 else date(today.year - 44, today.month, 1)
        earliest = born + timedelta(days=16 * 366)
        span = max((today - earliest).days - 30, 60)
        children = rng.randint(2, 5)
        removals = sorted(earliest + timedelta(days=rng.randint(0, span)) for _ in range(children))
        codes = [rng.choice(OUTCOME_MIX) for _ in removals]
        made.append(cohort.woman(born=born, ethnicity=rng.choice(ETHNIC_MIX), removals=removals, codes=codes))
    return made
