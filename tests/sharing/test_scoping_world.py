"""Helpers for the scoping tests (no tests here): a confirmed agreement, and synthetic women with
children removed, decided by a Trust lead. All data is invented."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

from django.utils import timezone

from eligibility.decisions import decide
from eligibility.models import Woman
from sharing.models_scoping import Agreement
from tests import factories as f
from tests.eligibility.casebook import Casebook
from tests.factories import member  # noqa: F401 - the name the scoping tests import

_seq = itertools.count(1)
ETHNICITIES = ["WBRI", "WBRI", "WBRI", "WIRI", "MWBC", "BCRB", "APKN", "REFU"]


def agreement(programme, *, proposed_by, decided_by, **overrides) -> Agreement:
    return f.AgreementFactory(programme=programme, proposed_by=proposed_by, decided_by=decided_by, **overrides)


class Cohort:
    """Women of one programme, written straight to the database, each with identifiers that the
    tests can look for in pages (names, NHS numbers, Trust ids, dates of birth, postcodes)."""

    def __init__(self, programme, lead):
        self.programme, self.lead = programme, lead
        self.book = Casebook(programme, lead)
        self.identifiers: list[str] = []

    def woman(self, *, born: date, ethnicity: str, removals: list[date], outcome: str = "eligible",
              codes: list[str] | None = None) -> Woman:
        n = next(_seq)
        ids = {"trust_person_id": f"TPID{n:05d}Q", "forename": f"Zelphine{n}", "surname": f"Quorrington{n}",
               "date_of_birth": born, "nhs_number": f"94{n:08d}", "postcode": f"B{n % 90 + 10} {n % 9}XQ"}
        w = f.WomanFactory(programme=self.programme, first_extract=self.book.extract, ethnicity=ethnicity, **ids)
        self.identifiers += [ids["trust_person_id"], ids["forename"], ids["surname"], ids["nhs_number"],
                             ids["postcode"], born.isoformat(), f"{born.day} {born:%B %Y}", born.strftime("%d/%m/%Y")]
        for i, when in enumerate(removals):
            child = self.book.child(w, born=when - timedelta(days=300))
            code = (codes or ["C2"])[i % len(codes or ["C2"])]
            if code not in ("C1", "C2", "E1", "D1"):
                self.book.episode(child, code, when)
            else:
                self.book.legal(child, code, when)
        decide(woman=w, by=self.lead, outcome=outcome, reason="Synthetic reason")
        return w

    def random_women(self, count: int, rng: random.Random, *, today: date | None = None) -> list[Woman]:
        today = today or timezone.localdate()
        out = []
        for _ in range(count):
            born = date(rng.randint(1980, 2000), rng.randint(1, 12), rng.randint(1, 28))
            k = rng.choice([2, 2, 2, 3, 3, 4, 5])
            removals = sorted(today - timedelta(days=rng.randint(30, 9 * 365)) for _ in range(k))
            removals = [d for d in removals if d > born + timedelta(days=17 * 366)] or [today - timedelta(days=60)] * 2
            codes = [rng.choice(["C2", "C1", "E1", "E11", "E45", "E41"]) for _ in removals]
            out.append(self.woman(born=born, ethnicity=rng.choice(ETHNICITIES), removals=removals, codes=codes))
        return out
