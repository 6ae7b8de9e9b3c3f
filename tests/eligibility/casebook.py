"""Women, children and their events written straight to the database, for rules tests that are
about dates and codes rather than files. All invented."""

from __future__ import annotations

import itertools
from datetime import date

from django.utils import timezone

from eligibility.models import CareEpisode, Child, Extract, ExtractStatus, LegalStatus, Woman
from pseudonymisation.fields import Protector

_seq = itertools.count(1)


def extract(programme, by) -> Extract:
    n = next(_seq)
    return Extract.objects.create(
        programme=programme, uploaded_by=by, sha256=f"{n:064x}", size_bytes=1, status=ExtractStatus.SUCCEEDED,
        finished_at=timezone.now(),
    )


class Casebook:
    """One programme's records, built a woman at a time."""

    def __init__(self, programme, by):
        self.programme = programme
        self.extract = extract(programme, by)
        self.protector = Protector.load(programme.pk, Woman.key_phase)

    def woman(self, *, born: date | None = date(1990, 5, 1), due: date | None = None, died: date | None = None) -> Woman:
        n = next(_seq)
        w = Woman(programme=self.programme, first_extract=self.extract, last_extract=self.extract,
                  expected_child_due=due, died_on=died)
        w.protect(self.protector, trust_person_id=f"W{n}", surname="Synthetic", date_of_birth=born)
        w.save()
        return w

    def child(self, mother: Woman, born: date = date(2012, 3, 4)) -> Child:
        n = next(_seq)
        c = Child(programme=self.programme, mother=mother, first_extract=self.extract, last_extract=self.extract,
                  birth_year=born.year)
        c.protect(self.protector, trust_person_id=f"C{n}", date_of_birth=born)
        c.save()
        return c

    def legal(self, child: Child, code: str, start: date, end: date | None = None, extract=None) -> LegalStatus:
        return LegalStatus.objects.create(child=child, source_row_id=f"L{next(_seq)}", code=code, start_date=start,
                                          end_date=end, extract=extract or self.extract)

    def episode(self, child: Child, reason: str, ceased: date | None, extract=None) -> CareEpisode:
        return CareEpisode.objects.create(child=child, source_row_id=f"E{next(_seq)}", start_date=date(2010, 1, 1),
                                          ceased_date=ceased, ceased_reason=reason, extract=extract or self.extract)

    def removed(self, mother: Woman, *dates: date, code: str = "C2") -> list[Child]:
        """One child per date, each with a counted legal status starting that day."""
        children = []
        for d in dates:
            c = self.child(mother)
            self.legal(c, code, d)
            children.append(c)
        return children
