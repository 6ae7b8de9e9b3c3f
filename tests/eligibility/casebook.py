"""Women, children and their events written straight to the database, for rules tests that are
about dates and codes rather than files: a short spelling of `tests.factories` for one programme's
extract. All invented."""

from __future__ import annotations

from datetime import date

from eligibility.models import CareEpisode, Child, LegalStatus, Woman
from tests import factories as f


class Casebook:
    """One programme's records, built a woman at a time."""

    def __init__(self, programme, by):
        self.programme = programme
        self.extract = f.ExtractFactory(programme=programme, uploaded_by=by)

    def woman(self, *, born: date | None = date(1990, 5, 1), due: date | None = None, died: date | None = None) -> Woman:
        return f.WomanFactory(programme=self.programme, first_extract=self.extract, forename=None, surname="Synthetic",
                              date_of_birth=born, expected_child_due=due, died_on=died)

    def child(self, mother: Woman, born: date = date(2012, 3, 4)) -> Child:
        return f.ChildFactory(mother=mother, first_extract=self.extract, date_of_birth=born)

    def legal(self, child: Child, code: str, start: date, end: date | None = None, extract=None) -> LegalStatus:
        return f.LegalStatusFactory(child=child, code=code, start_date=start, end_date=end,
                                    extract=extract or self.extract)

    def episode(self, child: Child, reason: str, ceased: date | None, extract=None) -> CareEpisode:
        return f.CareEpisodeFactory(child=child, ceased_reason=reason, ceased_date=ceased,
                                    extract=extract or self.extract)

    def removed(self, mother: Woman, *dates: date, code: str = "C2") -> list[Child]:
        """One child per date, each with a counted legal status starting that day."""
        return [self.legal(self.child(mother), code, d).child for d in dates]
